// The fault matrix: a build is stopped in each long phase (the bootstrap, a
// hook in either sandbox, packing a layer, assembling a disk image,
// publishing an output) by each of SIGINT (to its process group, as a
// terminal's Ctrl-C), SIGTERM (to the process, as kill and service managers
// send it), SIGKILL of the process and SIGKILL of its process group. After
// each: no process the build started still runs, nothing is mounted below its
// directories in any mount namespace (the chroot sandbox's mounts after a
// kill: once the next build ran), `imgfactory cache verify` is clean, an
// interrupted build exited 130 or 143 with one line saying what it was doing
// and left no temp file, and the next build succeeds (and, after a kill,
// cleans up what is left).
//
// The build is held in the phase by the test-only pause (src/process/
// test-pause.ts; the hook rows by a fixture hook that waits). Each case has a
// workspace of its own holding a copy of the shared base cache; only the
// bootstrap row runs mmdebstrap (with --refresh, until its extract hook
// pauses it). The four cases of a phase run side by side.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { BIN, imgfactory } from '../support/imgfactory.js';
import { descendantsOf, mountsUnderAnywhere, stillRunning, untilEmpty, type Proc } from '../support/leftovers.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const ELEMENTS = path.join(FIXTURES, 'elements', 'faults');
const PLAIN_DISK = path.join(FIXTURES, 'layouts', 'plain-gpt.yaml');
const LONG = scaled(600_000);

type Phase = 'bootstrap' | 'hook' | 'hook in the chroot sandbox' | 'pack' | 'assembly' | 'publish';
type Stop = 'SIGINT' | 'SIGTERM' | 'SIGKILL' | 'SIGKILL of the group';

interface Row {
  /** Extra build arguments for the interrupted build only. */
  args?: string[];
  /** Extra environment for the interrupted build only. */
  env?: Record<string, string>;
  /** The test-only pause point (src/process/test-pause.ts), if the phase needs one. */
  pause?: string;
  /** Output types. */
  types: string;
  /** What the interrupted build says it was doing. */
  during: RegExp;
  /** Whether programs run in the phase (packing and publishing are imgfactory's own work). */
  programs: boolean;
  /**
   * The chroot sandbox mounts in the host's namespace: after a kill its
   * mounts stay until the next build removes them (its processes die with
   * imgfactory all the same).
   */
  mountsOutliveKill?: boolean;
}

const ROWS: Record<Phase, Row> = {
  bootstrap: { args: ['--refresh'], pause: 'bootstrap', types: 'tar', during: /while making the base tree \(distro\/debian-bookworm\)/, programs: true },
  hook: { env: { DIB_FAULT_WAIT: '1' }, types: 'tar', during: /while running fault\/install\.d\/50-fault/, programs: true },
  'hook in the chroot sandbox': {
    args: ['--sandbox', 'chroot'],
    env: { DIB_FAULT_WAIT: '1' },
    types: 'tar',
    during: /while running fault\/install\.d\/50-fault/,
    programs: true,
    mountsOutliveKill: true,
  },
  pack: { pause: 'pack', types: 'tar', during: /while packing the layer of fault\/install\.d\/50-fault/, programs: false },
  assembly: { pause: 'assembly', types: 'raw', during: /while assembling the disk image/, programs: true },
  publish: { pause: 'publish', types: 'tar', during: /while publishing \S+fault\.tar/, programs: false },
};

const STOPS: Stop[] = ['SIGINT', 'SIGTERM', 'SIGKILL', 'SIGKILL of the group'];

interface Workspace {
  dir: string;
  cache: string;
  out: string;
  build: string;
  /** Build arguments; `run` names the case (a declared variable, so in the keys of every step after the base). */
  args: (run: string, types: string) => string[];
}

async function workspace(name: string): Promise<Workspace> {
  const dir = await scratchDir(name);
  const cache = await cacheWithBase(path.join(dir, 'cache'));
  const out = path.join(dir, 'out');
  const build = path.join(dir, 'build');
  return {
    dir,
    cache,
    out,
    build,
    args: (run, types) => ['build', 'fault', '--elements-path', ELEMENTS, '--cache-dir', cache, '--build-dir', build, '-o', out, '--scratch', 'disk', '-t', types, '--block-device', PLAIN_DISK, '--env', `FAULT_RUN=${run}`],
  };
}

/** Starts an interrupted-to-be build as the leader of its own process group. */
function startBuild(args: string[], env: Record<string, string>): ResultPromise<{ reject: false; all: true; detached: true }> {
  return execa('node', [BIN, ...args], { reject: false, all: true, detached: true, env: { CI: 'true', ...env } }) as never;
}

/** Resolves once the build is in the phase: the pause marker exists, or the fixture hook said it waits. */
async function inPhase(child: ResultPromise<{ reject: false; all: true; detached: true }>, marker: string | null): Promise<string> {
  let seen = '';
  child.all!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  let ended = false;
  void child.then(() => (ended = true));
  for (;;) {
    if (marker !== null ? existsSync(marker) : seen.includes('fault hook waiting')) return seen;
    if (ended) throw new Error(`the build ended before it reached the phase:\n${seen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function send(stop: Stop, pid: number): void {
  if (stop === 'SIGINT') process.kill(-pid, 'SIGINT'); // the whole group, as a terminal does
  else if (stop === 'SIGTERM') process.kill(pid, 'SIGTERM');
  else if (stop === 'SIGKILL') process.kill(pid, 'SIGKILL');
  else process.kill(-pid, 'SIGKILL');
}

/** Temp names (src/util/atomic-write.ts) anywhere below `dir`. */
async function tempNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => path.basename(e).includes('.tmp-'));
}

/** What is left in the build directory besides the logs and the (empty) sandbox records. */
async function buildDirsLeft(build: string): Promise<string[]> {
  const names = await readdir(build).catch(() => [] as string[]);
  const records = await readdir(path.join(build, '.sandbox', 'sandbox')).catch(() => [] as string[]);
  return [...names.filter((n) => n !== 'logs' && n !== '.sandbox'), ...records.map((r) => `.sandbox/sandbox/${r}`)];
}

for (const [phase, row] of Object.entries(ROWS) as [Phase, Row][]) {
  // The four ways of stopping run side by side, each on its own workspace: the phases one after another.
  describe.concurrent(`stopping a build while ${phase.startsWith('hook') ? `a ${phase} runs` : `in the ${phase} phase`}`, () => {
    for (const stop of STOPS) {
      it(
        `${stop}: nothing left running or mounted, the cache verifies${stop.startsWith('SIGKILL') ? '' : `, exit ${stop === 'SIGINT' ? 130 : 143} with one line`}, and the next build succeeds`,
        async ({ expect }) => {
          const run = stop.replace(/\W+/g, '-');
          const w = await workspace(`faults-${phase.replace(/\W+/g, '-')}-${run}`);
          const marker = row.pause ? path.join(w.dir, 'pause.reached') : null;
          const env = { ...row.env, ...(row.pause ? { IMGFACTORY_TEST_PAUSE: `${row.pause}:${marker}` } : {}) };
          const child = startBuild([...w.args(run, row.types), ...(row.args ?? [])], env);
          const seen = await inPhase(child, marker);
          const started: Proc[] = await descendantsOf(child.pid!);
          if (row.programs) expect(started.length, seen).toBeGreaterThan(0);

          send(stop, child.pid!);
          const r = await child;
          if (stop.startsWith('SIGKILL')) {
            expect(r.signal).toBe('SIGKILL');
          } else {
            const stderr = String(r.all);
            expect(r.exitCode, stderr).toBe(stop === 'SIGINT' ? 130 : 143);
            expect(stderr.match(/^error: .*$/gm), stderr).toEqual([expect.stringMatching(new RegExp(`^error: interrupted by ${stop} ${row.during.source}`))]);
            expect(await tempNames(w.out)).toEqual([]);
            expect(await tempNames(path.join(w.cache, 'tmp'))).toEqual([]);
            expect(await buildDirsLeft(w.build)).toEqual([]);
          }
          expect(await untilEmpty(() => stillRunning(started))).toEqual([]);
          if (!(row.mountsOutliveKill && stop.startsWith('SIGKILL'))) expect(await untilEmpty(() => mountsUnderAnywhere(w.dir))).toEqual([]);
          const verify = await imgfactory(['cache', 'verify', '--cache-dir', w.cache]);
          expect(verify.exitCode, verify.stderr).toBe(0);

          const next = await imgfactory(w.args(run, row.types));
          expect(next.exitCode, next.stderr).toBe(0);
          if (stop.startsWith('SIGKILL')) expect(next.stderr).toMatch(/cleaned up after an earlier build: removed the build directory/);
          if (row.mountsOutliveKill && stop.startsWith('SIGKILL')) expect(next.stderr).toMatch(/cleaned up after an earlier build: unmounted/);
          expect(existsSync(path.join(w.out, `fault.${row.types}`))).toBe(true);
          expect(await tempNames(w.out)).toEqual([]);
          expect(await buildDirsLeft(w.build)).toEqual([]);
          expect(await mountsUnderAnywhere(w.dir)).toEqual([]);
        },
        LONG,
      );
    }
  });
}
