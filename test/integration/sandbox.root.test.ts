// One conformance suite for both sandboxes (chroot, container), on a real
// Debian minbase tree as the overlay's lower dir: what the command sees
// inside and outside the tree, what is left in the upper dir, exit codes and
// signals, abort of a command that ignores SIGTERM, and recovery after the
// build process itself was killed with SIGKILL. Needs root.
import { execa } from 'execa';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChrootSandbox } from '../../src/sandbox/chroot.js';
import { mountsUnder, readMountInfo } from '../../src/sandbox/mountinfo.js';
import { recoverStale } from '../../src/sandbox/stale.js';
import { chooseSandbox, type HostRun, type OverlayRun, type Sandbox } from '../../src/sandbox/sandbox.js';
import { Secret } from '../../src/secrets/secret.js';
import { copyDebianTree } from '../support/debian-tree.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const REPO = path.resolve(import.meta.dirname, '../..');

async function mountsIn(dir: string): Promise<string[]> {
  return mountsUnder(await readMountInfo(), dir).map((m) => m.mountPoint);
}

/** Last-resort clean-up so one failing test cannot leave mounts for the next. */
async function forceUnmount(dir: string): Promise<void> {
  for (const target of await mountsIn(dir)) await execa('umount', ['-l', target], { reject: false });
}

/** All files and dirs under `dir`, relative, sorted. */
async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      out.push(child);
      if (entry.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return out.sort();
}

/** Pids whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) pids.push(Number(name));
  }
  return pids;
}

let fixture: Promise<string> | undefined;

/** test/fixtures/sandbox/run-step.ts compiled (Node 20 cannot run TypeScript), with the sources it imports. */
function compiledFixture(): Promise<string> {
  fixture ??= (async () => {
    const out = await scratchDir('sandbox-fixture');
    await writeFile(path.join(out, 'package.json'), '{"type":"module"}');
    await symlink(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'));
    const tsc = await execa(
      path.join(REPO, 'node_modules/.bin/tsc'),
      ['--outDir', out, '--rootDir', REPO, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict']
        .concat(['--skipLibCheck', '--types', 'node', path.join(REPO, 'test/fixtures/sandbox/run-step.ts')]),
      { reject: false },
    );
    expect(tsc.stdout).toBe('');
    return path.join(out, 'test/fixtures/sandbox/run-step.js');
  })();
  return fixture;
}

for (const kind of ['chroot', 'container'] as const) {
  describe(`sandbox conformance: ${kind}`, () => {
    let root: string;
    let lower: string;
    let stateDir: string;
    let sandbox: Sandbox;
    let count = 0;

    beforeAll(async () => {
      root = await scratchDir(`sandbox-${kind}`);
      lower = await copyDebianTree(path.join(root, 'lower'));
      stateDir = path.join(root, 'state');
      sandbox = kind === 'chroot' ? new ChrootSandbox(stateDir) : (await chooseSandbox('container', stateDir)).sandbox;
      expect(sandbox.kind).toBe(kind);
    });
    afterEach(async () => {
      await forceUnmount(root);
    });
    afterAll(async () => {
      if (root !== undefined) await forceUnmount(root);
    });

    async function makeStep(over: Partial<OverlayRun>): Promise<OverlayRun & { lines: string[] }> {
      const dir = path.join(root, `step-${++count}`);
      for (const d of ['upper', 'work', 'merged']) await mkdir(path.join(dir, d), { recursive: true });
      const lines: string[] = [];
      return {
        lowerDir: lower,
        upperDir: path.join(dir, 'upper'),
        workDir: path.join(dir, 'work'),
        mergedDir: path.join(dir, 'merged'),
        inside: true,
        argv: ['/bin/true'],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        binds: [],
        resolver: false,
        logFile: path.join(dir, 'step.log'),
        onLine: (stream, line) => lines.push(`${stream}: ${line}`),
        lines,
        ...over,
      };
    }

    it('runs inside the tree with exactly the given env, /proc, /dev, resolver, read-only binds and hostname', async () => {
      const hooks = path.join(root, 'hooks');
      await mkdir(hooks, { recursive: true });
      await writeFile(path.join(hooks, 'marker'), 'from-the-host\n');
      const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DIB_TEST: 'a b=c', LC_ALL: 'C' };
      const script = [
        'echo "version $(cat /etc/debian_version)"',
        'echo "environ $(tr "\\0" "\\n" < /proc/$$/environ | sort | tr "\\n" "|")"',
        'test -r /proc/self/status && echo proc-ok',
        'echo x > /dev/null && echo devnull-ok',
        'test -c /dev/pts/ptmx && echo pts-ok',
        'echo "resolver $(md5sum < /etc/resolv.conf)"',
        'echo "bound $(cat /tmp/in_target.d/marker)"',
        'if touch /tmp/in_target.d/new 2>/dev/null; then echo bind-writable; else echo bind-ro; fi',
        'echo "hostname $(cat /proc/sys/kernel/hostname)"',
        // (the root directory itself always shows the upper dir's attributes: overlayfs, not us)
        'echo "meta $(stat -c %a:%u:%g:%Y /tmp /etc | tr "\n" " ")"',
        '/usr/sbin/policy-rc.d; echo "policy-rc.d $?"',
        'echo written > /root/written.txt',
      ].join('\n');
      const step = await makeStep({
        argv: ['/bin/sh', '-c', script],
        env,
        binds: [{ source: hooks, target: '/tmp/in_target.d', readOnly: true }],
        resolver: true,
        hostname: 'imgfactory-test',
      });
      const outcome = await sandbox.run(step);
      expect(step.lines.filter((l) => l.startsWith('stderr'))).toEqual([]);
      expect(outcome).toEqual({ exitCode: 0, signal: null });
      const hostResolver = (await execa('md5sum', { inputFile: '/etc/resolv.conf' })).stdout;
      const expected = [
        `version ${(await readFile(path.join(lower, 'etc/debian_version'), 'utf8')).trim()}`,
        `environ ${Object.entries(env).map(([k, v]) => `${k}=${v}`).sort().join('|')}|`,
        'proc-ok',
        'devnull-ok',
        'pts-ok',
        `resolver ${hostResolver}`,
        'bound from-the-host',
        'bind-ro',
        'hostname imgfactory-test',
        `meta ${(await execa('stat', ['-c', '%a:%u:%g:%Y', `${lower}/tmp`, `${lower}/etc`])).stdout.split('\n').join(' ')} `,
        'policy-rc.d 101',
      ].map((l) => `stdout: ${l}`);
      expect(step.lines).toEqual(expected);
      expect(await readFile(step.logFile, 'utf8')).toContain('bound from-the-host');
      // Only what the command wrote: no mount points, no resolv.conf, no /tmp of the sandbox's own.
      expect(await listTree(step.upperDir)).toEqual(['root', 'root/written.txt']);
      expect(await mountsIn(root)).toEqual([]);
      expect(await readdir(path.join(lower, 'root'))).not.toContain('written.txt');
    });

    it('is what chooseSandbox picks for it', async () => {
      const chosen = await chooseSandbox(kind, stateDir);
      expect(chosen.sandbox.kind).toBe(kind);
      // This machine allows namespaces, so auto means container, without a note.
      const auto = await chooseSandbox('auto', stateDir);
      expect(auto.sandbox.kind).toBe('container');
      expect(auto.note).toBeUndefined();
    });

    it('follows a symlinked /etc/resolv.conf inside the tree, never out of it', async () => {
      const tree = path.join(root, 'lower-symlink');
      await copyDebianTree(tree);
      await execa('rm', ['-f', path.join(tree, 'etc/resolv.conf')]);
      await symlink('/run/nowhere/resolv.conf', path.join(tree, 'etc/resolv.conf'));
      const step = await makeStep({ lowerDir: tree, resolver: true, argv: ['/bin/sh', '-c', 'grep -c . /etc/resolv.conf >/dev/null && echo ok'] });
      expect(await sandbox.run(step)).toEqual({ exitCode: 0, signal: null });
      expect(step.lines).toEqual(['stdout: ok']);
      expect(await listTree(step.upperDir)).toEqual([]);
      expect(await readlink(path.join(tree, 'etc/resolv.conf'))).toBe('/run/nowhere/resolv.conf');
      expect(await mountsIn(root)).toEqual([]);
    });

    it('runs outside with TARGET_ROOT showing the merged view, writes landing in the upper dir', async () => {
      const script = 'cat "$TARGET_ROOT/etc/debian_version"; echo out > "$TARGET_ROOT/outside.txt"; test -r "$TARGET_ROOT/proc/self/status" && echo proc-ok';
      const step = await makeStep({ inside: false, argv: ['/bin/sh', '-c', script] });
      expect(await sandbox.run(step)).toEqual({ exitCode: 0, signal: null });
      const version = (await readFile(path.join(lower, 'etc/debian_version'), 'utf8')).trim();
      expect(step.lines).toEqual([`stdout: ${version}`, 'stdout: proc-ok']);
      expect(await listTree(step.upperDir)).toEqual(['outside.txt']);
      expect(await readFile(path.join(step.upperDir, 'outside.txt'), 'utf8')).toBe('out\n');
      expect(await mountsIn(root)).toEqual([]);
    });

    for (const inside of [true, false]) {
      it(`hands secrets to a command run ${inside ? 'inside' : 'outside'} the tree: read-only files on a tmpfs, an exported variable, masked in its output, in no file of its own`, async () => {
        const token = 'tok-3f9a1c77e2b04d58';
        const pem = '-----BEGIN TEST KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\nCxq8n4mVwYk2l0PzRt5uJd7hE3sA9\n-----END TEST KEY-----\n';
        const secrets = [new Secret('DIB_TOKEN', Buffer.from(`${token}\n`), true), new Secret('key.pem', Buffer.from(pem), false)];
        const where = inside ? '' : '"$TARGET_ROOT"';
        const script = [
          'echo "dir $IMGFACTORY_SECRETS"',
          'echo "file $(cat "$IMGFACTORY_SECRETS/DIB_TOKEN")"',
          'echo "var $DIB_TOKEN"',
          'cat "$IMGFACTORY_SECRETS/key.pem"',
          'echo "mode $(stat -c %a "$IMGFACTORY_SECRETS/key.pem") $(stat -f -c %T "$IMGFACTORY_SECRETS")"',
          'if touch "$IMGFACTORY_SECRETS/new" 2>/dev/null; then echo secrets-writable; else echo secrets-ro; fi',
          'echo "handover vars $(env | grep -c IMGFACTORY_SECRET_)"',
          'echo "key.pem variable ${key_pem-unset}"',
          `cp "$IMGFACTORY_SECRETS/key.pem" ${where}/root/copied.pem`,
        ].join('\n');
        const step = await makeStep({ inside, argv: ['/bin/sh', '-c', script], secrets });
        const outcome = await sandbox.run(step);
        expect(step.lines.filter((l) => l.startsWith('stderr'))).toEqual([]);
        expect(outcome).toEqual({ exitCode: 0, signal: null });
        expect(step.lines[0]).toMatch(inside ? /^stdout: dir \/run\/secrets$/ : /^stdout: dir \/.*\/secrets$/);
        expect(step.lines.slice(1)).toEqual(
          [
            'file <secret:DIB_TOKEN>',
            'var <secret:DIB_TOKEN>',
            // Each line of a multi-line secret is masked on its own; its short armour lines too.
            '<secret:key.pem>',
            '<secret:key.pem>',
            '<secret:key.pem>',
            '<secret:key.pem>',
            'mode 400 tmpfs',
            'secrets-ro',
            'handover vars 0',
            'key.pem variable unset',
          ].map((l) => `stdout: ${l}`),
        );
        const log = await readFile(step.logFile, 'utf8');
        expect(log).toContain('var <secret:DIB_TOKEN>');
        expect(log).not.toContain(token);
        expect(log).not.toContain('AAAAB3NzaC1yc2E');
        // The tmpfs is not in the layer; what the command copied is (the engine's layer check refuses it).
        expect(await listTree(step.upperDir)).toEqual(['root', 'root/copied.pem']);
        expect(await readFile(path.join(step.upperDir, 'root/copied.pem'), 'utf8')).toBe(pem);
        expect(await mountsIn(root)).toEqual([]);
        expect(await readdir(path.join(stateDir, 'sandbox'))).toEqual([]);
      });
    }

    if (kind === 'container') {
      it('shows a command run outside the tree the host read-only, except the tree, its TMPDIR and the directories it may write', async () => {
        const outsideDir = path.join(root, `host-${++count}`);
        const writable = path.join(root, `writable-${count}`);
        await mkdir(outsideDir, { recursive: true });
        await mkdir(writable, { recursive: true });
        const attempt = (label: string, file: string) => `if echo x > "${file}"; then echo "${label} written"; else echo "${label} refused"; fi`;
        const script = [
          attempt('host', path.join(outsideDir, 'escaped')),
          attempt('climb', '$TARGET_ROOT/../../escaped-by-climbing'),
          attempt('etc', '/etc/imgfactory-escaped'),
          attempt('tmp', '/tmp/imgfactory-escaped'),
          attempt('tree', '$TARGET_ROOT/in-tree'),
          attempt('tmpdir', '$TMPDIR/scratch'),
          attempt('writable', path.join(writable, 'cache-file')),
          'echo "TMPDIR is $TMPDIR"',
          'cat /etc/debian_version >/dev/null && echo reads-host',
          'echo x > /dev/null && echo dev-null',
        ].join('\n');
        const step = await makeStep({ inside: false, argv: ['/bin/sh', '-c', script], hostWritable: [writable] });
        const outcome = await sandbox.run(step);
        expect(outcome).toEqual({ exitCode: 0, signal: null });
        expect(step.lines.filter((l) => l.startsWith('stdout: ') && !l.startsWith('stdout: TMPDIR is '))).toEqual(
          ['host refused', 'climb refused', 'etc refused', 'tmp refused', 'tree written', 'tmpdir written', 'writable written', 'reads-host', 'dev-null'].map((l) => `stdout: ${l}`),
        );
        const errors = step.lines.filter((l) => l.startsWith('stderr: '));
        expect(errors).toHaveLength(4);
        for (const e of errors) expect(e).toMatch(/Read-only file system$/);
        expect(await readdir(outsideDir)).toEqual([]);
        await expect(readFile('/etc/imgfactory-escaped')).rejects.toThrow();
        await expect(readFile('/tmp/imgfactory-escaped')).rejects.toThrow();
        await expect(readFile(path.join(step.mergedDir, '../../escaped-by-climbing'))).rejects.toThrow();
        expect(await readFile(path.join(writable, 'cache-file'), 'utf8')).toBe('x\n');
        expect(await listTree(step.upperDir)).toEqual(['in-tree']);
        // The host itself was never made read-only: only the command's view of it.
        await writeFile(path.join(outsideDir, 'after'), 'ok');
        expect(await mountsIn(root)).toEqual([]);
      });
    }

    it(`runs a program with no tree (a bootstrap): it fills its directory${kind === 'container' ? ' and its TMPDIR, and no other part of the host' : ''}, and what it mounts there is gone when it ends`, async () => {
      const target = path.join(root, `no-tree-${++count}`);
      const outsideDir = path.join(root, `no-tree-host-${count}`);
      await mkdir(outsideDir, { recursive: true });
      const script = [
        'mkdir -p "$1/proc" && mount -t tmpfs made-by-the-step "$1/proc" && echo made > "$1/made" && echo "target-root=${TARGET_ROOT:-unset}"',
        'echo x > "$TMPDIR/scratch" && echo tmpdir-written',
        'if echo x > "$2/escaped" 2>/dev/null; then echo host-written; else echo host-refused; fi',
      ].join(' && ');
      const step: HostRun = {
        tree: 'none',
        mergedDir: target,
        inside: false,
        argv: ['/bin/sh', '-c', script, 'sh', target, outsideDir],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        binds: [],
        resolver: false,
        logFile: path.join(root, `no-tree-${count}.log`),
      };
      expect(await sandbox.run(step)).toEqual({ exitCode: 0, signal: null });
      expect(await readFile(path.join(target, 'made'), 'utf8')).toBe('made\n');
      const log = await readFile(step.logFile, 'utf8');
      expect(log).toContain('target-root=unset');
      expect(log).toContain('tmpdir-written');
      // The chroot sandbox cannot make the host read-only for one command (docs/security.md).
      expect(log).toContain(kind === 'container' ? 'host-refused' : 'host-written');
      expect(await mountsIn(root)).toEqual([]);
      expect(await readdir(path.join(stateDir, 'sandbox'))).toEqual([]);
    });

    it('runs a block-device.d hook on a read-only tree: it sees IMAGE_BLOCK_DEVICE and cannot write to TARGET_ROOT', async () => {
      const dir = path.join(root, `read-only-${++count}`);
      await mkdir(dir, { recursive: true });
      const device = path.join(dir, 'disk.raw');
      await execa('truncate', ['-s', '8M', device]);
      await execa('sfdisk', ['--quiet', device], { input: 'label: gpt\n,4M\n' });
      const lines: string[] = [];
      const hook = path.join(REPO, 'test/fixtures/elements/disk/bd-marker/block-device.d/50-bd-marker');
      const outcome = await sandbox.run({
        tree: 'read-only',
        lowerDir: lower,
        mergedDir: path.join(dir, 'root'),
        inside: false,
        argv: ['/bin/bash', hook],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', IMAGE_BLOCK_DEVICE: device, IMAGE_BLOCK_DEVICE_TYPE: 'raw' },
        binds: [],
        resolver: false,
        logFile: path.join(dir, 'hook.log'),
        onLine: (stream, line) => lines.push(`${stream}: ${line}`),
      });
      expect(outcome).toEqual({ exitCode: 0, signal: null });
      expect(lines).toContain(`stdout: device=${device}`);
      expect(lines).toContain('stdout: type=raw');
      expect(lines).toContain('stdout: label: gpt');
      expect(lines).toContain('stdout: target-root=read-only');
      await expect(readFile(path.join(lower, 'bd-marker-was-here'))).rejects.toThrow();
      expect(await mountsIn(root)).toEqual([]);
    });

    it('reports exit codes and signals, and logs a failing command', async () => {
      const failing = await makeStep({ argv: ['/bin/sh', '-c', 'echo boom-out; echo boom-err >&2; exit 7'] });
      expect(await sandbox.run(failing)).toEqual({ exitCode: 7, signal: null });
      const log = await readFile(failing.logFile, 'utf8');
      expect(log).toContain('boom-out');
      expect(log).toContain('boom-err');
      expect(failing.lines).toEqual(['stdout: boom-out', 'stderr: boom-err']);

      const killed = await makeStep({ argv: ['/bin/sh', '-c', 'kill -TERM $$'] });
      expect(await sandbox.run(killed)).toEqual({ exitCode: null, signal: 'SIGTERM' });

      const missing = await makeStep({ argv: ['/no/such/hook'] });
      expect((await sandbox.run(missing)).exitCode).toBe(127);
      expect(await mountsIn(root)).toEqual([]);
    });

    it('aborts a command that ignores SIGTERM: whole group killed, mounts undone', async () => {
      const marker = kind === 'chroot' ? '612301' : '612302';
      const controller = new AbortController();
      const step = await makeStep({
        argv: ['/bin/sh', '-c', `trap '' TERM; sleep ${marker} & echo ready; wait; sleep ${marker}`],
        signal: controller.signal,
        onLine: (_s, line) => {
          if (line === 'ready') controller.abort();
        },
      });
      const outcome = await sandbox.run(step);
      expect(outcome.exitCode).toBeNull();
      expect(outcome.signal).toBe('SIGKILL');
      expect(await processesWith(marker)).toEqual([]);
      expect(await mountsIn(root)).toEqual([]);
      expect(await listTree(step.upperDir)).toEqual([]);
    });

    /** Starts the fixture build process on a long step and resolves once the step printed 'started'. */
    async function startFixtureBuild(marker: string, buildRoot: string) {
      const script = await compiledFixture();
      const step = await makeStep({
        mergedDir: path.join(buildRoot, 'merged'),
        argv: ['/bin/sh', '-c', `echo started; sleep ${marker}`],
        binds: [{ source: path.dirname(script), target: '/tmp/in_target.d', readOnly: true }],
        resolver: true,
      });
      const { onLine: _unused, lines: _lines, ...plain } = step;
      const child = execa(process.execPath, [script, JSON.stringify({ kind, stateDir: buildRoot, step: plain })], { reject: false, buffer: false });
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('started') && resolve());
        void child.then((r) => reject(new Error(`fixture ended early: ${r.exitCode} ${String(r.stderr)}`)));
      });
      if (kind === 'chroot') expect((await mountsIn(buildRoot)).length).toBeGreaterThan(3);
      else expect(await mountsIn(buildRoot)).toEqual([]);
      return { child, step };
    }

    async function expectNoProcess(marker: string): Promise<void> {
      const deadline = Date.now() + scaled(5_000);
      while (Date.now() < deadline && (await processesWith(marker)).length > 0) await new Promise((r) => setTimeout(r, 100));
      expect(await processesWith(marker)).toEqual([]);
    }

    it('recovers after the build process is killed with SIGKILL mid-step', async () => {
      const marker = kind === 'chroot' ? '612303' : '612304';
      const buildRoot = path.join(root, 'killed-build');
      const { child, step } = await startFixtureBuild(marker, buildRoot);
      child.kill('SIGKILL');
      await child;

      const messages = await recoverStale(buildRoot);
      if (kind === 'chroot') expect(messages.some((m) => m.startsWith(`unmounted ${step.mergedDir}`))).toBe(true);
      expect(await mountsIn(buildRoot)).toEqual([]);
      expect(await readdir(path.join(buildRoot, 'sandbox'))).toEqual([]);
      // The step's processes died with their lifeline (or were killed by recoverStale).
      await expectNoProcess(marker);
      expect(await recoverStale(buildRoot)).toEqual([]);
    });

    for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      it(`cleans up and exits ${code} when the build process gets ${signal}`, async () => {
        const marker = `6124${kind === 'chroot' ? 1 : 2}${code}`;
        const buildRoot = path.join(root, `interrupted-${signal}`);
        const { child } = await startFixtureBuild(marker, buildRoot);
        process.kill(child.pid!, signal); // not child.kill(): execa would SIGKILL it 5 s later
        expect((await child).exitCode).toBe(code);
        expect(await mountsIn(buildRoot)).toEqual([]);
        expect(await readdir(path.join(buildRoot, 'sandbox'))).toEqual([]);
        await expectNoProcess(marker);
        expect(await recoverStale(buildRoot)).toEqual([]);
      });
    }
  });
}
