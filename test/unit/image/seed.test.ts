import { describe, expect, it } from 'vitest';
import { id32For, imageIds, uuidFor } from '../../../src/image/seed.js';
import { renderFstab, vfatUuid } from '../../../src/image/fstab.js';
import { loadLayout } from '../../../src/image/layout-load.js';

describe('seeded ids', () => {
  it('are stable, shaped like v4 UUIDs, and differ by seed and purpose', () => {
    const a = uuidFor('key-1', 'fs-uuid:root');
    expect(a).toBe(uuidFor('key-1', 'fs-uuid:root'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidFor('key-2', 'fs-uuid:root')).not.toBe(a);
    expect(uuidFor('key-1', 'fs-uuid:ESP')).not.toBe(a);
    expect(id32For('key-1', 'x')).toMatch(/^[0-9a-f]{8}$/);
    const ids = imageIds('key-1');
    expect(new Set([ids.diskGuid, ids.partitionGuid('root'), ids.fsUuid('root'), ids.hashSeed('root')]).size).toBe(4);
  });
});

describe('fstab', () => {
  it('names filesystems by label, root first, ESP with its options', async () => {
    const l = await loadLayout('efi');
    if (!l.ok) throw new Error('layout');
    const [esp, , root] = l.value.partitions;
    const text = renderFstab([
      { spec: esp!, uuid: vfatUuid('1234abcd') },
      { spec: root!, uuid: 'u' },
    ]);
    expect(text.split('\n').filter((x) => !x.startsWith('#') && x)).toEqual([
      'LABEL=cloudimg-rootfs / ext4 defaults,errors=remount-ro 0 1',
      'LABEL=ESP /boot/efi vfat umask=0077 0 2',
    ]);
    expect(vfatUuid('1234abcd')).toBe('1234-ABCD');
    expect(renderFstab([{ spec: { ...root!, label: undefined }, uuid: 'abc' }])).toMatch(/^UUID=abc \/ ext4/m);
  });
});
