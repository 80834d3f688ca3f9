// What publish and prune report: the JSON document (--json on stdout,
// --report to a file) and, on stderr, what retention did in each cloud: what
// was deleted and why, what was kept back and why, and whether "in use"
// could be checked.
import type { RetentionReport } from '../glance/retention.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Output } from './output.js';

/** Writes the report where the options say. */
export async function emitReport(out: Output, report: unknown, a: { report?: string; json?: boolean }): Promise<void> {
  if (a.report) await writeFileAtomic(a.report, `${JSON.stringify(report, null, 2)}\n`);
  if (a.json) out.json(report);
}

/** Prints what retention did in one cloud. */
export function printRetention(out: Output, cloud: string, r: RetentionReport | null): void {
  if (!r) return;
  const lines = retentionLines(cloud, r);
  lines.info.forEach((l) => out.info(l));
  lines.warn.forEach((l) => out.warn(l));
}

export function retentionLines(cloud: string, r: RetentionReport): { info: string[]; warn: string[] } {
  const info = r.deleted.map((d) => `${cloud}: deleted ${d.why === 'retired' ? 'old' : 'leaked'} image ${d.id} (${d.name ?? 'no name'}, ${d.status})`);
  if (r.keep !== null) info.push(`${cloud}: keeping ${r.kept.length} of series "${r.series}" (--keep ${r.keep})`);
  for (const id of r.inFlight) info.push(`${cloud}: left alone image ${id}: an upload that began after this run did`);
  const warn = r.skipped.map((x) => `${cloud}: kept image ${x.id} (${x.name ?? 'no name'}): ${x.why}`);
  if (r.keep !== null && r.inUseCheck !== 'nova' && (r.deleted.some((d) => d.why === 'retired') || r.skipped.length)) {
    warn.push(`${cloud}: could not check whether the deleted images were in use: ${r.inUseCheck.replace(/^none: /, '')}`);
  }
  return { info, warn };
}
