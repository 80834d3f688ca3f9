import { describe, expect, it } from 'vitest';
import { isAtOrUnder, mountsUnder, parseMountInfo } from '../../../src/sandbox/mountinfo.js';

const SAMPLE = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '90 27 0:50 / /build/a\\040b/merged rw,relatime shared:5 - overlay overlay rw,lowerdir=/x',
  '91 90 0:21 / /build/a\\040b/merged/proc rw - proc proc rw',
  '92 27 0:51 / /buildx rw - tmpfs tmpfs rw',
].join('\n');

describe('mountinfo', () => {
  it('parses mount points with escapes and optional fields', () => {
    const entries = parseMountInfo(SAMPLE);
    expect(entries.map((e) => e.mountPoint)).toEqual(['/proc', '/', '/build/a b/merged', '/build/a b/merged/proc', '/buildx']);
    expect(entries[2]).toMatchObject({ id: 90, parentId: 27, fsType: 'overlay', source: 'overlay' });
  });

  it('lists mounts under a directory, deepest first, not its look-alike siblings', () => {
    const under = mountsUnder(parseMountInfo(SAMPLE), '/build/a b');
    expect(under.map((e) => e.mountPoint)).toEqual(['/build/a b/merged/proc', '/build/a b/merged']);
    expect(mountsUnder(parseMountInfo(SAMPLE), '/buil')).toEqual([]);
    expect(mountsUnder(parseMountInfo(SAMPLE), '/build/a')).toEqual([]);
  });

  it('knows what lies at or under a directory', () => {
    expect(isAtOrUnder('/a/b', '/a')).toBe(true);
    expect(isAtOrUnder('/a', '/a')).toBe(true);
    expect(isAtOrUnder('/ab', '/a')).toBe(false);
    expect(isAtOrUnder('/', '/a')).toBe(false);
  });
});
