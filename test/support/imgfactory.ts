// Runs the real imgfactory command (bin/imgfactory.js over the compiled
// dist/) as a child process, the way a user or a CI job does.
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/imgfactory.js', import.meta.url));

export interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function startImgfactory(args: string[], env: Record<string, string> = {}, cwd?: string): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [BIN, ...args], { reject: false, all: true, env: { CI: 'true', ...env }, ...(cwd ? { cwd } : {}) }) as never;
}

export async function imgfactory(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  const r = await startImgfactory(args, env, cwd);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
