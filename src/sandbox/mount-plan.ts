// The mounts one step needs, as data: the overlay, /proc, /sys, /dev,
// /dev/pts, the caller's binds, the resolver and the secrets' tmpfs, in mount
// order (or, for a read-only step, one read-only bind of the tree and nothing
// else; for a step with no tree, nothing). The chroot sandbox performs them in
// the host namespace (recording each first), the container sandbox inside its
// own mount namespace; both undo them in reverse. For a step run outside the
// tree the container sandbox also makes the host read-only but for the step's
// own directories (hostView).
//
//   <scratch>/shadow        mount points the tree lacks, and a policy-rc.d that
//                           keeps package scripts from starting services (shadow-layer.ts)
//   <scratch>/resolv.conf   private copy of the host's resolver config
//   <scratch>/tmp, secrets/, init/   TMPDIR, the secrets' tmpfs and ns-init's status
//                           of a step run outside the tree (step.ts ScratchLayout);
//                           inside, the secrets are at /run/secrets in the tree
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { buildShadowLayer, type ShadowEntry } from './shadow-layer.js';
import { resolveInTree } from '../util/tree-path.js';
import type { Secret } from '../secrets/secret.js';
import { IN_TREE_SECRETS, scratchLayout, type HostRun, type ReadOnlyRun, type StepRun } from './step.js';

/** One call of mount(8). */
export interface MountOp {
  args: string[];
  /** Absolute path (in the namespace that mounts it). */
  target: string;
  /** True when the call makes a new mount at target (undone with umount); false for remounts and propagation changes. */
  creates: boolean;
  /** The tmpfs that receives the step's secrets (ns-init writes them there). */
  role?: 'secrets';
}

/**
 * How a command run outside the tree sees the host (container sandbox only):
 * every mount read-only except those at or below `keep` (the tree), then each
 * of `writable` bound writable again.
 */
export interface HostView {
  keep: string[];
  writable: string[];
}

interface MountPoint {
  inside: string;
  kind: 'dir' | 'file';
  ops: (target: string) => MountOp[];
}

const PSEUDO = ['/proc', '/sys', '/dev'];
const POLICY_RC_D = '#!/bin/sh\n# imgfactory sandbox: no service starts while the image is built\nexit 101\n';

/** Resolves every mount point in the tree, builds the shadow layer if needed, and returns the mount calls. */
export async function planMounts(step: StepRun, scratchDir: string): Promise<Result<MountOp[]>> {
  const scratch = scratchLayout(scratchDir);
  if (!step.inside) await mkdir(scratch.tmp, { recursive: true });
  if (step.tree === 'read-only') return planReadOnly(step);
  if (step.tree === 'none') return planNone(step);
  const shadowDir = path.join(scratchDir, 'shadow');
  for (const dir of [step.lowerDir, step.upperDir, step.workDir, shadowDir]) {
    if (/[,:\\]/.test(dir)) return fail({ reason: 'usage', message: `overlayfs cannot take a path containing ',', ':' or '\\': ${dir}` });
  }
  const points: MountPoint[] =
    step.pseudoFs === false
      ? []
      : [
          { inside: '/proc', kind: 'dir', ops: (t) => [op(['-t', 'proc', '-o', 'nosuid,nodev,noexec', 'proc', t], t)] },
          { inside: '/sys', kind: 'dir', ops: (t) => privateBind('/sys', t, false) },
          { inside: '/dev', kind: 'dir', ops: (t) => privateBind('/dev', t, false) },
          { inside: '/dev/pts', kind: 'dir', ops: (t) => privateBind('/dev/pts', t, false) },
        ];
  for (const bind of step.binds) {
    const st = await stat(bind.source).catch(() => undefined);
    if (st === undefined) return fail({ reason: 'io', what: `bind source ${bind.source}`, message: 'does not exist' });
    const inside = path.posix.resolve('/', bind.target);
    points.push({ inside, kind: st.isDirectory() ? 'dir' : 'file', ops: (t) => privateBind(bind.source, t, bind.readOnly) });
  }
  if (step.resolver) {
    const copy = path.join(scratchDir, 'resolv.conf');
    await copyFile('/etc/resolv.conf', copy).catch(() => writeFile(copy, ''));
    points.push({ inside: '/etc/resolv.conf', kind: 'file', ops: (t) => privateBind(copy, t, false) });
  }
  const secrets = step.secrets ?? [];
  if (secrets.length > 0 && step.inside) points.push({ inside: IN_TREE_SECRETS, kind: 'dir', ops: (t) => [secretsTmpfs(t, secrets)] });

  const shadow: ShadowEntry[] = [];
  const ops: MountOp[] = [];
  for (const point of points) {
    let rel: string;
    if (PSEUDO.some((p) => point.inside.startsWith(`${p}/`))) {
      rel = point.inside.slice(1); // lives on a bound host filesystem, not in the tree
    } else {
      const found = await resolveInTree(step.lowerDir, point.inside, point.kind === 'dir');
      rel = found.rel;
      const fits = point.kind === 'dir' ? found.type === 'dir' : found.type === 'file';
      if (found.type === 'missing' || (point.kind === 'file' && found.type === 'symlink')) shadow.push({ rel, kind: point.kind });
      else if (!fits) {
        const what = found.type === 'other' ? 'neither a file nor a directory (a device, socket, FIFO or a symlink loop)' : `a ${found.type}`;
        return fail({ reason: 'usage', message: `mount point ${point.inside} in the tree is ${what}; a ${point.kind === 'dir' ? 'directory' : 'file'} is needed there` });
      }
    }
    ops.push(...point.ops(path.join(step.mergedDir, rel)));
  }

  // Debian's invoke-rc.d asks /usr/sbin/policy-rc.d; exit 101 = "not allowed". Only while the step runs.
  const policy = await resolveInTree(step.lowerDir, '/usr/sbin/policy-rc.d', false);
  if (policy.type === 'missing') shadow.push({ rel: policy.rel, kind: 'file', content: POLICY_RC_D, mode: 0o755 });

  let lowers = step.lowerDir;
  if (shadow.length > 0) {
    const built = await buildShadowLayer(step.lowerDir, shadow, shadowDir);
    if (!built.ok) return built;
    lowers = `${shadowDir}:${step.lowerDir}`;
  }
  // metacopy and redirect_dir off: every changed file is whole in the upper dir, so the layer stands alone.
  const options = `lowerdir=${lowers},upperdir=${step.upperDir},workdir=${step.workDir},redirect_dir=off,metacopy=off`;
  const overlay = op(['-t', 'overlay', '-o', options, 'overlay', step.mergedDir], step.mergedDir);
  if (secrets.length > 0 && !step.inside) {
    await mkdir(scratch.secrets, { recursive: true });
    ops.push(secretsTmpfs(scratch.secrets, secrets));
  }
  return ok([overlay, ...ops]);
}

/**
 * A private tmpfs for the secrets: in memory only, never under the overlay's
 * upper dir, so no layer can hold it; room for each value and its file.
 */
function secretsTmpfs(target: string, secrets: readonly Secret[]): MountOp {
  const size = secrets.reduce((n, s) => n + s.reveal().length + 4096, 4096);
  return { ...op(['-t', 'tmpfs', '-o', `mode=0700,size=${size},nosuid,nodev,noexec`, 'imgfactory-secrets', target], target), role: 'secrets' };
}

/** Where the plan puts the step's secrets (the target of its secrets tmpfs), null when it has none. */
export function secretsDir(ops: readonly MountOp[]): string | null {
  return ops.find((o) => o.role === 'secrets')?.target ?? null;
}

/**
 * How a step run outside the tree sees the host; null for one run inside (the
 * chroot hides the host). A step with no tree writes the tree itself, at
 * mergedDir, which is then no mount of its own: it is bound writable.
 */
export function hostView(step: StepRun, scratchDir: string): HostView | null {
  if (step.inside) return null;
  const scratch = scratchLayout(scratchDir);
  const tree = step.tree === 'none' ? [step.mergedDir] : [];
  return { keep: [step.mergedDir], writable: [...tree, scratch.init, scratch.tmp, ...(step.hostWritable ?? [])] };
}

/** No tree: the command makes it, so nothing is mounted for it. */
function planNone(step: HostRun): Result<MountOp[]> {
  if (step.binds.length > 0 || step.resolver || (step.secrets ?? []).length > 0) return fail({ reason: 'usage', message: 'a step with no tree takes no binds, no resolver and no secrets' });
  return ok([]);
}

/** The tree at mergedDir, read-only: nothing to write to, so no layer, no shadow, no pseudo-filesystems. */
function planReadOnly(step: ReadOnlyRun): Result<MountOp[]> {
  if (step.binds.length > 0 || step.resolver || (step.secrets ?? []).length > 0) return fail({ reason: 'usage', message: 'a read-only step takes no binds, no resolver and no secrets' });
  return ok(privateBind(step.lowerDir, step.mergedDir, true));
}

function op(args: string[], target: string, creates = true): MountOp {
  return { args, target, creates };
}

/** A bind that is cut from the source's propagation group, so nothing mounted under it reaches the host. */
function privateBind(source: string, target: string, readOnly: boolean): MountOp[] {
  const ops = [op(['--bind', source, target], target), op(['--make-private', target], target, false)];
  if (readOnly) ops.push(op(['-o', 'remount,bind,ro', target], target, false));
  return ops;
}
