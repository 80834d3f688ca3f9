// `os-metadata gate` (elements/os-apply-config), run by a real python3 on a
// scratch root: each unit a refresh script names in restart-if-changed gets
// the drop-in that holds it until the metadata is applied, and a unit named
// through a variable is refused naming the script and line. os_apply_config
// is not on the host: a stub stands in for the import os-metadata makes.
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../support/run-dir.js';

const OS_METADATA = path.join(import.meta.dirname, '..', '..', '..', 'elements/os-apply-config/static/usr/local/bin/os-metadata');

async function gate(scripts: Record<string, string>) {
  const dir = await scratchDir('os-metadata-gate');
  const stub = path.join(dir, 'stub', 'os_apply_config');
  await mkdir(stub, { recursive: true });
  await writeFile(path.join(stub, '__init__.py'), '');
  await writeFile(path.join(stub, 'collect_config.py'), '');
  const root = path.join(dir, 'root');
  for (const [rel, text] of Object.entries(scripts)) {
    await mkdir(path.dirname(path.join(root, 'usr/libexec/os-refresh-config', rel)), { recursive: true });
    await writeFile(path.join(root, 'usr/libexec/os-refresh-config', rel), text);
  }
  const r = await execa('python3', [OS_METADATA, 'gate', '--root', root], { env: { PYTHONPATH: path.dirname(stub) }, reject: false });
  return { root, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('os-metadata gate', () => {
  it('gives every unit a refresh script restarts the applied-metadata condition', async () => {
    const r = await gate({ 'post-configure.d/60-a': '#!/bin/bash\nos-metadata restart-if-changed a.service b.service -- /etc/a.conf\n', 'configure.d/30-c': 'os-metadata restart-if-changed "c.service" -- /etc/c\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['a.service', 'b.service', 'c.service']);
    for (const unit of ['a.service', 'b.service', 'c.service']) {
      expect(await readFile(path.join(r.root, 'etc/systemd/system', `${unit}.d`, '10-os-metadata-applied.conf'), 'utf8')).toMatch(/^\[Unit\]\nConditionPathExists=\/var\/lib\/os-metadata\/applied$/m);
    }
  });

  it('refuses a unit named through a variable, naming the script and line', async () => {
    const r = await gate({ 'post-configure.d/60-swift': '#!/bin/bash\nfor s in a b; do\n  os-metadata restart-if-changed "swift-$s.service" -- /etc/x\ndone\n' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("os-metadata gate: usr/libexec/os-refresh-config/post-configure.d/60-swift line 3: restart-if-changed names 'swift-$s.service'; name each unit literally (NAME.service)");
  });
});
