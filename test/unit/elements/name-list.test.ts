import { describe, expect, it } from 'vitest';
import { parseNameList } from '../../../src/elements/name-list.js';

describe('parseNameList', () => {
  it('skips comments and blank lines and keeps line numbers', () => {
    expect(parseNameList('# deps\n\nfoo\n  bar  # trailing\nfoo\n')).toEqual({
      ok: true,
      names: [
        { name: 'foo', line: 3 },
        { name: 'bar', line: 4 },
      ],
    });
  });

  it('rejects a line that is not a name', () => {
    expect(parseNameList('ok\nfoo bar\n')).toMatchObject({ ok: false, line: 2 });
  });
});
