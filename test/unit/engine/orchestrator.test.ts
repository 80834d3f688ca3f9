// The orchestrator with a fake sandbox and a fake bootstrapper (they write
// marker files into the step's upper dir and count their runs, as BuildKit's
// execCallCount does) and a real layer store in a temporary directory: what a
// build runs, applies and reports when cold, as a no-op, resuming from a tree
// checkpoint, failing, and with --refresh.
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { VOLATILE_RECORD_KIND } from '../../../src/cache/entry-descriptor.js';
import { LocalLayerStore } from '../../../src/cache/store-local.js';
import { loadDistro } from '../../../src/distro/load-distro.js';
import type { ArchiveState, SuiteState } from '../../../src/distro/archive-state.js';
import type { BuildEvent } from '../../../src/engine/events.js';
import { orchestrate, type BuildOutcome, type BuildRequest } from '../../../src/engine/orchestrator.js';
import type { EnginePorts } from '../../../src/engine/ports.js';
import { FailureError, unwrap } from '../../../src/failure.js';
import { resolveImage } from '../../../src/graph/resolve.js';
import type { Sandbox, StepRun } from '../../../src/sandbox/sandbox.js';
import type { Bootstrapper } from '../../../src/steps/index.js';
import { FIXTURES, fixtureIndex } from '../../support/fixtures.js';
import { scratchDir } from '../../support/run-dir.js';

const REPO_ELEMENTS = path.join(FIXTURES, '..', '..', 'elements');
const DPKG_STATUS = 'Package: fake-base\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n';

/** Writes what each step ran into its upper dir; fails the scripts named in `failing`. */
class FakeSandbox implements Sandbox {
  readonly kind = 'chroot' as const;
  readonly runs: string[] = [];
  constructor(
    private readonly failing = new Set<string>(),
    /** What the steps write besides their name: another value stands for another host file read. */
    private readonly salt = '',
  ) {}

  async run(step: StepRun): Promise<{ exitCode: number | null; signal: string | null }> {
    // argv: /bin/bash <helper> [phase script | action packages...]
    if (step.tree === 'read-only' || step.tree === 'none') throw new Error('no read-only runs (no block-device.d hooks) and no bootstrap runs (a fake bootstrap) in these builds');
    const what = step.argv.slice(2).join(' ') || path.basename(step.argv[1]!);
    this.runs.push(what);
    await writeFile(step.logFile, `ran ${what}\n`, { flag: 'a' });
    if (this.failing.has(what)) return { exitCode: 3, signal: null };
    const dir = path.join(step.upperDir, 'var', 'lib', 'fake');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, what.replace(/[^A-Za-z0-9.-]/g, '_')), `${what}${this.salt}\n`);
    return { exitCode: 0, signal: null };
  }
}

interface Harness {
  dir: string;
  elements: string;
  cacheDir: string;
  out: string;
  sandbox: FakeSandbox;
  boots: number;
  /** Bytes of incompressible data the bootstrap writes (a large base layer gets a tree checkpoint). */
  baseBytes: number;
  /** The archive state the next build is handed. */
  archive: ArchiveState;
}

const suite = (name: string, digit: string): SuiteState => ({ suite: name, url: `http://mirror.test/debian/dists/${name}/InRelease`, sha256: digit.repeat(64), date: 'Sat, 10 Jun 2023 08:53:47 UTC' });
const ARCHIVE: ArchiveState = { from: 'archive', suites: [suite('bookworm', 'a'), suite('bookworm-updates', 'b'), suite('bookworm-security', 'c')] };
/** Debian published: bookworm-security's InRelease changed. */
const PUBLISHED: ArchiveState = { from: 'archive', suites: [suite('bookworm', 'a'), suite('bookworm-updates', 'b'), suite('bookworm-security', 'd')] };

async function harness(name: string, baseBytes = 0): Promise<Harness> {
  const dir = await scratchDir(name);
  const elements = path.join(dir, 'elements');
  await cp(path.join(FIXTURES, 'elements', 'cache'), elements, { recursive: true });
  return { dir, elements, cacheDir: path.join(dir, 'cache'), out: path.join(dir, 'out'), sandbox: new FakeSandbox(), boots: 0, baseBytes, archive: ARCHIVE };
}

async function build(h: Harness, over: Partial<BuildRequest> = {}, sandbox: Sandbox = h.sandbox): Promise<{ outcome: BuildOutcome; events: BuildEvent[]; sandboxAsked: boolean }> {
  const distro = unwrap(await loadDistro('debian-bookworm'));
  const graph = unwrap(resolveImage(['count-a'], { index: await fixtureIndex(h.elements, REPO_ELEMENTS), distro }));
  const events: BuildEvent[] = [];
  let sandboxAsked = false;
  const bootstrap: Bootstrapper = async ({ target, logFile }) => {
    h.boots++;
    await mkdir(path.join(target, 'var', 'lib', 'dpkg'), { recursive: true });
    await mkdir(path.join(target, 'etc'), { recursive: true });
    await writeFile(path.join(target, 'var', 'lib', 'dpkg', 'status'), DPKG_STATUS);
    await writeFile(path.join(target, 'etc', 'debian_version'), `12.${h.boots}\n`);
    if (h.baseBytes > 0) await writeFile(path.join(target, 'etc', 'noise'), randomBytes(h.baseBytes));
    await writeFile(logFile, 'bootstrapped\n');
  };
  const ports: EnginePorts = {
    store: new LocalLayerStore(h.cacheDir),
    sandbox: async () => {
      sandboxAsked = true;
      return sandbox;
    },
    bootstrap,
    archiveState: async () => h.archive,
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
  };
  const request: BuildRequest = {
    graph,
    distro,
    imageName: 'count-a',
    buildRoot: path.join(h.dir, 'build'),
    scratch: 'disk',
    cacheDir: h.cacheDir,
    refresh: false,
    outputs: { types: ['tar'], outputDir: h.out },
    disk: { compress: true },
    declared: {},
    sourceDateEpoch: null,
    ...over,
  };
  return { outcome: await orchestrate(request, ports), events, sandboxAsked };
}

const statuses = (o: BuildOutcome): string[] => o.steps.map((s) => `${s.id} ${s.status}`);
const tarList = async (file: string): Promise<string[]> => (await execa('tar', ['-tf', file])).stdout.split('\n');

const HOOKS = [
  'root.d 05-count-b',
  'install.d 10-count-b',
  'install.d 20-count-a',
  'finalise.d 20-count-b',
  'finalise.d 30-count-a',
  'finalise.d 50-count-b',
  'cleanup.d 40-count-a',
  'finalise-tree',
];

describe('orchestrate', () => {
  it('cold: bootstraps once, runs every step once in the sandbox, writes the output and the manifest', async () => {
    const h = await harness('orch-cold');
    const { outcome, sandboxAsked } = await build(h);
    expect(h.boots).toBe(1);
    expect(h.sandbox.runs).toEqual(HOOKS);
    expect(sandboxAsked).toBe(true);
    expect(outcome.sandbox).toBe('chroot');
    expect(outcome.steps.every((s) => s.status === 'built')).toBe(true);
    expect(outcome.steps[0]!.id).toBe('distro/debian-bookworm');
    const entries = await tarList(path.join(h.out, 'count-a.tar'));
    expect(entries).toContain('./etc/debian_version');
    expect(entries).toContain('./var/lib/fake/install.d_20-count-a');
    const manifest = JSON.parse(await readFile(outcome.manifest.manifest, 'utf8')) as { packages: { name: string }[]; layerKeys: string[] };
    expect(manifest.packages.map((p) => p.name)).toEqual(['fake-base']);
    expect(manifest.layerKeys).toEqual(outcome.steps.map((s) => s.key));
  });

  it('no-op: a second build asks for no sandbox, runs nothing and reports every step cached with the same keys', async () => {
    const h = await harness('orch-noop');
    const cold = await build(h);
    const again = await build(h, {}, new FakeSandbox());
    expect(again.sandboxAsked).toBe(false);
    expect(again.outcome.sandbox).toBe('none');
    expect(h.boots).toBe(1);
    expect(again.outcome.steps.map((s) => s.status)).toEqual(cold.outcome.steps.map(() => 'cached'));
    expect(again.outcome.steps.map((s) => s.key)).toEqual(cold.outcome.steps.map((s) => s.key));
    expect(again.outcome.outputs.map((o) => [o.format, o.sha256, o.cached])).toEqual(cold.outcome.outputs.map((o) => [o.format, o.sha256, true]));
  });

  it('resumes from the deepest tree checkpoint and runs only from the changed hook on', async () => {
    // 40 MiB of incompressible base: past the checkpoint threshold, so the tree after the base is kept.
    const h = await harness('orch-resume', 40 * 2 ** 20);
    const cold = await build(h);
    await writeFile(path.join(h.elements, 'count-a', 'install.d', '20-count-a'), '#!/bin/bash\necho changed\n');
    const second = new FakeSandbox();
    const { outcome, events } = await build(h, {}, second);
    expect(h.boots).toBe(1);
    expect(events).toContainEqual({ type: 'note', message: 'started from the tree checkpoint after distro/debian-bookworm: 1 cached layers not applied again' });
    expect(second.runs).toEqual(HOOKS.slice(2));
    expect(statuses(outcome).slice(0, 3)).toEqual(['distro/debian-bookworm cached', 'count-b/root.d/05-count-b cached', 'count-b/install.d/10-count-b cached']);
    expect(outcome.steps.slice(0, 3).map((s) => s.key)).toEqual(cold.outcome.steps.slice(0, 3).map((s) => s.key));
    expect(outcome.steps.slice(3).every((s) => s.status === 'built')).toBe(true);
    const entries = await tarList(path.join(h.out, 'count-a.tar'));
    expect(entries).toContain('./etc/noise');
    expect(entries).toContain('./var/lib/fake/root.d_05-count-b');
  });

  it('a failing step fails the build with its element, phase, script, exit code and log, and keeps the steps before it cached', async () => {
    const h = await harness('orch-fail');
    const failing = new FakeSandbox(new Set(['install.d 20-count-a']));
    const err = await build(h, {}, failing).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).failure).toMatchObject({ reason: 'hook-failed', element: 'count-a', phase: 'install.d', script: '20-count-a', exitCode: 3, logTail: ['ran install.d 20-count-a'] });
    expect(failing.runs).toEqual(HOOKS.slice(0, 3));
    expect(await readdir(path.join(h.dir, 'build'))).toEqual(['logs']);
    const retry = new FakeSandbox();
    const { outcome } = await build(h, {}, retry);
    expect(retry.runs).toEqual(HOOKS.slice(2));
    expect(statuses(outcome).slice(0, 3)).toEqual(['distro/debian-bookworm cached', 'count-b/root.d/05-count-b cached', 'count-b/install.d/10-count-b cached']);
  });

  it('--refresh makes the base again and, its bytes having changed, runs every step after it', async () => {
    const h = await harness('orch-refresh');
    const cold = await build(h);
    const refreshed = new FakeSandbox();
    const { outcome } = await build(h, { refresh: true }, refreshed);
    expect(h.boots).toBe(2);
    expect(refreshed.runs).toEqual(HOOKS);
    expect(outcome.steps.every((s) => s.status === 'built')).toBe(true);
    // The base keeps its key (same inputs); every later key moves with the new base bytes.
    expect(outcome.steps[0]!.key).toBe(cold.outcome.steps[0]!.key);
    expect(outcome.steps.slice(1).every((s, i) => s.key !== cold.outcome.steps[i + 1]!.key)).toBe(true);
  });

  it('the network steps are keyed with the archive state: built again when the archive moved, cached while it has not', async () => {
    const h = await harness('orch-archive');
    const cold = await build(h);
    h.archive = PUBLISHED;
    const published = new FakeSandbox();
    const moved = await build(h, {}, published);
    expect(h.boots).toBe(2);
    expect(published.runs).toEqual(HOOKS);
    expect(moved.outcome.steps.every((s, i) => s.status === 'built' && s.key !== cold.outcome.steps[i]!.key)).toBe(true);
    const manifest = JSON.parse(await readFile(moved.outcome.manifest.manifest, 'utf8')) as { archive: ArchiveState };
    expect(manifest.archive).toEqual(PUBLISHED);

    // The same state again: every step cached (the first state's layers are still there, too).
    expect((await build(h, {}, new FakeSandbox())).sandboxAsked).toBe(false);
    h.archive = ARCHIVE;
    const back = await build(h, {}, new FakeSandbox());
    expect(back.sandboxAsked).toBe(false);
    expect(back.outcome.steps.map((s) => s.key)).toEqual(cold.outcome.steps.map((s) => s.key));
    expect(h.boots).toBe(2);
  });

  it('an extra-data.d step reads the host: it runs in every build, and the steps after it are cached exactly when it wrote the same bytes', async () => {
    const h = await harness('orch-host', 40 * 2 ** 20);
    await mkdir(path.join(h.elements, 'count-a', 'extra-data.d'));
    await writeFile(path.join(h.elements, 'count-a', 'extra-data.d', '15-host'), '#!/bin/bash\n', { mode: 0o755 });
    const cold = await build(h);
    expect(h.sandbox.runs).toEqual([HOOKS[0], 'extra-data.d 15-host', ...HOOKS.slice(1)]);

    const same = new FakeSandbox();
    const again = await build(h, {}, same);
    expect(same.runs).toEqual(['extra-data.d 15-host']);
    expect(statuses(again.outcome).filter((st) => !st.endsWith(' cached'))).toEqual(['count-a/extra-data.d/15-host built']);
    expect(again.outcome.steps.map((st) => st.key)).toEqual(cold.outcome.steps.map((st) => st.key));
    // The walk went on after it: the last checkpoint replaced the tree instead of every layer being applied.
    expect(again.events.filter((e) => e.type === 'note')).toContainEqual({ type: 'note', message: `started from the tree checkpoint after builtin/finalise-tree: ${HOOKS.length - 1} cached layers not applied again` });
    expect(again.outcome.outputs.map((f) => [f.sha256, f.cached])).toEqual([[cold.outcome.outputs[0]!.sha256, true]]);

    const changed = new FakeSandbox(new Set(), ' read from another host file');
    const third = await build(h, {}, changed);
    expect(changed.runs).toEqual(['extra-data.d 15-host', ...HOOKS.slice(1)]);
    expect(third.outcome.steps[2]!.key).not.toBe(cold.outcome.steps[2]!.key);
    const tar = (await execa('tar', ['-xOf', path.join(h.out, 'count-a.tar'), './var/lib/fake/extra-data.d_15-host'])).stdout;
    expect(tar).toBe('extra-data.d 15-host read from another host file');
  });

  it("images with other volatile paths share the steps whose change held none of the search path's, and key apart the one that held one", async () => {
    const h = await harness('orch-volatile');
    // On the search path, in the second image only: an element declaring what count-a's install.d hook writes volatile.
    await mkdir(path.join(h.elements, 'keeps-state'));
    await writeFile(path.join(h.elements, 'keeps-state', 'volatile-paths'), 'var/lib/fake/install.d_20-*\n');
    const plain = await build(h);
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const graph = unwrap(resolveImage(['count-a', 'keeps-state'], { index: await fixtureIndex(h.elements, REPO_ELEMENTS), distro }));
    const other = new FakeSandbox();
    const withState = await build(h, { graph, imageName: 'with-state' }, other);

    const at = plain.outcome.steps.findIndex((st) => st.id === 'count-a/install.d/20-count-a');
    expect(h.boots).toBe(1);
    expect(other.runs).toEqual(HOOKS.slice(HOOKS.indexOf('install.d 20-count-a')));
    expect(statuses(withState.outcome).slice(0, at)).toEqual(plain.outcome.steps.slice(0, at).map((st) => `${st.id} cached`));
    expect(withState.outcome.steps.slice(0, at).map((st) => st.key)).toEqual(plain.outcome.steps.slice(0, at).map((st) => st.key));
    expect(withState.outcome.steps[at]!.key).not.toBe(plain.outcome.steps[at]!.key);
    expect(await tarList(path.join(h.out, 'count-a.tar'))).toContain('./var/lib/fake/install.d_20-count-a');
    expect(await tarList(path.join(h.out, 'with-state.tar'))).not.toContain('./var/lib/fake/install.d_20-count-a');

    // Neither image took the other's layer of that step: each builds again as a no-op.
    for (const [over, before] of [[{}, plain], [{ graph, imageName: 'with-state' }, withState]] as const) {
      const again = await build(h, over, new FakeSandbox());
      expect(again.sandboxAsked).toBe(false);
      expect(again.outcome.steps.map((st) => st.key)).toEqual(before.outcome.steps.map((st) => st.key));
    }
  });

  it('images whose volatile lists agree on the paths a change held share that step, and the steps after it', async () => {
    const h = await harness('orch-volatile-held');
    await mkdir(path.join(h.elements, 'keeps-state'));
    await writeFile(path.join(h.elements, 'keeps-state', 'volatile-paths'), 'var/lib/fake/install.d_20-*\n');
    // The second image declares one more volatile path, which nothing in count-a's steps matches (mariadb's, beside ssh's).
    await mkdir(path.join(h.elements, 'more-state'));
    await writeFile(path.join(h.elements, 'more-state', 'volatile-paths'), 'var/lib/elsewhere/*\n');
    const distro = unwrap(await loadDistro('debian-bookworm'));
    const index = await fixtureIndex(h.elements, REPO_ELEMENTS);
    const first = await build(h, { graph: unwrap(resolveImage(['count-a', 'keeps-state'], { index, distro })), imageName: 'first' });
    const other = new FakeSandbox();
    const second = await build(h, { graph: unwrap(resolveImage(['count-a', 'keeps-state', 'more-state'], { index, distro })), imageName: 'second' }, other);

    expect(other.runs).toEqual([]);
    expect(second.outcome.steps.map((st) => st.key)).toEqual(first.outcome.steps.map((st) => st.key));
    for (const image of ['first', 'second']) expect(await tarList(path.join(h.out, `${image}.tar`))).not.toContain('./var/lib/fake/install.d_20-count-a');

    // A record damaged in the cache names no key: the step is built again, never taken from another key.
    const store = new LocalLayerStore(h.cacheDir);
    const record = (await store.list()).find((e) => e.kind === VOLATILE_RECORD_KIND)!;
    await store.putLayer(record.key, VOLATILE_RECORD_KIND, Buffer.from('[]'), { image: 'first', step: String(record.metadata.step), matched: ['var/lib/elsewhere/*'] });
    const third = new FakeSandbox();
    await build(h, { graph: unwrap(resolveImage(['count-a', 'keeps-state', 'more-state'], { index, distro })), imageName: 'second' }, third);
    expect(third.runs[0]).toBe('install.d 20-count-a');
  });
});
