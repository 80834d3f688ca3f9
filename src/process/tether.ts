// Programs that die with imgfactory. A program run.ts starts is imgfactory's
// child; if imgfactory is killed outright (SIGKILL, the OOM killer), the
// kernel would leave it running (mkfs.ext4 writing into a build directory
// nobody owns any more). So each one starts through a tiny wrapper:
//
//   setpriv --pdeathsig KILL -- /bin/sh -c '<check>' <our pid> <program> <args...>
//
// setpriv (util-linux) asks the kernel to SIGKILL the process when its parent
// dies, then execs sh, which checks that its parent is still this imgfactory
// (it may have died before the request was made: then the program never
// starts) and execs the program in its place. The program keeps the pid
// execa knows, so signals, exit codes and output are its own.
//
// Programs that start groups of their own (the sandbox's) have a lifeline
// instead (sandbox/ns-init.ts). Without setpriv on the host, programs start
// untethered.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** sh: exec the program only if our parent is still the imgfactory that started us ($0); sh's own PWD is not passed on. */
const CHECK_PARENT = '[ "$PPID" = "$0" ] || exit 137; exec "$@"';
const CHECK_PARENT_NO_PWD = '[ "$PPID" = "$0" ] || exit 137; unset PWD; exec "$@"';
const FALLBACK_PATH = '/usr/bin:/bin';

let setpriv: string | null | undefined;

/**
 * The program and arguments that run `file args...` tethered to `parent`,
 * the process that starts them (this one; unchanged without setpriv).
 * `hasPwd`: whether the program's environment holds PWD; when it does not,
 * sh's is removed again.
 */
export function tethered(file: string, args: string[], hasPwd: boolean, parent = process.pid): [string, string[]] {
  setpriv ??= findOnPath('setpriv', process.env.PATH ?? FALLBACK_PATH) ?? null;
  if (setpriv === null) return [file, args];
  return [setpriv, ['--pdeathsig', 'KILL', '--', '/bin/sh', '-c', hasPwd ? CHECK_PARENT : CHECK_PARENT_NO_PWD, String(parent), file, ...args]];
}

/**
 * Where `tool` is, found the way Node's spawn finds it: a path as given, else
 * on the PATH of the environment the program gets (the default search path
 * when that environment has none). Undefined: not found, or not executable.
 */
export function resolveTool(tool: string, pathVar: string | undefined): string | undefined {
  if (tool.includes('/')) return tool;
  return findOnPath(tool, pathVar ?? FALLBACK_PATH);
}

function findOnPath(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(':')) {
    const candidate = path.join(dir || '.', name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
