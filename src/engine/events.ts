// What a build reports while it runs. The builder emits these; the CLI
// renders them (live lines, progress, the timing table, --json).
import type { Step } from '../steps/index.js';

export type StepStatus = 'cached' | 'built';

export interface StepReport {
  index: number;
  id: string;
  phase: string;
  status: StepStatus;
  seconds: number;
  /** Compressed size of the step's layer, bytes. */
  layerSize: number;
  key: string;
  /** sha256 of the step's layer blob (`sha256:<hex>`): the bytes it wrote. */
  layer: string;
  /** Per-step log file (built steps only). */
  log?: string;
}

export type BuildEvent =
  | { type: 'note'; message: string }
  /** Something went wrong that the build works around (a remote cache that is down). */
  | { type: 'warning'; message: string }
  | { type: 'step-start'; index: number; total: number; step: Step; cached: boolean }
  | { type: 'step-line'; step: Step; stream: 'stdout' | 'stderr'; line: string }
  /** What is being done now, for a live status line only (no line in a log). */
  | { type: 'activity'; source: string; text: string }
  /** Output of work that is not a step, e.g. disk image assembly. */
  | { type: 'log'; source: string; line: string }
  | { type: 'step-end'; report: StepReport }
  | { type: 'output'; path: string; format: string; size: number; cached: boolean };

export type EventSink = (event: BuildEvent) => void;
