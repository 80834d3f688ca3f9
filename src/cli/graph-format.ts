// Renders a resolved ImageGraph as text (for people), Graphviz dot, or JSON
// (for machines). All three list elements in build order.
import type { ImageGraph } from '../graph/resolve.js';

export function graphToJson(g: ImageGraph): unknown {
  return {
    requested: g.requested,
    distro: g.distro?.name ?? null,
    elements: g.elements.map((e) => ({
      name: e.name,
      description: e.description,
      dir: e.dir,
      deps: g.edges.get(e.name) ?? [],
      provides: e.provides.map((p) => p.name),
    })),
    providedBy: Object.fromEntries([...g.providedBy].sort(([a], [b]) => (a < b ? -1 : 1))),
    cycles: g.cycles,
  };
}

export function graphToText(g: ImageGraph): string {
  const lines = [`${g.requested.join(' ')}${g.distro ? ` on ${g.distro.name}` : ''}: ${g.elements.length} elements`];
  g.elements.forEach((e, i) => {
    const deps = g.edges.get(e.name) ?? [];
    lines.push(`${String(i + 1).padStart(3)}. ${e.name}${deps.length ? `  <- ${deps.join(', ')}` : ''}`);
  });
  const provided = [...g.providedBy].filter(([name, by]) => name !== by).sort(([a], [b]) => (a < b ? -1 : 1));
  if (provided.length) {
    lines.push('provides:');
    for (const [name, by] of provided) lines.push(`  ${name} <- ${by}`);
  }
  if (g.cycles.length) {
    lines.push('cycles (accepted, members ordered by name):');
    for (const c of g.cycles) lines.push(`  ${[...c, c[0]].join(' -> ')}`);
  }
  return lines.join('\n');
}

export function graphToDot(g: ImageGraph): string {
  const q = (s: string): string => JSON.stringify(s);
  const inCycle = new Set(g.cycles.flat());
  const lines = ['digraph imgfactory {', '  rankdir=LR;', '  node [shape=box, fontname="sans-serif"];'];
  for (const name of g.requested) lines.push(`  ${q(name)} [style=bold];`);
  if (g.distro) lines.push(`  ${q(`distro:${g.distro.name}`)} [shape=ellipse];`);
  for (const e of g.elements) {
    for (const dep of g.edges.get(e.name) ?? []) {
      const attrs = inCycle.has(e.name) && inCycle.has(dep) ? ' [color=red]' : '';
      lines.push(`  ${q(e.name)} -> ${q(dep)}${attrs};`);
    }
  }
  lines.push('}');
  return lines.join('\n');
}
