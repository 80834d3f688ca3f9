// Builds real root trees (shared mmdebstrap base, real sandbox, real apt)
// from fixture elements whose hooks record, from inside, the order they ran
// in, where they ran and what variables they saw. Runs against both sandboxes.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory } from '../support/imgfactory.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const ELEMENTS = path.join(FIXTURES, 'elements', 'build');
const LONG = scaled(900_000);

async function workspace(name: string): Promise<{ dir: string; args: string[] }> {
  const dir = await scratchDir(name);
  const cache = await cacheWithBase(path.join(dir, 'cache'));
  return { dir, args: ['--elements-path', ELEMENTS, '--cache-dir', cache, '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out'), '-t', 'tar'] };
}

async function mountsUnder(dir: string): Promise<string[]> {
  const r = await execa('findmnt', ['-rn', '-o', 'TARGET'], { reject: false });
  return r.stdout.split('\n').filter((t) => t.startsWith(dir));
}

async function extract(tarFile: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  await execa('tar', ['-xf', tarFile, '-C', dest, '--numeric-owner', '--xattrs', '--xattrs-include=*']);
  return dest;
}

const EXPECTED_ORDER = [
  'root.d/10-rec-b outside',
  'root.d/20-rec-a outside',
  'extra-data.d/10-rec-a outside',
  'pre-install.d/50-rec-a inside',
  'install.d/05-rec-b inside',
  'install.d/10-rec-a inside',
  'install.d/50-rec-b inside',
  'install.d/70-rec-a inside',
  'post-install.d/10-rec-a inside',
  'post-root.d/10-rec-a outside',
  'pre-finalise.d/10-rec-a outside',
  'finalise.d/10-rec-a inside',
  'finalise.d/90-rec-b inside',
  'cleanup.d/10-rec-a outside',
];

/** The variables each recorded hook saw, by `<phase>/<script>`. */
function parseEnv(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('== ')) out.set(line.slice(3), (current = {}));
    else if (line.includes('=')) current[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

describe.each(['chroot', 'container'])('a root tree built in the %s sandbox', (sandbox) => {
  it(
    'runs every hook in diskimage-builder order, in the right place, with the declared variables only',
    async () => {
      const ws = await workspace(`tree-${sandbox}`);
      const r = await imgfactory(['build', 'rec-b', '--sandbox', sandbox, '--json', ...ws.args], { DIB_TEST_VAR: 'passed', HOST_SECRET: 'leaked' });
      expect(r.stderr).not.toMatch(/error:/);
      expect(r.exitCode).toBe(0);
      const summary = JSON.parse(r.stdout) as { sandbox: string; steps: { id: string; status: string }[]; outputs: { path: string }[] };
      expect(summary.sandbox).toBe(sandbox);
      expect(summary.steps.map((s) => s.id)).toEqual([
        'distro/debian-bookworm',
        'rec-b/root.d/10-rec-b',
        'rec-a/root.d/20-rec-a',
        'rec-a/extra-data.d/10-rec-a',
        'rec-a/pre-install.d/50-rec-a',
        'package-installs/install.d/01-package-installs',
        'rec-b/install.d/05-rec-b',
        'rec-a/install.d/10-rec-a',
        'rec-b/install.d/50-rec-b',
        'rec-a/install.d/70-rec-a',
        'rec-a/post-install.d/10-rec-a',
        'rec-a/post-root.d/10-rec-a',
        'rec-a/pre-finalise.d/10-rec-a',
        'rec-a/finalise.d/10-rec-a',
        'rec-b/finalise.d/90-rec-b',
        'rec-a/cleanup.d/10-rec-a',
        'builtin/finalise-tree',
      ]);
      expect(summary.steps[0]!.status).toBe('cached');
      expect(r.stderr).toMatch(/step\s+status\s+time\s+layer/);

      const tree = await extract(summary.outputs[0]!.path, path.join(ws.dir, 'tree'));
      const order = (await readFile(path.join(tree, 'var/lib/imgfactory-test/order'), 'utf8')).trim().split('\n');
      expect(order).toEqual(EXPECTED_ORDER);

      const env = parseEnv(await readFile(path.join(tree, 'var/lib/imgfactory-test/env'), 'utf8'));
      const inside = env.get('install.d/10-rec-a')!;
      expect(inside).toMatchObject({
        TARGET_ROOT: '<unset>',
        TMP_HOOKS_PATH: '/tmp/in_target.d',
        ARCH: 'amd64',
        DISTRO_NAME: 'debian',
        DIB_RELEASE: 'bookworm',
        DIB_INIT_SYSTEM: 'systemd',
        IMAGE_NAME: 'rec-b',
        LC_ALL: 'C',
        HOME: '/root',
        REC_B_ENV: 'from-environment-d',
        DIB_TEST_VAR: 'passed',
        HOST_SECRET: '<unset>',
      });
      expect(inside.PATH!.split(':')[0]).toBe('/tmp/in_target.d/bin');
      const outside = env.get('root.d/20-rec-a')!;
      expect(outside.TARGET_ROOT).toMatch(/\/step\/merged$/);
      expect(outside.TMP_HOOKS_PATH).toMatch(/\/hooks$/);
      expect(outside.HOST_SECRET).toBe('<unset>');
      // rec-b's files never mention IMAGE_NAME, so its hooks do not get it (and their keys cannot depend on it).
      expect(env.get('install.d/05-rec-b')!.IMAGE_NAME).toBe('<unset>');

      expect(await readFile(path.join(tree, 'var/lib/imgfactory-test/tool-output'), 'utf8')).toBe('rec-b-tool ran\n');
      const dpkg = await execa('chroot', [tree, 'dpkg-query', '-W', '-f=${Status}', 'hello']);
      expect(dpkg.stdout).toBe('install ok installed');
      expect(existsSync(path.join(tree, 'tmp/rec-a-scratch'))).toBe(false);
      expect(existsSync(path.join(tree, 'root/work/build.log'))).toBe(false);
      expect(await readFile(path.join(tree, 'root/work/notes.txt'), 'utf8')).toBe('kept\n');
      expect(existsSync(path.join(tree, 'usr/sbin/policy-rc.d'))).toBe(false);
      expect(existsSync(path.join(tree, 'etc/resolv.conf'))).toBe(false);
      expect(existsSync(path.join(tree, 'tmp/in_target.d'))).toBe(false);
      expect((await execa('ls', ['-A', path.join(tree, 'var/lib/apt/lists')])).stdout.trim()).toBe('partial');
      expect(await mountsUnder(ws.dir)).toEqual([]);
    },
    LONG,
  );

  it(
    'a failing hook stops the build with one clear error and leaves no mount',
    async () => {
      const ws = await workspace(`fail-${sandbox}`);
      const r = await imgfactory(['build', 'failing', '--sandbox', sandbox, ...ws.args]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/error: hook failing\/install\.d\/30-fail failed \(exit 3\)/);
      expect(r.stderr).toMatch(/\| last words/);
      const log = /log: (\S+)/.exec(r.stderr)![1]!;
      expect(await readFile(log, 'utf8')).toContain('about to fail on purpose');
      expect(r.stderr.match(/^error:/gm)).toHaveLength(1);
      expect(await mountsUnder(ws.dir)).toEqual([]);
      expect(existsSync(path.join(ws.dir, 'out', 'failing.tar'))).toBe(false);
    },
    LONG,
  );
});

describe('package and hook errors', () => {
  it(
    'an unknown package is a build error naming the element',
    async () => {
      const ws = await workspace('unknown-pkg');
      const r = await imgfactory(['build', 'unknown-pkg', ...ws.args]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/no such package in the archive: "no-such-package-imgfactory" \(element "unknown-pkg"\)/);
    },
    LONG,
  );

  it('two elements shipping the same hook in one phase is an error naming both', async () => {
    const ws = await workspace('dup-hook');
    const r = await imgfactory(['build', 'dup-hook', ...ws.args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/install\.d\/10-rec-a is shipped by both "rec-a" and "dup-hook"/);
  });
});

describe('a hook outside the tree that makes the tree\'s /tmp a link to a host directory', () => {
  it(
    'is refused where imgfactory would carry its $TMP_HOOKS_PATH write through that link; the host directory stays empty',
    async () => {
      const ws = await workspace('tmp-link');
      const host = path.join(ws.dir, 'host-dir');
      await mkdir(host);
      const r = await imgfactory(['build', 'tmp-link', ...ws.args], { DIB_ESCAPE_DIR: host });
      expect(r.exitCode, r.stderr).not.toBe(0);
      expect(r.stderr).toContain('the step left /tmp in the tree as a symlink');
      expect(await readdir(host)).toEqual([]);
      expect(await mountsUnder(ws.dir)).toEqual([]);
    },
    LONG,
  );
});

describe('a hook inside the tree that makes /var a link to a host path', () => {
  it(
    'leaves that host path as it was: the step\'s change is normalised without following the link',
    async () => {
      const ws = await workspace('var-link');
      const host = path.join(ws.dir, 'host-var');
      await mkdir(path.join(host, 'log'), { recursive: true });
      await writeFile(path.join(host, 'log', 'syslog'), 'host log\n');
      await imgfactory(['build', 'var-link', ...ws.args], { DIB_ESCAPE_DIR: host });
      expect(await readFile(path.join(host, 'log', 'syslog'), 'utf8')).toBe('host log\n');
      expect(await mountsUnder(ws.dir)).toEqual([]);
    },
    LONG,
  );
});

describe('a hook that reads the host (DIB extra-data.d: devuser, local-config)', () => {
  it(
    'runs in every build, is keyed by what it wrote, and its $TMP_HOOKS_PATH files reach later hooks from the cache too',
    async () => {
      const ws = await workspace('host-data');
      const elements = path.join(ws.dir, 'elements');
      await mkdir(elements, { recursive: true });
      await execa('cp', ['-a', path.join(ELEMENTS, 'host-data'), elements]);
      const hostFile = path.join(ws.dir, 'host-data');
      const args = ws.args.map((a) => (a === ELEMENTS ? elements : a));
      const build = async (content: string): Promise<{ statuses: Record<string, string>; etc: string; tar: string }> => {
        await writeFile(hostFile, content);
        const r = await imgfactory(['build', 'host-data', '--json', ...args], { DIB_HOST_DATA_FILE: hostFile });
        expect(r.stderr).not.toMatch(/error:/);
        expect(r.exitCode).toBe(0);
        const summary = JSON.parse(r.stdout) as { steps: { id: string; status: string }[]; outputs: { path: string }[] };
        const tar = summary.outputs[0]!.path;
        const etc = (await execa('tar', ['-xOf', tar, './etc/host-data'])).stdout;
        return { statuses: Object.fromEntries(summary.steps.map((s) => [s.id, s.status])), etc, tar };
      };

      const first = await build('key-A');
      expect(first.etc).toBe('key-A');
      expect((await execa('tar', ['-tf', first.tar])).stdout.split('\n').filter((p) => p.includes('in_target.d'))).toEqual([]);

      // Nothing changed: the host-reading hook runs, makes the same layer, and everything after it comes from the cache.
      const again = await build('key-A');
      expect(again.statuses).toMatchObject({ 'host-data/extra-data.d/50-host-data': 'built', 'host-data/install.d/60-host-data': 'cached', 'builtin/finalise-tree': 'cached' });
      expect(again.etc).toBe('key-A');

      // The host file changed, nothing any key names: the image has the new content, not a cached old one.
      const changed = await build('key-B');
      expect(changed.statuses['host-data/install.d/60-host-data']).toBe('built');
      expect(changed.etc).toBe('key-B');

      // A later hook edited: it runs again and still finds the file the cached-or-not hook before it wrote.
      const hook = path.join(elements, 'host-data', 'install.d', '60-host-data');
      await writeFile(hook, (await readFile(hook, 'utf8')).replace('revision: 1', 'revision: 2'));
      const edited = await build('key-B');
      expect(edited.statuses['host-data/install.d/60-host-data']).toBe('built');
      expect(edited.etc).toBe('key-B');
    },
    LONG,
  );
});

describe("diskimage-builder's install types (install.d/<prefix>-<type>-install/)", () => {
  it(
    'runs the chosen type’s hook as a planned step among the install.d hooks, and a new choice runs it again',
    async () => {
      const ws = await workspace('install-types');
      // DIB's own install-types element, unchanged, beside the fixture elements (not the rest of DIB's directory: its base would win over imgfactory's).
      const dib = path.join(ws.dir, 'dib');
      await mkdir(dib, { recursive: true });
      await execa('cp', ['-a', '/usr/lib/python3/dist-packages/diskimage_builder/elements/install-types', dib]);
      const args = ws.args.map((a) => (a === ELEMENTS ? `${ELEMENTS}:${dib}` : a));
      const build = async (env: Record<string, string>): Promise<{ statuses: Record<string, string>; ids: string[]; order: string; stderr: string }> => {
        const r = await imgfactory(['build', 'typed', 'install-types', '-n', 'typed', '--json', ...args], env);
        expect(r.stderr).not.toMatch(/error:/);
        expect(r.exitCode).toBe(0);
        const summary = JSON.parse(r.stdout) as { steps: { id: string; status: string }[]; outputs: { path: string }[] };
        const order = (await execa('tar', ['-xOf', summary.outputs[0]!.path, './etc/typed-order'])).stdout;
        return { statuses: Object.fromEntries(summary.steps.map((s) => [s.id, s.status])), ids: summary.steps.map((s) => s.id), order, stderr: r.stderr };
      };

      // The default type (source): its hook runs between 10- and 90-, through the link DIB makes (its $0), and replaces the plain 50-typed.
      const first = await build({});
      expect(first.ids.filter((id) => id.includes('/install.d/'))).toEqual(['typed/install.d/10-typed-first', 'typed/install.d/typed-source-install/50-typed', 'typed/install.d/90-typed-last']);
      expect(first.order).toBe('10-typed-first\nsource /tmp/in_target.d/install.d/50-typed\n90-typed-last');
      expect(first.ids.some((id) => id.startsWith('install-types/'))).toBe(false);
      expect(first.stderr).toContain(`install-types (${dib}/install-types): its hook is done by imgfactory's planner`);
      expect(first.stderr).toContain('typed/install.d/50-typed does not run: install-types links typed/install.d/typed-source-install/50-typed over it');

      // DIB_INSTALLTYPE_typed=package on the same cache: the package hook runs in its place, and the image has its line only.
      const second = await build({ DIB_INSTALLTYPE_typed: 'package' });
      expect(second.statuses['typed/install.d/typed-package-install/50-typed']).toBe('built');
      expect(second.statuses['typed/install.d/90-typed-last']).toBe('built');
      expect(second.ids).not.toContain('typed/install.d/typed-source-install/50-typed');
      expect(second.order).toBe('10-typed-first\npackage /tmp/in_target.d/install.d/50-typed\n90-typed-last');

      // Back to the default: the first build's layers are still right for it, and are used.
      const third = await build({});
      expect(third.statuses['typed/install.d/typed-source-install/50-typed']).toBe('cached');
      expect(third.order).toBe(first.order);
    },
    LONG,
  );
});
