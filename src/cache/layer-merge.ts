// Puts a step just built onto the tree by moving its files out of the upper
// dir instead of extracting the layer just packed from it. The result is the
// tree applyLayer would make from that layer (same entries, same rules:
// tree-writer.ts), but a file costs a rename instead of a create and a copy
// of its bytes: the controller's 1.1 GiB package layer lands in seconds.
//
// Only what the walk put in the layer moves (excluded paths, sockets and
// overlay whiteout devices stay behind); directories are made or kept like
// apply does, never moved. A moved inode differs from an extracted one in
// two ways, both undone here: overlayfs' private xattrs
// (trusted.overlay.origin on copied-up files) are removed, and an mtime with
// digits below the microsecond is cut to the microsecond apply can set.
// (atime is left as it was: nothing reads it; outputs drop or pin it.)
// Given the checkpoints' files (shared-files.ts), a moved file that a
// checkpoint already holds, the same in every respect, is replaced by a link
// to the checkpoint's, before the directory mtimes are set.
// The upper dir and the tree must be on one filesystem (the caller checks:
// util/same-filesystem.ts).
import { lutimesSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fail, FailureError, ok, type Result } from '../failure.js';
import type { WalkResult } from './layer-walk.js';
import { UnsafePathError } from './root-path.js';
import { applyMarker, markerOf, subMicro, times, TreeWriter } from './tree-writer.js';
import { SHARE_MIN_LAYER_BYTES, type SharedFiles } from './shared-files.js';
import { removeXattrs } from './xattrs.js';

export interface MergeResult {
  /** Entries placed (markers not counted). */
  entries: number;
  /** Whiteouts and opaque markers applied. */
  markers: number;
  /** Files replaced by a link to a checkpoint's (shared-files.ts), and their bytes. */
  shared: { files: number; bytes: number };
}

/**
 * Moves the layer `walked` (walkLayer's result for `sourceDir`, the same one
 * packed into the layer) onto `rootDir`. `sourceDir` is left holding only
 * what the layer left out and is to be removed by the caller.
 */
export async function mergeLayer(walked: WalkResult, sourceDir: string, rootDir: string, shared?: SharedFiles): Promise<Result<MergeResult>> {
  const root = path.resolve(rootDir);
  const source = path.resolve(sourceDir);
  const fileBytes = walked.entries.reduce((sum, e) => sum + (e.kind === 'file' ? e.size : 0), 0);
  const share = fileBytes >= SHARE_MIN_LAYER_BYTES ? shared : undefined;
  const taken = { files: 0, bytes: 0 };
  try {
    const markers = walked.entries.filter((e) => e.kind === 'whiteout' || e.kind === 'opaque');
    for (const m of markers) applyMarker(root, markerOf(m.path)!);

    const w = new TreeWriter(root);
    const strip = new Map<string, string[]>(); // overlay xattr name -> moved paths that have it
    let entries = 0;
    for (const e of walked.entries) {
      if (e.kind === 'whiteout' || e.kind === 'opaque') continue;
      entries++;
      if (e.kind === 'dir') {
        w.dir(e.path, e);
        continue;
      }
      if (e.kind === 'hardlink') {
        w.link(e.path, e.linkTarget!);
        continue;
      }
      const abs = w.place(e.path);
      renameSync(path.join(source, e.path), abs);
      if (subMicro(e.mtimeNs)) lutimesSync(abs, ...times(e.mtimeNs));
      if (share && e.kind === 'file' && e.xattrs.length === 0 && !walked.overlayXattrs.has(e.path) && (await share.take(e.path, abs))) {
        taken.files++;
        taken.bytes += e.size;
      }
      for (const name of walked.overlayXattrs.get(e.path) ?? []) {
        const paths = strip.get(name) ?? [];
        paths.push(abs);
        strip.set(name, paths);
      }
    }
    for (const [name, paths] of strip) await removeXattrs(paths, [name]);
    await w.finish();
    return ok({ entries, markers: markers.length, shared: taken });
  } catch (err) {
    if (err instanceof FailureError) return fail(err.failure);
    if (err instanceof UnsafePathError) return fail({ reason: 'layer-invalid', entry: '', message: err.message });
    return fail({ reason: 'io', what: `moving ${source} onto ${root}`, message: (err as Error).message });
  }
}
