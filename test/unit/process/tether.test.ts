// A program started tethered dies with the process that started it, even when
// that process is SIGKILLed, and never starts once that process is gone.
// The starting process here is a bash that reads the command line from stdin,
// so the test knows its pid before making the command.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { resolveTool, tethered } from '../../../src/process/tether.js';

/** Starts a bash that runs the command it is sent in the background and prints its pid; returns both. */
async function starter(command: (starterPid: number) => [string, string[]]) {
  const bash = execa('bash', ['-c', 'mapfile -d "" -t cmd; "${cmd[@]}" & echo $!; wait'], { reject: false, buffer: false });
  const [file, args] = command(bash.pid!);
  bash.stdin!.end([file, ...args].map((a) => `${a}\0`).join(''));
  const pid = await new Promise<number>((resolve) => bash.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  return { bash, pid };
}

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && !/^\d+ \(.*\) Z /.test(stat);
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && (await alive(pid)); i++) await new Promise((r) => setTimeout(r, 50));
  return !(await alive(pid));
}

describe('tethered programs', () => {
  it('die when the process that started them is SIGKILLed', async () => {
    const { bash, pid } = await starter((parent) => tethered('/bin/sleep', ['600'], false, parent));
    const comm = (): Promise<string> => readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    for (let i = 0; i < 100 && (await comm()) !== 'sleep\n'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await comm()).toBe('sleep\n'); // past the wrapper: the pid is sleep's own
    bash.kill('SIGKILL');
    await bash;
    expect(await gone(pid)).toBe(true);
  });

  it('never start when the process that started them is not their parent (any more)', async () => {
    const { bash, pid } = await starter(() => tethered('/bin/sleep', ['600'], false, 1));
    expect(await gone(pid)).toBe(true);
    bash.kill('SIGKILL');
    await bash;
  });

  it('find tools as spawn does: a path as given, else on PATH, else not at all', () => {
    expect(resolveTool('/no/such/tool', undefined)).toBe('/no/such/tool');
    expect(resolveTool('sh', '/nonexistent:/bin')).toBe('/bin/sh');
    expect(resolveTool('sh', '/nonexistent')).toBeUndefined();
    expect(resolveTool('tmp', '/')).toBeUndefined(); // a directory is not a program
  });
});
