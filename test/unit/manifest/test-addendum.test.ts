// The gate of `publish --require-test`: a passing, validly signed test of
// exactly this manifest, and nothing less.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../../../src/manifest/build-manifest.js';
import { parseAddendum, requirePassingTest, testAddendumFile, writeTestAddendum } from '../../../src/manifest/test-addendum.js';
import { unwrap } from '../../../src/failure.js';
import type { Manifest } from '../../../src/manifest/manifest.js';
import { keyFiles, passingAddendum, smallManifest } from '../../support/test-addendum-fixture.js';

describe('requirePassingTest', () => {
  let dir: string;
  let manifest: Manifest;
  let manifestFile: string;
  let signKey: string;
  let verifyKey: string;
  let otherKey: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgfactory-addendum-'));
    manifest = smallManifest('sb');
    manifestFile = (await writeManifest(manifest, dir)).manifest;
    ({ signKey, verifyKey, otherKey } = await keyFiles(dir));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const refusal = async (key = verifyKey): Promise<string> => {
    const r = await requirePassingTest(manifestFile, key);
    if (r.ok) throw new Error('the gate let it through');
    expect(r.error.reason).toBe('test-not-passed');
    return (r.error as { message: string }).message;
  };

  it('refuses a manifest that was never tested', async () => {
    await rm(testAddendumFile(manifestFile), { force: true });
    expect(await refusal()).toMatch(/no test addendum/);
  });

  it('passes a passing test of this manifest, signed by the given key', async () => {
    unwrap(await writeTestAddendum(manifestFile, passingAddendum(manifest, 'sb.manifest.json'), signKey));
    const r = await requirePassingTest(manifestFile, verifyKey);
    expect(r.ok && r.value.result).toBe('pass');
    expect(testAddendumFile(manifestFile)).toBe(path.join(dir, 'sb.manifest.test.json'));
  });

  it('refuses an unsigned addendum', async () => {
    await rm(`${testAddendumFile(manifestFile)}.sig`, { force: true });
    unwrap(await writeTestAddendum(manifestFile, passingAddendum(manifest, 'sb.manifest.json'), null));
    expect(await refusal()).toMatch(/not signed/);
  });

  it('refuses an addendum signed by another key', async () => {
    unwrap(await writeTestAddendum(manifestFile, passingAddendum(manifest, 'sb.manifest.json'), otherKey));
    expect(await refusal()).toMatch(/signature does not hold: signed by key/);
  });

  it('refuses a failed test turned into a pass after signing', async () => {
    unwrap(await writeTestAddendum(manifestFile, { ...passingAddendum(manifest, 'sb.manifest.json'), result: 'fail' }, signKey));
    const file = testAddendumFile(manifestFile);
    await writeFile(file, (await readFile(file, 'utf8')).replace('"result":"fail"', '"result":"pass"'));
    expect(await refusal()).toMatch(/signature does not hold: the signature does not match the test addendum/);
  });

  it('refuses a failed test', async () => {
    unwrap(await writeTestAddendum(manifestFile, { ...passingAddendum(manifest, 'sb.manifest.json'), result: 'fail' }, signKey));
    expect(await refusal()).toMatch(/last test of this manifest failed/);
  });

  it('refuses the passing test of another manifest (a rebuild with the same name)', async () => {
    const other = smallManifest('sb-other');
    unwrap(await writeTestAddendum(manifestFile, passingAddendum(other, 'sb.manifest.json'), signKey));
    expect(await refusal()).toMatch(/for another manifest/);
  });

  it('reads only well-formed addenda', () => {
    expect(parseAddendum('nope')).toMatch(/not JSON/);
    expect(parseAddendum('{"v":"imgfactory.test.v0"}')).toMatch(/not an imgfactory.test.v1/);
    expect(parseAddendum(JSON.stringify({ ...passingAddendum(manifest, 'x'), result: 'maybe' }))).toMatch(/pass or fail/);
  });
});
