// keepalived's refresh script (elements/keepalived): with no VRRP instance in
// the metadata it leaves keepalived stopped instead of restarting it —
// Debian's keepalived is Type=notify and never reports ready with nothing to
// run, so the restart hung until its timeout and failed the controller's
// refresh (bench/RESULTS.md, issue 15). The real script runs under bash;
// os-metadata and systemctl are scripts on PATH that answer from the test's
// metadata and log what they were asked (os-metadata itself is tested in
// os-metadata.test.ts and, in a real tree, in tripleo-elements).
import { execa } from 'execa';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../support/run-dir.js';

const SCRIPT = path.join(import.meta.dirname, '..', '..', '..', 'elements/keepalived/os-refresh-config/post-configure.d/70-keepalived');

async function refresh(iface: string) {
  const dir = await scratchDir('keepalived-refresh');
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls.log');
  await mkdir(bin);
  // `os-metadata get keepalived.interface --default ''` prints the test's value; every call is logged.
  await writeFile(path.join(bin, 'os-metadata'), `#!/bin/sh\necho "os-metadata $*" >> ${log}\n[ "$1" = get ] && echo "${iface}"\nexit 0\n`);
  await writeFile(path.join(bin, 'systemctl'), `#!/bin/sh\necho "systemctl $*" >> ${log}\n`);
  await chmod(path.join(bin, 'os-metadata'), 0o755);
  await chmod(path.join(bin, 'systemctl'), 0o755);
  const r = await execa('bash', [SCRIPT], { env: { PATH: `${bin}:${process.env.PATH}` }, reject: false });
  return { ...r, calls: (await readFile(log, 'utf8')).trim().split('\n') };
}

describe('keepalived refresh', () => {
  it('leaves keepalived stopped, and says so, when the metadata names no VRRP interface', async () => {
    const r = await refresh('');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('keepalived: no keepalived.interface in the metadata: not started');
    expect(r.calls).toEqual(["os-metadata get keepalived.interface --default ", 'systemctl stop keepalived.service']);
  });

  it('restarts it when its configuration changed once an interface is named', async () => {
    const r = await refresh('eth1');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.calls).toEqual(["os-metadata get keepalived.interface --default ", 'os-metadata restart-if-changed keepalived.service -- /etc/keepalived/keepalived.conf']);
  });
});
