// An Output that records what the CLI said, for in-process CLI tests.
import type { Output } from '../../src/cli/output.js';

export interface Captured extends Output {
  stderr: string[];
  stdout: string[];
}

export function captureOutput(): Captured {
  const stderr: string[] = [];
  const stdout: string[] = [];
  return {
    stderr,
    stdout,
    info: (l) => stderr.push(l),
    warn: (l) => stderr.push(`warning: ${l}`),
    error: (l) => stderr.push(`error: ${l}`),
    json: (v) => stdout.push(JSON.stringify(v, null, 2)),
    print: (t) => stdout.push(t),
  };
}
