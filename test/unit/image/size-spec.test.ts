import { describe, expect, it } from 'vitest';
import { formatBytes, parseBytes, parseSizeSpec, roundUp } from '../../../src/image/size-spec.js';

describe('size specs', () => {
  it('parses binary and decimal units', () => {
    expect(parseBytes('200MiB')).toBe(200 * 1024 ** 2);
    expect(parseBytes('2G')).toBe(2 * 1024 ** 3);
    expect(parseBytes('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('1GB')).toBe(1e9);
    expect(parseBytes(4096)).toBe(4096);
    expect(parseBytes('12 furlongs')).toMatch(/unknown size unit/);
    expect(parseBytes(-1)).toMatch(/not a whole/);
  });

  it('parses percentages and rest', () => {
    expect(parseSizeSpec('25%')).toEqual({ kind: 'percent', percent: 25 });
    expect(parseSizeSpec('rest')).toEqual({ kind: 'rest' });
    expect(parseSizeSpec('101%')).toMatch(/percentage/);
    expect(parseSizeSpec(true)).toMatch(/string or number/);
  });

  it('formats and rounds', () => {
    expect(formatBytes(209715200)).toBe('200MiB');
    expect(formatBytes(1536)).toBe('1536B');
    expect(roundUp(1, 4096)).toBe(4096);
    expect(roundUp(8192, 4096)).toBe(8192);
  });
});
