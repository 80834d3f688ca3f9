// Expands an image's element graph, as diskimage-builder does: breadth-first
// from the requested names plus `base`, following element-deps, registering
// element-provides (the distro provides `operating-system`), then orders the
// elements dependencies-first with ties broken by name. Every failure is a
// value with a reason; cycles are accepted and reported.
import type { Distro } from '../distro/distro.js';
import type { Element } from '../elements/element.js';
import type { ElementIndex } from '../elements/element-index.js';
import { fail, ok, type Result } from '../failure.js';
import { nearMisses } from './near-miss.js';
import { orderGraph } from './order.js';

export interface ImageGraph {
  /** What was asked for (plus `base`), in the order given. */
  requested: string[];
  /** The elements to build, dependencies first. */
  elements: Element[];
  /** element -> the element names (or `distro:<name>`) its deps resolved to. */
  edges: Map<string, string[]>;
  /** virtual name -> the element (or `distro:<name>`) that provides it. */
  providedBy: Map<string, string>;
  /** Dependency cycles, each in name order. */
  cycles: string[][];
  distro: Distro | null;
}

export interface ResolveOptions {
  index: ElementIndex;
  /** The chosen distribution; it provides `operating-system`. */
  distro: Distro | null;
}

export const distroNode = (d: Distro): string => `distro:${d.name}`;

export function resolveImage(names: string[], options: ResolveOptions): Result<ImageGraph> {
  const { index, distro } = options;
  const requested = names.includes('base') ? [...names] : [...names, 'base'];
  const providedBy = new Map<string, string>();
  if (distro) for (const p of distro.provides) providedBy.set(p, distroNode(distro));

  const included = new Map<string, Element>();
  const requiredBy = new Map<string, string>();
  const unresolved: string[] = [];
  const queue = [...requested];

  while (queue.length > 0) {
    const name = queue.shift()!;
    if (included.has(name) || providedBy.has(name)) continue;
    const element = index.elements.get(name);
    if (!element) {
      const broken = index.broken.get(name);
      if (broken) return fail(broken);
      const file = index.files.get(name);
      if (file) return fail({ reason: 'malformed-element', at: { element: name, file }, message: 'is a file, not an element directory' });
      if (!unresolved.includes(name)) unresolved.push(name);
      continue;
    }
    for (const { name: p } of element.provides) {
      const other = providedBy.get(p);
      if (other) return fail({ reason: 'duplicate-provides', name: p, providers: [other, name] });
      if (included.has(p) || requested.includes(p)) return fail({ reason: 'requested-is-provided', name: p, provider: name });
      providedBy.set(p, name);
    }
    included.set(name, element);
    for (const dep of element.deps) {
      if (!requiredBy.has(dep.name)) requiredBy.set(dep.name, name);
      queue.push(dep.name);
    }
  }

  for (const name of unresolved) {
    if (providedBy.has(name)) continue;
    const by = requiredBy.get(name);
    return fail({
      reason: 'element-not-found',
      name,
      ...(by ? { requiredBy: by } : {}),
      searchPath: index.searchPath,
      nearMisses: nearMisses(name, index.elements.keys()),
    });
  }
  if (!providedBy.has('operating-system')) return fail({ reason: 'no-operating-system' });

  const edges = new Map<string, string[]>();
  const deps = new Map<string, string[]>();
  for (const [name, element] of included) {
    const targets = [...new Set(element.deps.map((d) => (included.has(d.name) ? d.name : providedBy.get(d.name)!)))];
    edges.set(name, targets);
    deps.set(name, targets.filter((t) => included.has(t)));
  }
  const { order, cycles } = orderGraph(deps);
  return ok({
    requested,
    elements: order.map((n) => included.get(n)!),
    edges,
    providedBy,
    cycles,
    distro,
  });
}
