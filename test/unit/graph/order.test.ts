import { describe, expect, it } from 'vitest';
import { orderGraph } from '../../../src/graph/order.js';

const graph = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

describe('orderGraph', () => {
  it('puts dependencies first and breaks ties by name', () => {
    expect(orderGraph(graph({ c: [], b: ['c'], a: ['c'], d: ['a', 'b'] })).order).toEqual(['c', 'a', 'b', 'd']);
  });

  it('orders a cycle by name and after its dependencies', () => {
    const r = orderGraph(graph({ y: ['x', 'z'], x: ['y'], z: [], w: ['x'] }));
    expect(r.order).toEqual(['z', 'x', 'y', 'w']);
    expect(r.cycles).toEqual([['x', 'y']]);
  });

  it('does not depend on insertion order', () => {
    const a = orderGraph(graph({ a: ['b'], b: ['c'], c: ['a'], d: [] }));
    const b = orderGraph(graph({ d: [], c: ['a'], b: ['c'], a: ['b'] }));
    expect(a).toEqual(b);
    expect(a.order).toEqual(['a', 'b', 'c', 'd']);
  });
});
