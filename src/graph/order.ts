// A deterministic build order for a dependency graph that may contain cycles
// (diskimage-builder accepts them: os-apply-config <-> os-refresh-config).
// Strongly connected components (Tarjan) are ordered dependencies-first; among
// components that are ready at the same time the one with the smallest name
// goes first, and the members of a cycle go in name order.

export interface Ordered {
  order: string[];
  /** Each dependency cycle, members in name order. */
  cycles: string[][];
}

/** `deps.get(n)` lists what n depends on; every dependency must be a key. */
export function orderGraph(deps: Map<string, string[]>): Ordered {
  const components = stronglyConnected(deps);
  const componentOf = new Map<string, number>();
  components.forEach((members, i) => members.forEach((m) => componentOf.set(m, i)));

  const waitingOn = components.map(() => new Set<number>());
  const dependents = components.map(() => new Set<number>());
  for (const [node, ds] of deps) {
    const c = componentOf.get(node)!;
    for (const d of ds) {
      const dc = componentOf.get(d)!;
      if (dc === c) continue;
      waitingOn[c]!.add(dc);
      dependents[dc]!.add(c);
    }
  }

  const label = (i: number): string => components[i]![0]!;
  const ready = components.map((_, i) => i).filter((i) => waitingOn[i]!.size === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => (label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0));
    const next = ready.shift()!;
    order.push(...components[next]!);
    for (const dep of dependents[next]!) {
      waitingOn[dep]!.delete(next);
      if (waitingOn[dep]!.size === 0) ready.push(dep);
    }
  }
  const cycles = components.filter((c) => c.length > 1 || deps.get(c[0]!)!.includes(c[0]!));
  return { order, cycles };
}

/** Tarjan's algorithm, iterative; each component's members sorted by name. */
function stronglyConnected(deps: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  let counter = 0;

  for (const root of [...deps.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const children = [...(deps.get(frame.node) ?? [])].sort();
      if (frame.next < children.length) {
        const child = children[frame.next++]!;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, next: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        result.push(component.sort());
      }
    }
  }
  return result;
}
