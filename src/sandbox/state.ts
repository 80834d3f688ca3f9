// The on-disk record of one running step, written before anything it would
// have to undo exists, so that the next build can clean up after a build that
// was killed outright (stale.ts).
//
//   <stateDir>/sandbox/<pid>-<n>.json   StepState (rewritten atomically)
//   <stateDir>/sandbox/<pid>-<n>/       the step's scratch: shadow/, resolv.conf, init spec, status
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { processIdOf, type ProcessId } from './processes.js';

export const STATE_VERSION = 1;

export interface StepState {
  v: typeof STATE_VERSION;
  kind: 'chroot' | 'container';
  /** The imgfactory process that ran the step. */
  owner: ProcessId;
  mergedDir: string;
  /** Mount points in the host namespace, in mount order; each is added before its mount is made. */
  mounts: string[];
  /** Leader of the command's process group, once started. */
  group?: ProcessId;
  scratchDir: string;
}

export function stateDirOf(stateDir: string): string {
  return path.join(stateDir, 'sandbox');
}

let sequence = 0;

export class StateRecord {
  private constructor(
    readonly file: string,
    readonly state: StepState,
  ) {}

  static async create(stateDir: string, kind: StepState['kind'], mergedDir: string): Promise<StateRecord> {
    const dir = stateDirOf(stateDir);
    const name = `${process.pid}-${++sequence}`;
    const owner = await processIdOf(process.pid);
    if (owner === undefined) throw new Error('cannot read /proc/self/stat');
    const scratchDir = path.join(dir, name);
    await mkdir(scratchDir, { recursive: true, mode: 0o700 });
    const record = new StateRecord(path.join(dir, `${name}.json`), { v: STATE_VERSION, kind, owner, mergedDir, mounts: [], scratchDir });
    await record.save();
    return record;
  }

  async addMount(target: string): Promise<void> {
    this.state.mounts.push(target);
    await this.save();
  }

  async setGroup(group: ProcessId | undefined): Promise<void> {
    if (group === undefined) return;
    this.state.group = group;
    await this.save();
  }

  /** Everything was undone: forget the step. */
  async remove(): Promise<void> {
    await rm(this.state.scratchDir, { recursive: true, force: true });
    await rm(this.file, { force: true });
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(this.state));
  }
}
