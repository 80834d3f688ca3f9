// Issue 18, points 3 and 15, end to end with the real command: a secret
// reaches the hooks and nothing the build keeps (manifest, provenance, logs,
// the layer blobs, the cache index, the keys, the output); a value declared
// with --env under a secret's name is refused; a hook that copies a secret
// into the tree fails; and a root.d hook cannot write on the host outside the
// build's own directories (container sandbox).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory } from '../support/imgfactory.js';
import { scratchDir } from '../support/run-dir.js';

const ELEMENTS = path.join(FIXTURES, 'elements', 'secrets');
const LONG = 600_000;
const TOKEN = 'tok-0f3b9d2c7a4e4b1f9e8d';
const PASSWORD = 'pw-Zq83-hunter2-Lm4x';

async function workspace(name: string): Promise<{ dir: string; cache: string; args: string[] }> {
  const dir = await scratchDir(name);
  const cache = await cacheWithBase(path.join(dir, 'cache'));
  return { dir, cache, args: ['--elements-path', ELEMENTS, '--cache-dir', cache, '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out'), '-t', 'tar', '--json'] };
}

/** Every file below `dir` that holds `needle`, zstd blobs (layers, outputs) decompressed; grep, not imgfactory's own scanner. */
async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const raw = await execa('grep', ['-r', '-l', '-a', '-F', '-e', needle, dir], { reject: false });
  const found = raw.stdout.split('\n').filter(Boolean);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const head = Buffer.alloc(4);
    const fd = await open(file, 'r');
    await fd.read(head, 0, 4, 0).finally(() => fd.close());
    if (!head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) continue;
    const unpacked = await execa('sh', ['-c', 'zstd -dcq -- "$1" | grep -c -a -F -e "$2"', 'sh', file, needle], { reject: false });
    if (unpacked.exitCode === 0) found.push(file);
  }
  return found;
}

describe('secrets', () => {
  it(
    'reach the hooks as files and an exported variable, and nothing the build keeps: manifest, provenance, logs, layers, index, keys, output',
    async () => {
      const ws = await workspace('secret-user');
      const tokenFile = path.join(ws.dir, 'token');
      await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      const secretArgs = ['--secret', `id=api-token,src=${tokenFile}`, '--secret', 'id=DIB_API_PASSWORD,env=MY_PASSWORD,export'];
      const imageCache = path.join(ws.dir, 'dib-image-cache');
      const env = { MY_PASSWORD: PASSWORD, DIB_IMAGE_CACHE: imageCache };
      const r = await imgfactory(['build', 'secret-user', ...secretArgs, ...ws.args], env);
      expect(r.stderr).not.toMatch(/error:/);
      expect(r.exitCode).toBe(0);
      // The hooks had them (masked in what they printed) ...
      expect(r.stderr).toContain('root.d sees the token <secret:api-token>');
      expect(r.stderr).toContain('install.d sees the token <secret:api-token> and the password <secret:DIB_API_PASSWORD>');
      expect(r.stderr).toContain('post-root.d sees the password <secret:DIB_API_PASSWORD>');
      // ... and the outside hook wrote where it may.
      expect(await readFile(path.join(imageCache, 'secret-user-cache'), 'utf8')).toBe('cached\n');
      const tree = path.join(ws.dir, 'tree');
      await execa('mkdir', ['-p', tree]);
      await execa('tar', ['-xf', path.join(ws.dir, 'out', 'secret-user.tar'), '-C', tree, './etc/secret-user-root', './etc/secret-user-inside']);
      expect(await readFile(path.join(tree, 'etc/secret-user-root'), 'utf8')).toBe('written-outside\n');
      expect(await readFile(path.join(tree, 'etc/secret-user-inside'), 'utf8')).toBe('present\n');

      const summary = JSON.parse(r.stdout) as { steps: { id: string; key: string; status: string }[]; manifest: string; provenance: string };
      const manifest = JSON.parse(await readFile(summary.manifest, 'utf8')) as { inputs: Record<string, string>; secrets: string[] };
      expect(manifest.secrets).toEqual(['DIB_API_PASSWORD', 'api-token']);
      expect(Object.keys(manifest.inputs)).not.toContain('DIB_API_PASSWORD');
      expect(JSON.parse(await readFile(summary.provenance, 'utf8')).predicate.buildDefinition.externalParameters.secrets).toEqual([{ id: 'DIB_API_PASSWORD' }, { id: 'api-token' }]);
      for (const value of [TOKEN, PASSWORD]) {
        expect(r.stdout + r.stderr).not.toContain(value);
        for (const where of [path.join(ws.dir, 'out'), path.join(ws.dir, 'build'), ws.cache]) expect(await filesHolding(where, value), `${value} in ${where}`).toEqual([]);
      }

      // Other values, same keys: every step comes from the cache.
      await writeFile(tokenFile, 'tok-another-value-entirely\n');
      const again = await imgfactory(['build', 'secret-user', ...secretArgs, ...ws.args], { ...env, MY_PASSWORD: 'pw-another-value-entirely' });
      expect(again.exitCode).toBe(0);
      const second = JSON.parse(again.stdout) as typeof summary;
      expect(second.steps.map((s) => s.key)).toEqual(summary.steps.map((s) => s.key));
      expect(second.steps.every((s) => s.status === 'cached')).toBe(true);
    },
    LONG,
  );

  it(
    'given with --env or as a DIB_* variable under a name that looks secret are refused, naming the name and never the value',
    async () => {
      const ws = await workspace('env-secret');
      const viaEnv = await imgfactory(['build', 'secret-user', '--env', `SECRET=${PASSWORD}`, ...ws.args]);
      expect(viaEnv.exitCode).toBe(2);
      expect(viaEnv.stderr).toMatch(/error: --env SECRET: the name looks like a secret/);
      expect(viaEnv.stderr).toMatch(/--secret id=SECRET,export/);
      const viaDib = await imgfactory(['build', 'secret-user', ...ws.args], { DIB_DEV_USER_PASSWORD: PASSWORD });
      expect(viaDib.exitCode).toBe(2);
      expect(viaDib.stderr).toMatch(/error: DIB_DEV_USER_PASSWORD \(in the environment\): the name looks like a secret/);
      for (const r of [viaEnv, viaDib]) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(existsSync(path.join(ws.dir, 'out'))).toBe(false);
    },
    LONG,
  );

  it(
    'copied into the tree by a hook fail the step, naming the hook and the secret, and the layer goes nowhere',
    async () => {
      const ws = await workspace('secret-leaker');
      const tokenFile = path.join(ws.dir, 'token');
      await writeFile(tokenFile, TOKEN);
      const r = await imgfactory(['build', 'secret-leaker', '--secret', `id=api-token,src=${tokenFile}`, ...ws.args]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/error: hook secret-leaker\/install\.d\/50-leak wrote the secret api-token into the tree; its layer was neither stored nor used/);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      for (const where of [ws.cache, path.join(ws.dir, 'build')]) expect(await filesHolding(where, TOKEN)).toEqual([]);
      expect(existsSync(path.join(ws.dir, 'out', 'secret-leaker.tar'))).toBe(false);
    },
    LONG,
  );
});

describe('hooks run outside the tree', () => {
  it(
    'cannot write on the host outside the build: a root.d hook that tries fails, naming itself, and the file does not appear',
    async () => {
      const ws = await workspace('host-writer');
      const r = await imgfactory(['build', 'host-writer', '--sandbox', 'container', ...ws.args]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/error: hook host-writer\/root\.d\/10-escape failed \(exit 1\)/);
      expect(r.stderr).toMatch(/\| .*escaped-from-root\.d: Read-only file system/);
      expect(r.stderr).toMatch(/hint: .*outside the tree .* read-only/);
      // The hook's own write into the tree went through: it got that far.
      expect(r.stderr).toContain('climbing out of');
      expect(existsSync(path.join(ws.dir, 'escaped-from-root.d'))).toBe(false);
      // The host itself is as writable as ever.
      await (await open(path.join(ws.dir, 'still-writable'), 'w')).close();
    },
    LONG,
  );
});
