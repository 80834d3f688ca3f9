// The one exclusion rule: contents of proc/, sys/, run/ and dev/pts/ are
// never in a layer; the directories themselves are. /tmp's contents are
// (diskimage-builder's hooks pass files through it).
import { describe, expect, it } from 'vitest';
import { isExcludedPath } from '../../../src/cache/layer-exclude.js';

describe('isExcludedPath', () => {
  it('excludes what lies inside the kernel and scratch mount points', () => {
    for (const p of ['proc/1', 'proc/self/fd/0', 'sys/kernel', 'run/lock', 'dev/pts/0', 'dev/pts/ptmx']) {
      expect(isExcludedPath(p), p).toBe(true);
    }
  });
  it('keeps the directories themselves, look-alikes and /tmp\'s contents', () => {
    for (const p of ['.', 'proc', 'sys', 'tmp', 'run', 'dev', 'dev/pts', 'dev/null', 'tmpfiles/x', 'procfs/x', 'var/tmp/x', 'tmp/x', 'tmp/.wh.old', 'tmp/svc-map-services', 'usr/lib/sys/x', 'run-parts', 'dev/ptsx/1']) {
      expect(isExcludedPath(p), p).toBe(false);
    }
  });
});
