// The programs only the tests need (qemu, docker-registry, htpasswd, dot,
// setcap, zstd, the test cloud's services) run from the test tools tree that
// `scripts/test-tools setup` makes (npm test runs it first), never from the
// host: see scripts/test-tools. A program run there sees the test run's
// scratch directory at the same path, so files pass in and out by name.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { runDir } from './run-dir.js';

export const TEST_TOOLS = fileURLToPath(new URL('../../scripts/test-tools', import.meta.url));

/**
 * The command line that runs `program args…` in the test tools tree, with the
 * run directory and `binds` visible (read-write) at their own paths: hand it
 * to execa or spawn as `(file, args)`. Killing the returned process kills
 * `program` too.
 */
export function inTestTools(program: string, args: string[], binds: string[] = []): [string, string[]] {
  const bindArgs = [runDir(), ...binds].flatMap((dir) => ['--bind', dir]);
  return [TEST_TOOLS, ['run', ...bindArgs, '--', program, ...args]];
}

let root: Promise<string> | undefined;

/** Where the tree is on the host (to read a file it ships, such as OVMF's variable store). */
export function testToolsRoot(): Promise<string> {
  root ??= execa(TEST_TOOLS, ['root']).then((r) => r.stdout.trim());
  return root;
}
