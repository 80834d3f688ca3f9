import { describe, expect, it } from 'vitest';
import { columnsOf, fitColumns, plainText } from '../../../src/cli/terminal-text.js';

describe('terminal text', () => {
  it('counts the columns a code point takes: combining and zero-width 0, wide and emoji 2, the rest 1', () => {
    expect([0x301, 0x200d, 0xfe0f].map(columnsOf)).toEqual([0, 0, 0]);
    expect([0x4e2d, 0xac00, 0xff21, 0x1f600, 0x20000, 0x1100].map(columnsOf)).toEqual([2, 2, 2, 2, 2, 2]);
    expect([0x41, 0xe9, 0x2e7f, 0x1f650, 0x3fffe].map(columnsOf)).toEqual([1, 1, 1, 1, 1]);
  });

  it('fits text into columns without splitting a wide character', () => {
    expect(fitColumns('ab中文cd', 5)).toBe('ab中');
    expect(fitColumns('e\u0301e\u0301', 2)).toBe('e\u0301e\u0301');
  });

  it('drops escape sequences and control characters', () => {
    expect(plainText('\x1b[31mred\x1b[0m\tand\r\nmore')).toBe('red and more');
  });
});
