import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloudNames } from '../../../src/cli/clouds-arg.js';
import { failureOf } from '../../support/failure-of.js';
import { scratchDir } from '../../support/run-dir.js';

describe('cloudNames', () => {
  it('takes --os-cloud lists and repeats, then the clouds file, in order', async () => {
    const file = path.join(await scratchDir('clouds-list'), 'clouds.txt');
    await writeFile(file, '# release targets\nceph-east\n\n  west  # qcow2\n');
    expect(cloudNames({ osCloud: ['a,b', ' c '], cloudsFile: file })).toEqual(['a', 'b', 'c', 'ceph-east', 'west']);
    expect(cloudNames({})).toEqual([]);
  });

  it('names a clouds file it cannot read', async () => {
    expect(await failureOf(() => cloudNames({ cloudsFile: '/nonexistent/clouds.txt' }))).toMatchObject({ reason: 'usage', message: expect.stringMatching(/^--clouds-file \/nonexistent\/clouds.txt: ENOENT/) });
  });
});
