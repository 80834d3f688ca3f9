import { describe, expect, it } from 'vitest';
import { distance, nearMisses } from '../../../src/graph/near-miss.js';

describe('nearMisses', () => {
  it('suggests close names, closest first', () => {
    expect(nearMisses('overcloud-contrl', ['overcloud-control', 'overcloud-compute', 'base'])).toEqual(['overcloud-control', 'overcloud-compute']);
    expect(nearMisses('zzz', ['base', 'vm'])).toEqual([]);
  });

  it('computes edit distance', () => {
    expect(distance('kitten', 'sitting')).toBe(3);
    expect(distance('', 'abc')).toBe(3);
  });
});
