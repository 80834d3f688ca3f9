// The mount-point layer: a small directory stacked between the upper dir and
// the root tree as an extra overlay lower layer, holding the mount points the
// tree lacks (e.g. /tmp/in_target.d, /etc/resolv.conf). Because they live in a
// lower layer, creating them writes nothing to the upper dir, so the step's
// layer holds only what the command itself changed.
//
//   merged  =  upper  over  shadow  over  lower
//   shadow/            <- metadata of lower/ (mode, owner, times, xattrs)
//     tmp/             <- metadata of lower/tmp
//       in_target.d/   <- new, empty: a mount point
//
// Every directory of the shadow that also exists in the tree carries the
// tree's metadata (copied with GNU tar, --no-recursion), since overlayfs shows
// the topmost layer's attributes for a merged directory and copies them up.
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { run } from '../process/run.js';

export interface ShadowEntry {
  /** Path relative to the tree root, already resolved with resolveInTree. */
  rel: string;
  kind: 'dir' | 'file';
  /** For files: content and mode (default: empty, 0644). */
  content?: string;
  mode?: number;
}

/** Creates `shadowDir` holding `entries`; the caller removes it after the step. */
export async function buildShadowLayer(lowerDir: string, entries: ShadowEntry[], shadowDir: string): Promise<Result<void>> {
  await mkdir(shadowDir, { recursive: true, mode: 0o755 });
  const ancestors = new Set<string>(['']);
  for (const entry of entries) {
    const parts = entry.rel.split('/');
    for (let i = 1; i < parts.length; i++) ancestors.add(parts.slice(0, i).join('/'));
    const full = path.join(shadowDir, entry.rel);
    await mkdir(path.dirname(full), { recursive: true, mode: 0o755 });
    if (entry.kind === 'dir') await mkdir(full, { recursive: true, mode: 0o755 });
    else await writeFile(full, entry.content ?? '', { mode: entry.mode ?? 0o644 });
  }
  const inTree: string[] = [];
  for (const rel of [...ancestors].sort()) {
    const st = await lstat(path.join(lowerDir, rel)).catch(() => undefined);
    if (st?.isDirectory()) inTree.push(rel === '' ? '.' : `./${rel}`);
  }
  const xattrs = ['--xattrs', '--xattrs-include=*', '--xattrs-exclude=trusted.overlay.*'];
  const packed = await run(
    'tar',
    ['--create', '--file=-', `--directory=${lowerDir}`, '--no-recursion', '--numeric-owner', '--format=posix', ...xattrs, '--', ...inTree],
    { binary: true, check: false },
  );
  if (!packed.ok) return packed;
  if (packed.value.exitCode !== 0) return fail({ reason: 'io', what: `reading metadata from ${lowerDir}`, message: packed.value.stderr });
  const unpacked = await run(
    'tar',
    ['--extract', '--file=-', `--directory=${shadowDir}`, '--numeric-owner', '--same-owner', '--same-permissions', '--overwrite-dir', ...xattrs],
    { input: packed.value.stdoutBytes, check: false },
  );
  if (!unpacked.ok) return unpacked;
  if (unpacked.value.exitCode !== 0) return fail({ reason: 'io', what: `writing mount points to ${shadowDir}`, message: unpacked.value.stderr.trimEnd() });
  return ok(undefined);
}
