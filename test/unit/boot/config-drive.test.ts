// The config drive `imgfactory boot --metadata` attaches: found by
// os-collect-config only under its exact label, `config-2`.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { makeConfigDrive } from '../../../src/boot/config-drive.js';
import { scratchDir } from '../../support/run-dir.js';

const mtype = (image: string, file: string): Promise<unknown> =>
  execa('mtype', ['-i', image, `::/${file}`], { env: { MTOOLS_SKIP_CHECK: '1' } }).then((r) => JSON.parse(r.stdout));

describe('makeConfigDrive', () => {
  it('writes a vfat disk labelled config-2 (lower case) with the metadata in ec2/latest and the node\'s name in openstack/latest', async () => {
    const dir = await scratchDir('config-drive');
    const metadata = { keystone: { admin_password: 'pw' }, 'os-collect-config': { request: { metadata_url: 'http://10.0.2.2:1/metadata.json' } } };
    const r = await makeConfigDrive({ instanceId: 'i-1', hostname: 'node-1', metadata }, dir);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect((await execa('blkid', ['-o', 'export', r.value])).stdout).toMatch(/^LABEL=config-2$/m);
    expect(await mtype(r.value, 'ec2/latest/meta-data.json')).toEqual({ ...metadata, 'instance-id': 'i-1', hostname: 'node-1' });
    expect(await mtype(r.value, 'openstack/latest/meta_data.json')).toMatchObject({ uuid: 'i-1', hostname: 'node-1', name: 'node-1' });
  });
});
