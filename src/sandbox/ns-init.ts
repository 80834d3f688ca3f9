// The small program that runs between the sandbox and the command: it makes
// the namespace's mounts (container), writes the step's secrets into their
// tmpfs, makes the host read-only for a command run outside the tree
// (container), sets the hostname, starts the command (chrooted or not) with
// exactly the step's environment, and writes how the command ended to a
// status file. It is plain JavaScript run with `node -e`,
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
  /**
   * Secrets to write into `dir` (a tmpfs, made read-only once written). Each
   * value comes from ns-init's own environment (`fileVar`: base64 of its
   * bytes; `envVar`: its text, when the command gets it as the variable
   * `id`): never from this file, which lies on disk.
   */
  secrets: { dir: string; items: { id: string; fileVar: string; envVar?: string }[] } | null;
  /** Container, command outside the tree: the host read-only but for the tree and these (mount-plan.ts HostView). */
  hostView: { keep: string[]; writable: string[] } | null;
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
const path = require('node:path');
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
// gone: when the mount failed, whether its target has left the namespace since (then there is nothing to do).
const mount = (args, what, gone) => {
  const r = spawnSync(spec.mountBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status === 0 || (gone !== undefined && gone())) return;
  const why = r.error ? r.error.message : String(r.stderr || '').trim();
  report({ setupError: what + ': mount ' + args.join(' ') + ' failed' + (why ? ': ' + why : '') });
  process.exit(125);
};
for (const args of spec.mounts) mount(args, 'the step\'s mounts');
if (spec.hostname !== undefined) {
  try {
    fs.writeFileSync('/proc/sys/kernel/hostname', spec.hostname);
  } catch (e) {
    report({ setupError: 'setting the hostname failed: ' + e.message });
    process.exit(125);
  }
}
const env = { ...spec.env };
if (spec.secrets !== null) {
  for (const item of spec.secrets.items) {
    fs.writeFileSync(spec.secrets.dir + '/' + item.id, Buffer.from(process.env[item.fileVar] || '', 'base64'), { mode: 0o400 });
    if (item.envVar !== undefined) env[item.id] = process.env[item.envVar] || '';
  }
  mount(['-o', 'remount,ro', spec.secrets.dir], 'making the secrets read-only');
}
if (spec.hostView !== null) {
  // The status file's directory first, so that a failure below can still be recorded.
  const statusDir = path.dirname(spec.statusFile);
  const writable = (dir) => {
    mount(['--rbind', dir, dir], 'binding ' + dir + ' writable');
    mount(['-o', 'remount,bind,rw', dir], 'binding ' + dir + ' writable');
  };
  writable(statusDir);
  // mountinfo: id parent major:minor root mount-point options ... - type source super-options
  const mountInfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l !== '').map((line) => {
    const f = line.split(' ');
    return { id: f[0], parent: f[1], at: f[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))), ro: f[5].split(',').includes('ro') };
  });
  const mounts = mountInfo();
  const byId = new Map(mounts.map((m) => [m.id, m]));
  const under = (p, dir) => p === dir || p.startsWith(dir === '/' ? '/' : dir + '/');
  const lineage = (m) => {
    const ids = new Set();
    for (let at = m; at !== undefined && !ids.has(at.id); at = byId.get(at.parent)) ids.add(at.id);
    return ids;
  };
  // Hidden: another mount hangs off its lineage at a path that covers it (mount --mount-proc's /proc over the host's).
  const hidden = (m) => {
    const ids = lineage(m);
    return mounts.some((n) => !ids.has(n.id) && ids.has(n.parent) && under(m.at, n.at));
  };
  // A mount can leave this namespace after the list was read: the host removing its mount point detaches
  // every copy of it (another build ending beside this one). What has gone needs no read-only remount.
  const left = (m) => () => !mountInfo().some((n) => n.id === m.id);
  const keep = [...spec.hostView.keep, statusDir];
  for (const m of mounts) {
    if (m.ro || keep.some((k) => under(m.at, k)) || hidden(m)) continue;
    mount(['-o', 'remount,bind,ro', m.at], 'making the host read-only', left(m));
  }
  for (const dir of spec.hostView.writable) if (dir !== statusDir) writable(dir);
}
const cmd = spec.root === null ? spec.argv : [spec.chrootBin, spec.root, ...spec.argv];
const child = spawn(cmd[0], cmd.slice(1), { env, cwd: spec.cwd, stdio: ['ignore', 'inherit', 'inherit'] });
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
