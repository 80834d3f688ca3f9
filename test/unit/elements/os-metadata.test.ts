// os-metadata (elements/os-apply-config), run by a real python3 on a scratch
// root. `gate`: each unit a refresh script names in restart-if-changed gets
// the drop-in that holds it until the metadata is applied, and a unit named
// through a variable is refused naming the script and line.
// `restart-if-changed`: restarts when the files changed, records that only
// once every unit is up, and a unit that does not start is named in one line.
// os_apply_config is not on the host: a stub stands in for the import
// os-metadata makes. systemd does not run here: a systemctl script on PATH
// plays it (which units start, which fail) and logs what it was asked.
import { execa } from 'execa';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../support/run-dir.js';

const OS_METADATA = path.join(import.meta.dirname, '..', '..', '..', 'elements/os-apply-config/static/usr/local/bin/os-metadata');

/** A directory whose os_apply_config package satisfies os-metadata's import. */
async function stubImport(dir: string): Promise<string> {
  const stub = path.join(dir, 'stub', 'os_apply_config');
  await mkdir(stub, { recursive: true });
  await writeFile(path.join(stub, '__init__.py'), '');
  await writeFile(path.join(stub, 'collect_config.py'), '');
  return path.dirname(stub);
}

async function gate(scripts: Record<string, string>) {
  const dir = await scratchDir('os-metadata-gate');
  const pythonPath = await stubImport(dir);
  const root = path.join(dir, 'root');
  for (const [rel, text] of Object.entries(scripts)) {
    await mkdir(path.dirname(path.join(root, 'usr/libexec/os-refresh-config', rel)), { recursive: true });
    await writeFile(path.join(root, 'usr/libexec/os-refresh-config', rel), text);
  }
  const r = await execa('python3', [OS_METADATA, 'gate', '--root', root], { env: { PYTHONPATH: pythonPath }, reject: false });
  return { root, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('os-metadata gate', () => {
  it('gives every unit a refresh script restarts the applied-metadata condition, and time to be ready', async () => {
    const r = await gate({ 'post-configure.d/60-a': '#!/bin/bash\nos-metadata restart-if-changed a.service b.service -- /etc/a.conf\n', 'configure.d/30-c': 'os-metadata restart-if-changed "c.service" -- /etc/c\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['a.service', 'b.service', 'c.service']);
    for (const unit of ['a.service', 'b.service', 'c.service']) {
      const dropIn = await readFile(path.join(r.root, 'etc/systemd/system', `${unit}.d`, '10-os-metadata-applied.conf'), 'utf8');
      expect(dropIn).toMatch(/^\[Unit\]\nConditionPathExists=\/var\/lib\/os-metadata\/applied$/m);
      // nova-conductor (Type=notify) took longer than systemd's 90 s to be ready on the emulated controller.
      expect(dropIn).toMatch(/^\[Service\]\nTimeoutStartSec=15min\n$/m);
    }
  });

  it('refuses a unit named through a variable, naming the script and line', async () => {
    const r = await gate({ 'post-configure.d/60-swift': '#!/bin/bash\nfor s in a b; do\n  os-metadata restart-if-changed "swift-$s.service" -- /etc/x\ndone\n' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("os-metadata gate: usr/libexec/os-refresh-config/post-configure.d/60-swift line 3: restart-if-changed names 'swift-$s.service'; name each unit literally (NAME.service)");
  });
});

describe('os-metadata restart-if-changed', () => {
  // `failing` units do not start: systemctl restart exits 1 and is-active says so, as systemd does.
  async function node(failing: string[]) {
    const dir = await scratchDir('os-metadata-restart');
    const pythonPath = await stubImport(dir);
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    const log = path.join(dir, 'systemctl.log');
    const up = path.join(dir, 'up');
    await writeFile(
      path.join(bin, 'systemctl'),
      [
        '#!/bin/sh',
        `echo "$*" >> ${log}`,
        `failing=" ${failing.join(' ')} "`,
        'case "$1" in',
        `  restart) shift; status=0; for u in "$@"; do case "$failing" in *" $u "*) status=1;; *) echo "$u" >> ${up};; esac; done; exit $status;;`,
        `  is-active) grep -qx "$3" ${up} 2>/dev/null;;`,
        'esac',
        '',
      ].join('\n'),
    );
    await chmod(path.join(bin, 'systemctl'), 0o755);
    const conf = path.join(dir, 'nova.conf');
    await writeFile(conf, 'a\n');
    const run = async (units: string[]) => {
      const r = await execa('python3', [OS_METADATA, 'restart-if-changed', ...units, '--', conf], {
        env: { PYTHONPATH: pythonPath, PATH: `${bin}:${process.env.PATH}`, OS_METADATA_STATE_DIR: path.join(dir, 'state') },
        reject: false,
      });
      const calls = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('restart'));
      await writeFile(log, '');
      return { ...r, restarts: calls };
    };
    return { run, conf };
  }

  it('restarts when the files changed, and not again until they change', async () => {
    const n = await node([]);
    const first = await n.run(['nova-api.service', 'nova-conductor.service']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.restarts).toEqual(['restart nova-api.service nova-conductor.service']);
    expect(first.stdout).toBe('os-metadata: restarting nova-api.service nova-conductor.service (configuration changed)');
    expect((await n.run(['nova-api.service', 'nova-conductor.service'])).restarts).toEqual([]);
    await writeFile(n.conf, 'b\n');
    expect((await n.run(['nova-api.service', 'nova-conductor.service'])).restarts).toEqual(['restart nova-api.service nova-conductor.service']);
  });

  it('names the unit that did not start in one line, and tries again on the next run', async () => {
    const n = await node(['nova-conductor.service']);
    const failed = await n.run(['nova-api.service', 'nova-conductor.service', 'nova-scheduler.service']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toBe('os-metadata: nova-conductor.service did not start; the next run of os-collect-config tries again (journalctl -u nova-conductor.service)');
    // Same files, one unit still down: restarted again rather than taken as done.
    const again = await n.run(['nova-api.service', 'nova-conductor.service', 'nova-scheduler.service']);
    expect(again.restarts).toEqual(['restart nova-api.service nova-conductor.service nova-scheduler.service']);
    expect(again.stdout).toContain('(configuration changed)');
  });
});
