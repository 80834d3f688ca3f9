// The CLI's words for failures that carry numbers: they read as a sentence,
// with sizes a person can take in.
import { describe, expect, it } from 'vitest';
import { renderFailure } from '../../../src/cli/render-failure.js';

describe('renderFailure', () => {
  it('says what does not fit, how much is needed and how much there is', () => {
    const r = renderFailure({ reason: 'image-too-small', what: 'efi: the fixed-size partitions do not fit on a 1 GiB disk', needed: 1_288_490_189, available: 1_073_741_824 });
    expect(r.message).toBe('efi: the fixed-size partitions do not fit on a 1 GiB disk: 1.2 GiB needed, 1.0 GiB available (1288490189 and 1073741824 bytes)');
    expect(r.hint).toBe('raise --image-size or --image-extra-size');
  });
});
