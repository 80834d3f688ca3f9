// Expands an image's element graph, as diskimage-builder does: breadth-first
// from the requested names plus `base`, following element-deps, registering
// element-provides (the distro provides `operating-system`), then orders the
// elements dependencies-first with ties broken by name. Every failure is a
// value with a reason; cycles are accepted and reported.
//
// The distro's provides are the defaults a real element may take over, each
// time with a note, never silently: an element providing `operating-system`
// (diskimage-builder's debian-minimal) makes the tree instead of the distro's
// bootstrap, and an element on the search path named like one of the
// distro's virtual names (DIB's `debian`) is that element.
import type { Distro } from '../distro/distro.js';
import type { Element } from '../elements/element.js';
import type { ElementIndex } from '../elements/element-index.js';
import { volatileUnion } from '../elements/volatile-paths.js';
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
  /** What an element took over from the distro, for a person to read. */
  notes: string[];
  /** Every volatile path of every element on the search path, sorted (cache/keys.ts volatileFree). */
  volatileScope: string[];
}

export interface ResolveOptions {
  index: ElementIndex;
  /** The chosen distribution; it provides `operating-system`. */
  distro: Distro | null;
  /** Leave out `base` unless asked for (disk-image-create's -n; DIB's run_functests.sh builds so). */
  skipBase?: boolean;
}

export const distroNode = (d: Distro): string => `distro:${d.name}`;

export function resolveImage(names: string[], options: ResolveOptions): Result<ImageGraph> {
  const { index, distro } = options;
  const requested = names.includes('base') || options.skipBase ? [...names] : [...names, 'base'];
  const providedBy = new Map<string, string>();
  const fromDistro = (name: string): boolean => distro !== null && providedBy.get(name) === distroNode(distro);
  const notes: string[] = [];
  if (distro) for (const p of distro.provides) providedBy.set(p, distroNode(distro));

  const included = new Map<string, Element>();
  const requiredBy = new Map<string, string>();
  const unresolved: string[] = [];
  const queue = [...requested];

  const expand = (): Result<void> => {
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (included.has(name)) continue;
      if (providedBy.has(name) && !(fromDistro(name) && index.elements.has(name))) continue;
      const element = index.elements.get(name);
      if (element && fromDistro(name)) notes.push(`${name}: the element ${element.dir} is used, not the distro's virtual name "${name}"`);
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
        if (p === OPERATING_SYSTEM && other !== undefined && fromDistro(p)) {
          notes.push(`operating-system: provided by the element ${name}, whose hooks make the tree (not the ${distro!.name} bootstrap)`);
        } else if (other) return fail({ reason: 'duplicate-provides', name: p, providers: [other, name] });
        if (included.has(p) || requested.includes(p)) return fail({ reason: 'requested-is-provided', name: p, provider: name });
        providedBy.set(p, name);
      }
      included.set(name, element);
      for (const dep of element.deps) {
        if (!requiredBy.has(dep.name)) requiredBy.set(dep.name, name);
        queue.push(dep.name);
      }
    }
    return ok(undefined);
  };
  const expanded = expand();
  if (!expanded.ok) return expanded;
  // diskimage-builder's vm needs the virtual `block-device`; disk-image-create adds block-device-mbr when vm is
  // named and no block-device-* is (common-functions' _arg_defaults_hack). Here whatever needs it and finds no
  // provider gets that default, with a note (DIB itself fails on its own test element stable-vm, which needs vm).
  if (unresolved.includes(BLOCK_DEVICE) && !providedBy.has(BLOCK_DEVICE) && index.elements.has(DEFAULT_BLOCK_DEVICE)) {
    notes.push(`${BLOCK_DEVICE}: ${requiredBy.get(BLOCK_DEVICE)} needs it and no element of the image provides it: ${DEFAULT_BLOCK_DEVICE} is added, as diskimage-builder adds it for vm (name a block-device-* element to choose another)`);
    queue.push(DEFAULT_BLOCK_DEVICE);
    const again = expand();
    if (!again.ok) return again;
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
  if (!providedBy.has(OPERATING_SYSTEM)) return fail({ reason: 'no-operating-system' });

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
    notes,
    volatileScope: volatileUnion(index.elements.values()),
  });
}

/** The virtual name of the element that chooses the disk layout (a block-device-* element). */
export const BLOCK_DEVICE = 'block-device';
/** What provides it when nothing in the image does: diskimage-builder's default for vm on x86. */
export const DEFAULT_BLOCK_DEVICE = 'block-device-mbr';

/** The virtual name whose provider makes the base tree. */
export const OPERATING_SYSTEM = 'operating-system';

/** The element that makes the base tree, or null when the distro's bootstrap does. */
export function osElement(graph: ImageGraph): Element | null {
  const by = graph.providedBy.get(OPERATING_SYSTEM);
  return graph.elements.find((e) => e.name === by) ?? null;
}
