// A cloud-init NoCloud seed for a test boot: a small vfat disk labelled
// CIDATA holding the caller's user-data and a meta-data naming the instance
// (cloud-init's NoCloud datasource finds it by that label), made from files
// like the ESP (src/image/esp.ts), without mounting anything.
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { makeVfat } from '../image/esp.js';
import type { LogFn } from '../process/run.js';

/** FAT32 needs 65525 clusters: 64 MiB of one-sector clusters is safely above that (the file is sparse). */
const SEED_BYTES = 64 * 1024 * 1024;
export const SEED_INSTANCE_ID = 'imgfactory-test';

/** Writes `<workDir>/seed.img` with `userData` as its user-data; the file's path. */
export async function makeNoCloudSeed(userData: string, workDir: string, onLog?: LogFn): Promise<Result<string>> {
  const files = path.join(workDir, 'seed-files');
  const userCopy = path.join(workDir, 'user-data');
  try {
    await copyFile(userData, userCopy);
  } catch (e) {
    return fail({ reason: 'usage', message: `--user-data ${userData}: ${(e as Error).message}` });
  }
  const meta = path.join(workDir, 'meta-data');
  await writeFile(meta, `instance-id: ${SEED_INSTANCE_ID}\nlocal-hostname: ${SEED_INSTANCE_ID}\n`);
  const file = path.join(workDir, 'seed.img');
  const made = await makeVfat({
    file,
    bytes: SEED_BYTES,
    label: 'cidata',
    volumeId: 'c1da7a00',
    files: { 'user-data': userCopy, 'meta-data': meta },
    sourceDateEpoch: 0,
    stageDir: files,
    ...(onLog ? { onLog } : {}),
  });
  return made.ok ? ok(file) : made;
}
