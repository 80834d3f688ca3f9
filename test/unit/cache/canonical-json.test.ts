import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError, compareCodeUnits } from '../../../src/cache/canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys by code unit at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ z: true, y: null }], A: 'x' })).toBe('{"A":"x","a":[{"y":null,"z":true}],"b":1}');
  });

  it('uses code-unit order, not the locale', () => {
    // localeCompare would put 'a' before 'B' and 'é' next to 'e'.
    expect(canonicalJson({ a: 1, B: 2, é: 3, f: 4 })).toBe('{"B":2,"a":1,"f":4,"é":3}');
    expect(['b', 'a', 'B', '_'].sort(compareCodeUnits)).toEqual(['B', '_', 'a', 'b']);
  });

  it('gives the same text whatever the insertion order', () => {
    expect(canonicalJson({ x: 1, y: { p: 1, q: 2 } })).toBe(canonicalJson({ y: { q: 2, p: 1 }, x: 1 }));
  });

  it('escapes strings as JSON does and writes -0 as 0', () => {
    expect(canonicalJson({ s: 'a"b\n\u0001', n: -0 })).toBe('{"n":0,"s":"a\\"b\\n\\u0001"}');
  });

  it.each([
    ['undefined', { a: undefined }, '$.a'],
    ['NaN', { a: [1, Number.NaN] }, '$.a[1]'],
    ['Infinity', { a: Number.POSITIVE_INFINITY }, '$.a'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol', { s: Symbol('x') }, '$.s'],
    ['a bigint', { b: 1n }, '$.b'],
    ['a Date', { d: new Date(0) }, '$.d'],
    ['a Map', new Map(), '$'],
    // eslint-disable-next-line no-sparse-arrays
    ['a hole', [1, , 3], '$[1]'],
  ])('refuses %s with its location', (_name, value, where) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
    try {
      canonicalJson(value);
    } catch (err) {
      expect((err as CanonicalJsonError).path).toBe(where);
    }
  });

  it('refuses cycles but allows shared non-cyclic references', () => {
    const shared = { k: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cycle at \$\.self/);
  });

  it('accepts objects without a prototype', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = 2;
    o.a = 1;
    expect(canonicalJson(o)).toBe('{"a":1,"b":2}');
  });
});
