// Two runners, one remote cache, real builds through the real CLI: runner A
// builds on its cache and pushes (`cache push`), runner B starts with an
// empty cache, pulls (`cache pull`), and its build runs no step and writes
// byte-identical outputs — through Debian's docker-registry and through an
// OCI layout. A blob damaged in the registry is rejected on pull and its
// step is built again.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LayerEntry } from '../../src/cache/store.js';
import { LocalLayerStore } from '../../src/cache/store-local.js';
import { imgfactory, type Run } from '../support/imgfactory.js';
import { useRegistry } from '../support/registry-lifecycle.js';
import { buildArgs, ran, runner, type Runner } from '../support/count-runner.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const LONG = scaled(900_000);

const registryOf = useRegistry();


async function build(r: Runner): Promise<Run> {
  const run = await imgfactory(buildArgs(r));
  if (run.exitCode !== 0) throw new Error(`build failed:\n${run.stderr}`);
  return run;
}

const statuses = (r: Run): string[] => (JSON.parse(r.stdout) as { steps: { status: string }[] }).steps.map((s) => s.status);

/** `cache push|pull` of both images the fixture build uses (the base tree was built as image "base"). */
async function move(verb: 'push' | 'pull', r: Runner, ref: string): Promise<Run[]> {
  const runs: Run[] = [];
  for (const image of ['base', 'count-a']) runs.push(await imgfactory(['cache', verb, image, ref, '--cache-dir', r.cache, '--insecure-registry', '--json']));
  return runs;
}

describe('a second runner builds from the remote cache', () => {
  for (const kind of ['registry', 'oci'] as const) {
    it(
      `through ${kind === 'registry' ? "Debian's docker-registry" : 'an OCI layout'}: nothing runs, outputs are byte-identical`,
      async () => {
        const ref = kind === 'registry' ? `registry://${registryOf().host}/ci/${kind}` : `oci:${await scratchDir('layout')}`;
        const a = await runner(`runner-a-${kind}`, true);
        const first = await build(a);
        expect(ran(first).length).toBeGreaterThan(0);

        for (const p of await move('push', a, ref)) expect(p.exitCode, p.stderr).toBe(0);
        const again = await move('push', a, ref);
        expect((JSON.parse(again[1]!.stdout) as { blobsPushed: number }).blobsPushed).toBe(0);

        const b = await runner(`runner-b-${kind}`, false);
        for (const p of await move('pull', b, ref)) expect(p.exitCode, p.stderr).toBe(0);
        const second = await build(b);
        expect(ran(second)).toEqual([]);
        expect(new Set(statuses(second))).toEqual(new Set(['cached']));
        const tarA = await readFile(path.join(a.out, 'count-a.tar'));
        const tarB = await readFile(path.join(b.out, 'count-a.tar'));
        expect(tarB.equals(tarA)).toBe(true);
      },
      LONG,
    );
  }

  it(
    'a blob damaged in the registry is rejected on pull (exit 3) and its step is built again',
    async () => {
      const ref = `registry://${registryOf().host}/ci/damaged`;
      const a = await runner('runner-a-damaged', true);
      await build(a);
      for (const p of await move('push', a, ref)) expect(p.exitCode, p.stderr).toBe(0);

      const entries = await new LocalLayerStore(a.cache).list();
      const victim = entries.find((e) => e.metadata.step === 'count-a/install.d/20-count-a') as LayerEntry;
      expect(victim).toBeDefined();
      const hex = victim.metadata.digest.slice(7);
      const file = path.join(registryOf().storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      const data = await readFile(file);
      data[data.length - 1] = data[data.length - 1]! ^ 0xff;
      await writeFile(file, data);

      const b = await runner('runner-b-damaged', false);
      const [base, pulled] = await move('pull', b, ref);
      expect(base!.exitCode, base!.stderr).toBe(0);
      expect(pulled!.exitCode).toBe(3);
      expect(pulled!.stderr).toContain(victim.key);
      expect(await new LocalLayerStore(b.cache).lookup(victim.key, victim.kind)).toBeNull();

      const second = await build(b);
      expect(ran(second)).toContain('count-a/install.d/20-count-a');
      expect(ran(second)).not.toContain('count-b/install.d/10-count-b');
    },
    LONG,
  );
});
