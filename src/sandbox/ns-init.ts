// The small program that runs between the sandbox and the command: it makes
// the namespace's mounts (container), sets the hostname, starts the command
// (chrooted or not) with exactly the step's environment, and writes how the
// command ended to a status file. It is plain JavaScript run with `node -e`,
// so it works the same from compiled code and from tests; as PID 1 of a PID
// namespace it ignores SIGTERM/SIGINT (the command gets them), and when it
// exits the kernel kills whatever the command left behind in the namespace.
// When imgfactory itself dies (fd 3 reads EOF) it kills its process group.
import { writeFile } from 'node:fs/promises';

/** What ns-init reads from the spec file named by its only argument. */
export interface InitSpec {
  mountBin: string;
  /** mount(8) argument lists, run in order before the command (container only). */
  mounts: string[][];
  hostname?: string;
  /** Chroot into this directory (through chrootBin) before running argv; null: run argv as is. */
  root: string | null;
  chrootBin: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Where InitStatus is written as JSON. */
  statusFile: string;
}

/** How the command ended, or why it never started. */
export type InitStatus = { exitCode: number | null; signal: string | null } | { setupError: string };

/** Environment for the init process itself (the step's env goes to the command only). */
export const INIT_ENV: Record<string, string> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

export async function writeInitSpec(file: string, spec: InitSpec): Promise<void> {
  await writeFile(file, JSON.stringify(spec), { mode: 0o600 });
}

export const NS_INIT_SOURCE = String.raw`
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const spec = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
const report = (status) => {
  try {
    fs.writeFileSync(spec.statusFile, JSON.stringify(status));
  } catch (e) {
    // A full disk, most likely: say so in one line; imgfactory then goes by this exit.
    process.stderr.write('imgfactory sandbox: cannot record how the command ended: ' + e.message + '\n');
    process.exit(125);
  }
};
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => {});
// fd 3: the lifeline from imgfactory. EOF means it died (even by SIGKILL): take the whole group down.
try {
  const life = new (require('node:net').Socket)({ fd: 3, readable: true, writable: false });
  life.on('data', () => {});
  life.on('end', () => process.kill(0, 'SIGKILL'));
  life.on('error', () => process.kill(0, 'SIGKILL'));
  life.unref();
} catch (e) {}
for (const args of spec.mounts) {
  const r = spawnSync(spec.mountBin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    report({ setupError: 'mount ' + args.join(' ') + ' failed' + (r.error ? ': ' + r.error.message : '') });
    process.exit(125);
  }
}
if (spec.hostname !== undefined) {
  try {
    fs.writeFileSync('/proc/sys/kernel/hostname', spec.hostname);
  } catch (e) {
    report({ setupError: 'setting the hostname failed: ' + e.message });
    process.exit(125);
  }
}
const cmd = spec.root === null ? spec.argv : [spec.chrootBin, spec.root, ...spec.argv];
const child = spawn(cmd[0], cmd.slice(1), { env: spec.env, cwd: spec.cwd, stdio: ['ignore', 'inherit', 'inherit'] });
child.on('error', (e) => {
  process.stderr.write('imgfactory sandbox: cannot run ' + cmd[0] + ': ' + e.message + '\n');
  report({ exitCode: 127, signal: null });
  process.exit(0);
});
child.on('exit', (exitCode, signal) => {
  report({ exitCode, signal });
  process.exit(0);
});
`;
