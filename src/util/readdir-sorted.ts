// A directory's entry names in code-unit order, or none when it does not
// exist (or is not a directory): how the cache walks its fan-out folders.
import { readdir } from 'node:fs/promises';

export async function readdirSorted(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}
