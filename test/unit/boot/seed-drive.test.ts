// The NoCloud seed `imgfactory test --user-data` attaches: a vfat disk that
// cloud-init finds by its label, holding the user's file and a meta-data.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeNoCloudSeed, SEED_INSTANCE_ID } from '../../../src/boot/seed-drive.js';
import { scratchDir } from '../../support/run-dir.js';

const mtools = (args: string[]): Promise<string> => execa(args[0]!, args.slice(1), { env: { MTOOLS_SKIP_CHECK: '1' } }).then((r) => r.stdout);

describe('makeNoCloudSeed', () => {
  it('writes a CIDATA vfat disk with user-data as given and a meta-data naming the instance', async () => {
    const dir = await scratchDir('seed');
    const userData = path.join(dir, 'user.yaml');
    await writeFile(userData, '#cloud-config\nruncmd: [echo hi]\n');
    const r = await makeNoCloudSeed(userData, path.join(dir));
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect((await execa('blkid', ['-o', 'value', '-s', 'LABEL', r.value])).stdout).toBe('CIDATA');
    expect(await mtools(['mtype', '-i', r.value, '::/user-data'])).toBe('#cloud-config\nruncmd: [echo hi]');
    expect(await mtools(['mtype', '-i', r.value, '::/meta-data'])).toBe(`instance-id: ${SEED_INSTANCE_ID}\nlocal-hostname: ${SEED_INSTANCE_ID}`);
  });

  it('names the --user-data file it cannot read', async () => {
    const r = await makeNoCloudSeed('/nonexistent/user-data', await scratchDir('seed'));
    expect(!r.ok && r.error).toMatchObject({ reason: 'usage', message: expect.stringMatching(/^--user-data \/nonexistent\/user-data: ENOENT/) });
  });
});
