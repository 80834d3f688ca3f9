// Finds every element on the search path and loads it: the `ElementIndex` that
// the graph resolves names against. Earlier search-path entries win; what they
// hide is kept in `overrides` and reported as a warning. An element that
// fails to load is kept aside in `broken`, an error only for builds that need
// it. A file standing where an element directory was expected is noted too,
// so that a build naming it is told it is a file, not that nothing is there.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Failure, type Result } from '../failure.js';
import type { Element, ElementWarning } from './element.js';
import { loadElement, printableName } from './load-element.js';
import { mapLimit } from '../util/map-limit.js';

/** Elements loaded at once: each may run a shell; more would not be faster on a few cores. */
const LOAD_AT_ONCE = 8;

export interface ElementIndex {
  searchPath: string[];
  elements: Map<string, Element>;
  /** Elements that failed to load: an error only when a build needs them. */
  broken: Map<string, Failure>;
  warnings: ElementWarning[];
  /** Files on the search path where no element directory of that name is: a build naming one is told it is a file. */
  files: Map<string, string>;
}

export async function indexElements(searchPath: string[]): Promise<Result<ElementIndex>> {
  const elements = new Map<string, Element>();
  const broken = new Map<string, Failure>();
  const warnings: ElementWarning[] = [];
  const hidden = new Map<string, string[]>();

  const winners: { name: string; dir: string; origin: string }[] = [];
  const taken = new Set<string>();
  const files = new Map<string, string>();
  for (const entry of searchPath) {
    let names: string[];
    try {
      const dirents = await readdir(entry, { withFileTypes: true });
      names = dirents.filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name).sort();
      for (const d of dirents) if (!d.isDirectory() && !d.isSymbolicLink() && !files.has(d.name)) files.set(d.name, path.join(entry, d.name));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        warnings.push({ element: '-', file: entry, message: 'element search path entry is not a directory; ignored' });
        continue;
      }
      return fail({ reason: 'io', what: `element search path entry ${entry}`, message: (e as Error).message });
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      if (printableName(name) !== name) {
        // A mangled name (not UTF-8) cannot be opened by it, nor named on a command line.
        warnings.push({ element: '-', file: path.join(entry, printableName(name)), message: 'ignored: an element name must be plain text (valid UTF-8, no control characters)' });
        continue;
      }
      const dir = path.join(entry, name);
      if (taken.has(name)) {
        hidden.set(name, [...(hidden.get(name) ?? []), dir]);
        continue;
      }
      taken.add(name);
      winners.push({ name, dir, origin: entry });
    }
  }
  for (const name of taken) files.delete(name);
  // Loading is I/O bound (a dozen stats and reads an element), but it starts
  // a `bash -n` per environment.d file: a few elements at a time, not DIB's
  // hundred and more at once.
  const loaded = await mapLimit(winners, LOAD_AT_ONCE, (w) => loadElement(w.name, w.dir, w.origin));
  winners.forEach((w, i) => {
    const r = loaded[i]!;
    if (r.ok) elements.set(w.name, r.value);
    else broken.set(w.name, r.error);
  });
  for (const [name, dirs] of hidden) {
    const element = elements.get(name);
    if (!element) continue;
    element.overrides = dirs;
    warnings.push({ element: name, file: element.dir, message: `overrides ${dirs.join(', ')} (earlier search-path entries win)` });
  }
  for (const element of elements.values()) warnings.push(...element.warnings);
  return ok({ searchPath, elements, broken, warnings, files });
}
