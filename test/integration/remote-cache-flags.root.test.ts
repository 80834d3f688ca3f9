// `build --cache-from/--cache-to` end to end, as issue 8 asks: runner A builds
// and pushes, runner B (empty cache) builds the same image from the registry
// without running a step and writes byte-identical outputs; a blob damaged in
// the registry is rejected and its step rebuilt; a registry that is down is a
// warning and a local build (a failure with --cache-required).
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLayerStore } from '../../src/cache/store-local.js';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory, type Run } from '../support/imgfactory.js';
import { freePort, startRegistry, type TestRegistry } from '../support/registry.js';
import { scratchDir } from '../support/run-dir.js';

const LONG = 900_000;

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});

interface Runner {
  dir: string;
  elements: string;
  cache: string;
  out: string;
}

async function runner(name: string, withBase: boolean): Promise<Runner> {
  const dir = await scratchDir(name);
  const elements = path.join(dir, 'elements');
  await execa('cp', ['-a', path.join(FIXTURES, 'elements', 'cache'), elements]);
  const cache = withBase ? await cacheWithBase(path.join(dir, 'cache')) : path.join(dir, 'cache');
  return { dir, elements, cache, out: path.join(dir, 'out') };
}

const build = (r: Runner, extra: string[]): Promise<Run> =>
  imgfactory(['build', 'count-a', '--json', '-t', 'tar', '--elements-path', r.elements, '--cache-dir', r.cache, '--build-dir', path.join(r.dir, 'build'), '-o', r.out, '--insecure-registry', ...extra]);

const ran = (r: Run): string[] => [...r.stderr.matchAll(/\| COUNT-RUN (\S+)/g)].map((m) => m[1]!);
const statuses = (r: Run): string[] => (JSON.parse(r.stdout) as { steps: { status: string }[] }).steps.map((s) => s.status);

describe('build --cache-from / --cache-to', () => {
  it(
    'runner B builds from the registry: no step runs, outputs byte-identical; a damaged blob is rebuilt',
    async () => {
      const ref = `registry://${registry.host}/ci/flags`;
      const a = await runner('flags-a', true);
      const first = await build(a, ['--cache-to', ref]);
      expect(first.exitCode, first.stderr).toBe(0);
      expect(ran(first).length).toBeGreaterThan(0);

      const b = await runner('flags-b', false);
      const second = await build(b, ['--cache-from', ref]);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(ran(second)).toEqual([]);
      expect(new Set(statuses(second))).toEqual(new Set(['cached']));
      expect((await readFile(path.join(b.out, 'count-a.tar'))).equals(await readFile(path.join(a.out, 'count-a.tar')))).toBe(true);

      const victim = (await new LocalLayerStore(a.cache).list()).find((e) => e.metadata.step === 'count-a/install.d/20-count-a')!;
      const hex = victim.metadata.digest.slice(7);
      const file = path.join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      const data = await readFile(file);
      data[0] = data[0]! ^ 0xff;
      await writeFile(file, data);
      const c = await runner('flags-c', false);
      const third = await build(c, ['--cache-from', ref]);
      expect(third.exitCode, third.stderr).toBe(0);
      expect(third.stderr).toMatch(/rejected a blob/);
      expect(ran(third)).toContain('count-a/install.d/20-count-a');
      expect(ran(third)).not.toContain('count-b/install.d/10-count-b');
    },
    LONG,
  );

  it(
    'a registry that is down is a warning and a local build; with --cache-required it fails',
    async () => {
      const down = `registry://127.0.0.1:${await freePort()}/gone`;
      const d = await runner('flags-down', true);
      const r = await build(d, ['--cache-from', down, '--cache-to', down]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/remote cache .* unavailable/);
      const e = await runner('flags-required', true);
      const required = await build(e, ['--cache-from', down, '--cache-required']);
      expect(required.exitCode).toBe(1);
      expect(required.stderr).toMatch(/remote cache registry:\/\/127\.0\.0\.1/);
    },
    LONG,
  );
});
