// The host programs the sandboxes call, found once by absolute path so that
// nothing depends on the PATH of the build (or of the step's environment).
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../failure.js';

const DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const found = new Map<string, string | undefined>();

export async function findTool(name: string): Promise<string | undefined> {
  if (found.has(name)) return found.get(name);
  let hit: string | undefined;
  for (const dir of DIRS) {
    const candidate = path.join(dir, name);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) {
      hit = candidate;
      break;
    }
  }
  found.set(name, hit);
  return hit;
}

/** Like findTool, but a missing tool is a `host-missing` failure naming the Debian package (and the setup command that installs it). */
export async function requireTool(name: string, debianPackage: string, setup = 'scripts/setup'): Promise<string> {
  const hit = await findTool(name);
  if (hit === undefined) {
    throw new FailureError({ reason: 'host-missing', what: name, hint: `apt-get install ${debianPackage} (or run ${setup})` });
  }
  return hit;
}
