// What most commands start from: the element index on the search path and
// the chosen distribution. Element warnings are reported once, by the
// command: all of them (`elements`), or those of the elements a build or a
// graph uses (a search path such as diskimage-builder's own holds many
// elements the image never touches).
import { loadDistro, DEFAULT_DISTRO } from '../distro/load-distro.js';
import type { Distro } from '../distro/distro.js';
import { indexElements, type ElementIndex } from '../elements/element-index.js';
import { elementSearchPath } from '../elements/search-path.js';
import { unwrap } from '../failure.js';
import { resolveImage, type ImageGraph } from '../graph/resolve.js';
import type { Output } from './output.js';

export interface CommonArgs {
  elementsPath?: string;
  distro?: string;
  debug?: boolean;
  json?: boolean;
}

export interface Context {
  index: ElementIndex;
  distro: Distro;
  /** Prints the index's warnings: those of the search path and of `elements` (every element when not given). */
  warn(elements?: Iterable<string>): void;
}

export async function loadContext(args: CommonArgs, out: Output): Promise<Context> {
  const index = unwrap(await indexElements(elementSearchPath(args.elementsPath)));
  const distro = unwrap(await loadDistro(args.distro ?? process.env.IMGFACTORY_DISTRO ?? DEFAULT_DISTRO));
  const warn = (elements?: Iterable<string>): void => {
    const only = elements ? new Set(elements) : null;
    for (const w of index.warnings) {
      if (only && w.element !== '-' && !only.has(w.element)) continue;
      out.warn(`${w.element === '-' ? '' : `${w.element}: `}${w.file}: ${w.message}`);
    }
  };
  return { index, distro, warn };
}

/** Resolves an image and reports what concerns it: its elements' warnings, and what an element took over from the distro. */
export function resolveForCommand(ctx: Context, names: string[], distro: Distro, out: Output, { skipBase = false } = {}): ImageGraph {
  const resolved = resolveImage(names, { index: ctx.index, distro, skipBase });
  ctx.warn(resolved.ok ? resolved.value.elements.map((e) => e.name) : undefined);
  const graph = unwrap(resolved);
  for (const note of graph.notes) out.info(`note: ${note}`);
  return graph;
}
