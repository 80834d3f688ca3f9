// A config drive for `imgfactory boot`: a small vfat disk labelled
// `config-2`, laid out as Nova writes one, from files (no mount):
//
//   openstack/latest/meta_data.json   uuid, name, hostname: cloud-init's
//                                     ConfigDrive datasource names the node
//   ec2/latest/meta-data.json         instance-id, hostname and the node's
//                                     metadata: os-collect-config's ec2
//                                     collector reads a config-2 drive's
//                                     copy, so the first refresh has it all
//
// The label keeps its case: os-collect-config compares it exactly.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ok, type Result } from '../failure.js';
import { makeVfat } from '../image/esp.js';
import type { LogFn } from '../process/run.js';

/** FAT32 needs 65525 clusters: 64 MiB of one-sector clusters is safely above that (the file is sparse). */
const DRIVE_BYTES = 64 * 1024 * 1024;
export const CONFIG_DRIVE_LABEL = 'config-2';

export interface ConfigDrive {
  instanceId: string;
  hostname: string;
  /** The node's metadata (a JSON object). */
  metadata: Record<string, unknown>;
}

/** Writes `<workDir>/config-drive.img`; the file's path. */
export async function makeConfigDrive(c: ConfigDrive, workDir: string, onLog?: LogFn): Promise<Result<string>> {
  const openstack = path.join(workDir, 'meta_data.json');
  const ec2 = path.join(workDir, 'meta-data.json');
  await writeFile(openstack, JSON.stringify({ uuid: c.instanceId, name: c.hostname, hostname: c.hostname, launch_index: 0, meta: {} }), { mode: 0o600 });
  await writeFile(ec2, JSON.stringify({ ...c.metadata, 'instance-id': c.instanceId, hostname: c.hostname }), { mode: 0o600 });
  const file = path.join(workDir, 'config-drive.img');
  const made = await makeVfat({
    file,
    bytes: DRIVE_BYTES,
    label: CONFIG_DRIVE_LABEL,
    keepLabelCase: true,
    volumeId: 'c0f16002',
    files: { 'openstack/latest/meta_data.json': openstack, 'ec2/latest/meta-data.json': ec2 },
    sourceDateEpoch: 0,
    stageDir: path.join(workDir, 'config-drive-files'),
    ...(onLog ? { onLog } : {}),
  });
  return made.ok ? ok(file) : made;
}
