// Cold and cached builds publish their outputs the same way (one publish
// path, src/output/publish.ts) and hand the manifest the same description,
// read from the cache entry's metadata rather than from the file.
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileDigest, LayerKey } from '../../../src/cache/digest.js';
import { outputFileKey } from '../../../src/cache/keys.js';
import { LocalLayerStore } from '../../../src/cache/store-local.js';
import { cachedOutputs, writeOutputs, type OutputFile } from '../../../src/engine/outputs.js';
import { Doing } from '../../../src/engine/doing.js';
import type { BuildEvent } from '../../../src/engine/events.js';
import { placedSha256 } from '../../../src/output/placed.js';
import type { Sandbox } from '../../../src/sandbox/sandbox.js';
import { scratchDir } from '../../support/run-dir.js';

/** tar outputs run no block-device.d hook: a sandbox that is never asked. */
const NO_SANDBOX: Sandbox = {
  kind: 'none',
  run: () => Promise.reject(new Error('a tar output ran a hook')),
};

const lastKey = `sha256:${'1'.repeat(64)}` as LayerKey;
const lastLayer = `sha256:${'2'.repeat(64)}` as FileDigest;

async function setup() {
  const tree = await scratchDir('tree');
  await mkdir(path.join(tree, 'etc'));
  await writeFile(path.join(tree, 'etc/os-release'), 'ID=test\n');
  const store = new LocalLayerStore(await scratchDir('store'));
  const events: BuildEvent[] = [];
  const ctx = (outputDir: string) => ({ request: { types: ['tar' as const], outputDir }, diskKey: null, lastKey, lastLayer, store, name: 'img', emit: (e: BuildEvent) => events.push(e), doing: new Doing() });
  return { tree, store, events, ctx };
}

/** Every file in `dir` with its bytes, and whether its placed record vouches for it. */
async function listing(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    out[name] = name.endsWith('.placed') ? String(await placedSha256(path.join(dir, name.slice(1, -'.placed'.length)))) : (await readFile(path.join(dir, name))).toString('base64');
  }
  return out;
}

const withoutPlace = (files: OutputFile[]) => files.map(({ path: p, cached: _cached, ...rest }) => ({ ...rest, name: path.basename(p) }));

describe('outputs', () => {
  it('a cold build and a cached build publish the same files and describe them alike', async () => {
    const { tree, store, events, ctx } = await setup();
    const coldDir = await scratchDir('out-cold');
    const cold = await writeOutputs({ ...ctx(coldDir), tree, hooksDir: tree, workDir: await scratchDir('work'), logDir: await scratchDir('logs'), sandbox: NO_SANDBOX });
    expect(cold).toHaveLength(1);
    expect(cold[0]).toMatchObject({ format: 'tar', cached: false, virtualSize: cold[0]!.size });

    const entry = await store.lookup(outputFileKey({ lastKey, lastLayer, format: 'tar', kind: 'tree', disk: null }), 'output/tar');
    expect(entry?.metadata).toMatchObject({ step: 'output/tar', image: 'img', sha512: cold[0]!.hashes.sha512, md5: cold[0]!.hashes.md5, virtualSize: cold[0]!.size });

    const cachedDir = await scratchDir('out-cached');
    const cached = await cachedOutputs(ctx(cachedDir));
    expect(cached).not.toBeNull();
    expect(cached![0]!.cached).toBe(true);
    expect(withoutPlace(cached!)).toEqual(withoutPlace(cold));
    expect(await listing(cachedDir)).toEqual(await listing(coldDir));
    expect(Object.keys(await listing(cachedDir))).toEqual(['.img.tar.placed', 'img.tar', 'img.tar.sha256']);
    expect(events.filter((e) => e.type === 'output').map((e) => e.type === 'output' && e.cached)).toEqual([false, true]);
  });

  it('leaves an untouched output in place on a no-op build', async () => {
    const { tree, ctx } = await setup();
    const dir = await scratchDir('out');
    await writeOutputs({ ...ctx(dir), tree, hooksDir: tree, workDir: await scratchDir('work'), logDir: await scratchDir('logs'), sandbox: NO_SANDBOX });
    const before = await stat(path.join(dir, 'img.tar'), { bigint: true });
    expect(await cachedOutputs(ctx(dir))).not.toBeNull();
    const after = await stat(path.join(dir, 'img.tar'), { bigint: true });
    expect([after.ino, after.ctimeNs]).toEqual([before.ino, before.ctimeNs]);
  });

  it('describes an output from an older cache entry (no hashes in its metadata) by reading it', async () => {
    const { tree, store, ctx } = await setup();
    const coldDir = await scratchDir('out-cold');
    const cold = await writeOutputs({ ...ctx(coldDir), tree, hooksDir: tree, workDir: await scratchDir('work'), logDir: await scratchDir('logs'), sandbox: NO_SANDBOX });
    const key = outputFileKey({ lastKey, lastLayer, format: 'tar', kind: 'tree', disk: null });
    await store.putLayer(key, 'output/tar', await readFile(cold[0]!.path), { image: 'img', step: 'output/tar' });
    const cached = await cachedOutputs(ctx(await scratchDir('out-old')));
    expect(withoutPlace(cached!)).toEqual(withoutPlace(cold));
  });
});
