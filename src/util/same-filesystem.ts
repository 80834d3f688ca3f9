// Whether two paths are on one filesystem: what hard links (tree checkpoints)
// and renames (moving a built step onto the tree) need.
import { stat } from 'node:fs/promises';

/** True when both `a` and `b` exist and are on the same filesystem. */
export async function sameFilesystem(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a).catch(() => null), stat(b).catch(() => null)]);
  return x !== null && y !== null && x.dev === y.dev;
}
