// The clouds a publish or prune works on: `--os-cloud a,b,c` (repeatable)
// and/or `--clouds-file FILE` (one cloud name a line, `#` comments), in that
// order; none: the one cloud of OS_CLOUD or the OS_* variables.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { FailureError } from '../failure.js';

export interface CloudsArgs {
  osCloud?: string[];
  cloudsFile?: string;
}

export function withCloudsArgs<T>(y: Argv<T>): Argv<T> {
  return y
    .option('os-cloud', { type: 'string', array: true, describe: 'cloud(s) in clouds.yaml, comma-separated or repeated (default OS_CLOUD, else the OS_* variables)' })
    .option('clouds-file', { type: 'string', describe: 'a file naming clouds of clouds.yaml, one a line (# comments)' }) as never;
}

/** The cloud names asked for, in order; empty: the default cloud. */
export function cloudNames(a: CloudsArgs): string[] {
  const names = (a.osCloud ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  if (a.cloudsFile) {
    let text: string;
    try {
      text = readFileSync(a.cloudsFile, 'utf8');
    } catch (e) {
      throw new FailureError({ reason: 'usage', message: `--clouds-file ${a.cloudsFile}: ${(e as Error).message}` });
    }
    names.push(...text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
  }
  return names;
}
