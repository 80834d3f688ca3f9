// Runs one host tool (mkfs, sfdisk, mcopy, qemu-img, ...) for image assembly
// and turns a non-zero exit into an 'image-tool-failed' value with the tail
// of its stderr. Every command line goes to the caller's log first.
import { execa } from 'execa';
import { fail, ok, type Result } from '../failure.js';

export type LogFn = (line: string) => void;

export interface ToolOptions {
  env?: Record<string, string>;
  input?: string | Buffer;
  cwd?: string;
  onLog?: LogFn;
  /** Binary stdout (for tools that print an image); otherwise stdout is text. */
  binary?: boolean;
}

export interface ToolOutput {
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

/** Runs `tool args...` with a fixed C locale; stdout comes back, failures as values. */
export async function runTool(tool: string, args: string[], opts: ToolOptions = {}): Promise<Result<ToolOutput>> {
  opts.onLog?.(`$ ${[tool, ...args].join(' ')}`);
  const r = await execa(tool, args, {
    reject: false,
    env: { LC_ALL: 'C', ...opts.env },
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  const stdoutBytes = Buffer.from(r.stdout as Uint8Array);
  const stderr = Buffer.from(r.stderr as Uint8Array).toString('utf8');
  if (r.failed) {
    const tail = stderr.trim().split('\n').slice(-15);
    if (r.code === 'ENOENT') tail.push(`${tool}: not found on this host (run scripts/setup)`);
    return fail({ reason: 'image-tool-failed', tool, args, exitCode: r.exitCode ?? null, stderrTail: tail });
  }
  return ok({ stdout: opts.binary ? '' : stdoutBytes.toString('utf8'), stdoutBytes, stderr });
}
