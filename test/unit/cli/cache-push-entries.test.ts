// What `imgfactory cache push <image>` sends: the image's own entries, and the
// volatile records its layers are found by even when another image wrote the
// record last (the record's key is shared; putLayer replaces its entry).
import { describe, expect, it } from 'vitest';
import type { LayerKey } from '../../../src/cache/digest.js';
import { VOLATILE_RECORD_KIND, type EntryKind } from '../../../src/cache/entry-descriptor.js';
import type { LayerEntry } from '../../../src/cache/store.js';
import { entriesOfImage } from '../../../src/cli/cmd-cache-remote.js';

const key = (c: string): LayerKey => `sha256:${c.repeat(64)}` as LayerKey;
const entry = (k: string, kind: EntryKind, image: string, time: number, extra: Record<string, unknown> = {}): LayerEntry => ({
  key: key(k),
  kind,
  integrity: 'sha256-x' as LayerEntry['integrity'],
  size: 1,
  time,
  lastUse: time,
  metadata: { digest: `sha256:${k.repeat(64)}` as LayerEntry['metadata']['digest'], mediaType: 'application/octet-stream', image, step: `s${k}`, ...extra },
});

describe('entriesOfImage', () => {
  it("sends the image's entries and the records its layers name, not another image's", () => {
    const all = [
      entry('1', 'layer/hook', 'control', 1),
      entry('2', 'layer/package', 'control', 2, { volatileRecord: key('9') }),
      // Written last by compute, whose own layer of the step is keyed apart (its list removes other paths).
      entry('9', VOLATILE_RECORD_KIND, 'compute', 5, { matched: ['etc/ssh/ssh_host_*'] }),
      entry('3', 'layer/package', 'compute', 4, { volatileRecord: key('9') }),
      entry('8', VOLATILE_RECORD_KIND, 'compute', 6, { matched: ['var/lib/mysql/*'] }),
      entry('4', 'output/qcow2', 'control', 3),
    ];
    expect(entriesOfImage(all, 'control').map((e) => e.key)).toEqual([key('1'), key('2'), key('4'), key('9')]);
    expect(entriesOfImage(all, 'compute').map((e) => e.key)).toEqual([key('3'), key('9'), key('8')]);
  });
});
