// The timing table printed at the end of a build (diskimage-builder prints
// one; users rely on it): every step with its status, time and layer size,
// then a total per phase.
import type { StepReport } from '../engine/events.js';
import { formatBytes, formatSeconds } from '../util/format.js';

export function timingTable(steps: StepReport[], totalSeconds: number): string {
  const idWidth = Math.max(4, ...steps.map((s) => s.id.length));
  const lines = [`${'step'.padEnd(idWidth)}  status  ${'time'.padStart(10)}  ${'layer'.padStart(9)}`];
  for (const s of steps) {
    lines.push(`${s.id.padEnd(idWidth)}  ${s.status.padEnd(6)}  ${formatSeconds(s.seconds).padStart(10)}  ${formatBytes(s.layerSize).padStart(9)}`);
  }
  const phases = new Map<string, { seconds: number; built: number; cached: number }>();
  for (const s of steps) {
    const p = phases.get(s.phase) ?? { seconds: 0, built: 0, cached: 0 };
    p.seconds += s.seconds;
    if (s.status === 'built') p.built++;
    else p.cached++;
    phases.set(s.phase, p);
  }
  lines.push('', `${'phase'.padEnd(16)}  ${'time'.padStart(10)}  built  cached`);
  for (const [phase, p] of phases) {
    lines.push(`${phase.padEnd(16)}  ${formatSeconds(p.seconds).padStart(10)}  ${String(p.built).padStart(5)}  ${String(p.cached).padStart(6)}`);
  }
  lines.push(`${'total'.padEnd(16)}  ${formatSeconds(totalSeconds).padStart(10)}`);
  return lines.join('\n');
}
