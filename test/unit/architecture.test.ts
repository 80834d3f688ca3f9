// Rules about how the modules of src/ may depend on each other, checked on the
// source text: only the process runner imports the process library, nothing
// below cli/ imports cli/, and the top-level folders form no import cycle.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { orderGraph } from '../../src/graph/order.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

interface Module {
  /** Path relative to src/, with forward slashes: `cache/remote/credentials.ts`. */
  file: string;
  /** What it imports: package names as written, src files relative to src/. */
  imports: string[];
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Static imports, re-exports and dynamic import() of one file, type-only ones included. */
function importSpecifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

async function loadModules(): Promise<Module[]> {
  const modules: Module[] = [];
  for (const full of await sourceFiles(SRC)) {
    const text = await readFile(full, 'utf8');
    const imports = importSpecifiers(text).map((spec) =>
      spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(full), spec)).split(path.sep).join('/').replace(/\.js$/, '.ts') : spec,
    );
    modules.push({ file: path.relative(SRC, full).split(path.sep).join('/'), imports });
  }
  return modules.sort((a, b) => (a.file < b.file ? -1 : 1));
}

/** The top-level folder of a src-relative path, or null for a root module such as failure.ts. */
function topFolder(file: string): string | null {
  const slash = file.indexOf('/');
  return slash < 0 ? null : file.slice(0, slash);
}

/** One cycle (as a closed path `a -> b -> a`) per strongly connected component of more than one folder. */
function folderCycles(edges: Map<string, Set<string>>): string[][] {
  const deps = new Map<string, string[]>();
  for (const [from, tos] of edges) {
    deps.set(from, [...tos]);
    for (const to of tos) if (!deps.has(to)) deps.set(to, []);
  }
  return orderGraph(deps)
    .cycles.filter((members) => members.length > 1)
    .map((members) => cycleWithin(members, edges));
}

/** A shortest closed path through the first member, staying inside the component. */
function cycleWithin(members: string[], edges: Map<string, Set<string>>): string[] {
  const inside = new Set(members);
  const start = members[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(edges.get(v) ?? [])].sort()) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const cycle = [v];
        while (cycle[0] !== start) cycle.unshift(parent.get(cycle[0]!)!);
        return [...cycle, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return members;
}

describe('architecture of src/', () => {
  it('runs programs only through src/process/run.ts (the only importer of execa)', async () => {
    const offenders = (await loadModules()).filter((m) => m.file !== 'process/run.ts' && m.imports.some((i) => i === 'execa' || i.startsWith('execa/')));
    expect(offenders.map((m) => m.file), 'modules importing execa directly').toEqual([]);
  });

  it('has nothing outside src/cli/ importing from src/cli/', async () => {
    const offenders = (await loadModules())
      .filter((m) => topFolder(m.file) !== 'cli')
      .flatMap((m) => m.imports.filter((i) => i.startsWith('cli/')).map((i) => `${m.file} -> ${i}`));
    expect(offenders, 'imports of cli/ from below it').toEqual([]);
  });

  it('has no import cycle between the top-level folders', async () => {
    const edges = new Map<string, Set<string>>();
    const because = new Map<string, string>();
    for (const m of await loadModules()) {
      const from = topFolder(m.file);
      if (from === null) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      for (const target of m.imports) {
        if (!target.endsWith('.ts')) continue; // a package
        const to = topFolder(target);
        if (to === null || to === from) continue;
        edges.get(from)!.add(to);
        if (!because.has(`${from}->${to}`)) because.set(`${from}->${to}`, `${m.file} -> ${target}`);
      }
    }
    const cycles = folderCycles(edges).map((cycle) =>
      [cycle.join(' -> '), ...cycle.slice(1).map((to, i) => `  ${because.get(`${cycle[i]}->${to}`)}`)].join('\n'),
    );
    expect(cycles, 'folder cycles, each with one import per edge').toEqual([]);
  });

  it('finds a cycle and names its edges (self-check of the checker)', () => {
    const edges = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a', 'd'])],
      ['d', new Set<string>()],
    ]);
    expect(folderCycles(edges)).toEqual([['a', 'b', 'c', 'a']]);
    expect(importSpecifiers("import { x } from './x.js';\nimport type { Y } from \"../y.js\";\nexport * from './z.js';\nawait import('./w.js');")).toEqual([
      './x.js',
      '../y.js',
      './z.js',
      './w.js',
    ]);
  });
});
