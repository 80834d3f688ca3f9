import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../../../src/cache/remote/registry-auth.js';

describe('parseChallenge', () => {
  it('reads a bearer challenge with quoted, comma-separated parameters', () => {
    expect(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' },
    });
  });

  it('reads Basic, any case, and unquoted values', () => {
    expect(parseChallenge('basic realm=test')).toEqual({ scheme: 'basic', params: { realm: 'test' } });
    expect(parseChallenge('Basic realm="with \\"quotes\\""')).toEqual({ scheme: 'basic', params: { realm: 'with "quotes"' } });
  });

  it('ignores schemes it cannot answer', () => {
    expect(parseChallenge('Negotiate abc')).toBeNull();
    expect(parseChallenge(undefined)).toBeNull();
  });
});
