// The mounts one step needs, as data: the overlay, /proc, /sys, /dev,
// /dev/pts, the caller's binds and the resolver, in mount order (or, for a
// read-only step, one read-only bind of the tree and nothing else; for a
// step with no tree, nothing). The chroot sandbox performs them in the host
// namespace (recording each first), the container sandbox inside its own
// mount namespace; both undo them in reverse.
//
//   <scratch>/shadow        mount points the tree lacks, and a policy-rc.d that
//                           keeps package scripts from starting services (shadow-layer.ts)
//   <scratch>/resolv.conf   private copy of the host's resolver config
import { copyFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { buildShadowLayer, type ShadowEntry } from './shadow-layer.js';
import { resolveInTree } from './tree-path.js';
import type { HostRun, ReadOnlyRun, StepRun } from './step.js';

/** One call of mount(8). */
export interface MountOp {
  args: string[];
  /** Absolute path (in the namespace that mounts it). */
  target: string;
  /** True when the call makes a new mount at target (undone with umount); false for remounts and propagation changes. */
  creates: boolean;
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
  return ok([overlay, ...ops]);
}

/** No tree: the command makes it, so nothing is mounted for it. */
function planNone(step: HostRun): Result<MountOp[]> {
  if (step.binds.length > 0 || step.resolver) return fail({ reason: 'usage', message: 'a step with no tree takes no binds and no resolver' });
  return ok([]);
}

/** The tree at mergedDir, read-only: nothing to write to, so no layer, no shadow, no pseudo-filesystems. */
function planReadOnly(step: ReadOnlyRun): Result<MountOp[]> {
  if (step.binds.length > 0 || step.resolver) return fail({ reason: 'usage', message: 'a read-only step takes no binds and no resolver' });
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
