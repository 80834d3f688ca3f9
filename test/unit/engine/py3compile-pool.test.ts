// The byte-compiling pool of package-installs (helper-scripts.ts), run on the
// host's own py3compile: a postinst's call returns at once, the .pyc files
// are there once the pool is waited for, and a call that failed fails the
// wait, named, as it would have failed the postinst.
import { execa } from 'execa';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { PY3COMPILE_POOL } from '../../../src/steps/helper-scripts.js';
import { scratchDir } from '../../support/run-dir.js';

let dir: string;

beforeEach(async () => {
  dir = await scratchDir('py3compile-pool');
  await writeFile(path.join(dir, 'pool.sh'), PY3COMPILE_POOL);
  await mkdir(path.join(dir, 'shims'));
});

/** Starts the pool, makes each call through the shim as a postinst would, then closes and waits. */
async function runPool(calls: string[][]) {
  const script = [
    'set -eu',
    `source ${dir}/pool.sh`,
    `py3compile_pool_start ${dir}/shims`,
    ...calls.map((args) => `PATH=${dir}/shims:$PATH py3compile ${args.map((a) => `'${a}'`).join(' ')} 9>&- && echo "returned: ${args.at(-1)}"`),
    'py3compile_pool_close',
    `py3compile_pool_wait ${dir}/shims`,
    'echo pool-done',
  ].join('\n');
  return execa('bash', ['-c', script], { reject: false });
}

async function module(name: string, file: string, text: string): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, file), text);
  return d;
}

const pyc = async (d: string): Promise<string[]> => readdir(path.join(d, '__pycache__')).catch(() => []);

describe('py3compile pool', () => {
  it('compiles every queued call, arguments with spaces kept, by the time the wait returns', async () => {
    const a = await module('a', 'm.py', 'x = 1\n');
    const b = await module('b', 'keep.py', 'y = 2\n');
    await writeFile(path.join(b, 'skip me.py'), 'z = 3\n');
    const r = await runPool([[a], ['-X', 'skip me', b]]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/pool-done$/);
    expect(await pyc(a)).toEqual(['m.cpython-311.pyc']);
    expect(await pyc(b)).toEqual(['keep.cpython-311.pyc']);
  });

  it('lets the postinst go on past a failing call, then fails the wait naming it', async () => {
    const good = await module('good', 'ok.py', 'x = 1\n');
    const bad = await module('bad', 'broken.py', 'def f(:\n');
    const r = await runPool([[bad], [good]]);
    expect(r.stdout).toContain(`returned: ${bad}`);
    expect(r.stdout).toContain(`returned: ${good}`);
    expect(r.stdout).not.toContain('pool-done');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('byte-compiling failed');
    expect(r.stderr).toContain(`py3compile ${bad}: exit 1`);
    expect(r.stderr).not.toContain(`py3compile ${good}:`);
    expect(await pyc(good)).toEqual(['ok.cpython-311.pyc']);
  });

  it('ends at once when nothing was queued', async () => {
    const r = await runPool([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('pool-done');
  });
});
