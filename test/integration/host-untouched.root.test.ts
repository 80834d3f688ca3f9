// A build leaves the host as it found it: the mount tables (this namespace's
// and init's), the loop devices, every file under /etc (type, mode, owner,
// content), the enabled systemd units and the dpkg database are the same
// after a build as before (scripts/host-state prints them). The build is a
// small disk image from the shared base tree with hooks inside and outside
// the tree that write to its /etc, in both sandboxes. And scripts/setup,
// which every user runs, installs no service: what the test suite needs
// beyond building lives in the test tools tree (scripts/test-tools), and .ci/run
// checks that the test command changes nothing of the above either.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory } from '../support/imgfactory.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const SCRIPTS = path.join(FIXTURES, '..', '..', 'scripts');
const HOST_STATE = path.join(SCRIPTS, 'host-state');

/** The packages scripts/setup installs: its PACKAGES array, as bash reads it. */
async function setupPackages(): Promise<string[]> {
  const script = 'source <(sed -n "/^PACKAGES=(/,/^)/p" "$1"); printf "%s\\n" "${PACKAGES[@]}"';
  return (await execa('bash', ['-c', script, 'bash', path.join(SCRIPTS, 'setup')])).stdout.split('\n').filter(Boolean);
}

/**
 * The units a package enables when it is installed (deb-systemd-helper
 * enables every unit with an [Install] section, but for templates) and its
 * SysV init scripts.
 */
async function servicesOf(pkg: string): Promise<string[]> {
  const files = (await execa('dpkg-query', ['-L', pkg])).stdout.split('\n');
  const out: string[] = [];
  for (const f of files) {
    if (f.startsWith('/etc/init.d/')) out.push(f);
    else if (/^\/(usr\/)?lib\/systemd\/system\/[^/@]+\.(service|socket|timer|path)$/.test(f) && /^\[Install\]/m.test(await readFile(f, 'utf8'))) out.push(f);
  }
  return out;
}

/** scripts/host-state's sections, by name. */
async function hostState(): Promise<Map<string, string[]>> {
  const text = (await execa(HOST_STATE)).stdout;
  const sections = new Map<string, string[]>();
  let lines: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) sections.set(line.slice(3), (lines = []));
    else lines.push(line);
  }
  return sections;
}

/** What differs between two snapshots, per section: lines gone (-) and lines new (+). */
function changes(before: Map<string, string[]>, after: Map<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, lines] of before) {
    const now = after.get(name) ?? [];
    const was = new Set(lines);
    const is = new Set(now);
    const diff = [...lines.filter((l) => !is.has(l)).map((l) => `- ${l}`), ...now.filter((l) => !was.has(l)).map((l) => `+ ${l}`)];
    if (diff.length > 0) out[name] = diff;
  }
  return out;
}

describe('the host after a build', () => {
  it(
    'has the same mounts, loop devices, /etc, enabled units and packages as before, in either sandbox',
    async () => {
      const dir = await scratchDir('host');
      const cache = await cacheWithBase(path.join(dir, 'cache'));
      const before = await hostState();
      expect(before.get('etc')!.length).toBeGreaterThan(100);
      for (const sandbox of ['chroot', 'container']) {
        const r = await imgfactory([
          'build', 'chatty', '--sandbox', sandbox, '--elements-path', path.join(FIXTURES, 'elements', 'terminal'),
          '-t', 'raw,qcow2', '--block-device', path.join(FIXTURES, 'layouts', 'root-only.yaml'),
          '--cache-dir', cache, '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, `out-${sandbox}`),
        ]);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(changes(before, await hostState()), `after a build in the ${sandbox} sandbox`).toEqual({});
      }
    },
    scaled(900_000),
  );
});

describe('scripts/setup', () => {
  it('installs no service: no package it names enables a unit or ships an init script (but those every Debian has)', async () => {
    const packages = await setupPackages();
    expect(packages).toContain('mmdebstrap');
    const services: string[] = [];
    for (const pkg of packages) {
      const priority = (await execa('dpkg-query', ['-W', '-f', '${Priority}', pkg], { reject: false })).stdout;
      expect(priority, `${pkg} is not installed: run scripts/setup`).not.toBe('');
      if (priority === 'required' || priority === 'important') continue;
      services.push(...(await servicesOf(pkg)).map((f) => `${pkg}: ${f}`));
    }
    expect(services).toEqual([]);
  });
});
