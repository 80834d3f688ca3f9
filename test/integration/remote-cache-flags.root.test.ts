// `build --cache-from/--cache-to` end to end, as issue 8 asks: runner A builds
// and pushes (signing with --cache-sign-key), runner B (empty cache, trusting
// A's key) builds the same image from the registry without running a step
// and writes byte-identical outputs; a runner trusting another key refuses
// A's entries (issue 18); a blob damaged in the registry is rejected and its
// step rebuilt; a registry that is down is a warning and a local build (a
// failure with --cache-required).
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalLayerStore } from '../../src/cache/store-local.js';
import { imgfactory, type Run } from '../support/imgfactory.js';
import { freePort } from '../support/registry.js';
import { useRegistry } from '../support/registry-lifecycle.js';
import { buildArgs, ran, runner, type Runner } from '../support/count-runner.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const LONG = scaled(900_000);

const registryOf = useRegistry();


const build = (r: Runner, extra: string[]): Promise<Run> =>
  imgfactory([...buildArgs(r), '--insecure-registry', ...extra]);

const statuses = (r: Run): string[] => (JSON.parse(r.stdout) as { steps: { status: string }[] }).steps.map((s) => s.status);

/** A key pair as PEM files: `<dir>/<name>.key.pem` and `.pub.pem`. */
async function keyFiles(name: string): Promise<{ key: string; pub: string }> {
  const dir = await scratchDir('keys');
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const files = { key: path.join(dir, `${name}.key.pem`), pub: path.join(dir, `${name}.pub.pem`) };
  await writeFile(files.key, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(files.pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return files;
}

describe('build --cache-from / --cache-to', () => {
  it(
    'runner B builds from the registry: no step runs, outputs byte-identical; entries signed by an untrusted key are refused; a damaged blob is rebuilt',
    async () => {
      const ref = `registry://${registryOf().host}/ci/flags`;
      const builder = await keyFiles('builder');
      const stranger = await keyFiles('stranger');
      const a = await runner('flags-a', true);
      const first = await build(a, ['--cache-to', ref, '--cache-sign-key', builder.key]);
      expect(first.exitCode, first.stderr).toBe(0);
      expect(ran(first).length).toBeGreaterThan(0);

      const b = await runner('flags-b', false);
      const second = await build(b, ['--cache-from', ref, '--cache-trust', stranger.pub, '--cache-trust', builder.pub]);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(ran(second)).toEqual([]);
      expect(new Set(statuses(second))).toEqual(new Set(['cached']));
      expect((await readFile(path.join(b.out, 'count-a.tar'))).equals(await readFile(path.join(a.out, 'count-a.tar')))).toBe(true);

      // Trusting only another key: A's entry of the first step after the base tree is refused, by name, and built here.
      const d = await runner('flags-d', true);
      const untrusting = await build(d, ['--cache-from', ref, '--cache-trust', stranger.pub]);
      expect(untrusting.exitCode, untrusting.stderr).toBe(0);
      expect(untrusting.stderr).toMatch(
        new RegExp(`not using the entry of sha256:[0-9a-f]{64} \\(count-b/root\\.d/05-count-b\\) from ${ref.replace(/[./]/g, '\\$&')}: it is signed by key [0-9a-f]{16}\\.\\.\\., which is not among the trusted keys; building the step instead`),
      );
      // Told once per entry, however often the build looks its key up.
      const refused = [...untrusting.stderr.matchAll(/not using the entry of (sha256:[0-9a-f]{64})/g)].map((m) => m[1]);
      expect(refused.length).toBe(new Set(refused).size);
      expect(ran(untrusting)).toContain('count-b/root.d/05-count-b');

      const victim = (await new LocalLayerStore(a.cache).list()).find((e) => e.metadata.step === 'count-a/install.d/20-count-a')!;
      const hex = victim.metadata.digest.slice(7);
      const file = path.join(registryOf().storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
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
