// `imgfactory prune`: retention (retention.ts) on its own, over one or many
// clouds: keep the newest N images of a series, delete the rest and any
// leaked upload. Every cloud is resolved before any is touched; after that
// each cloud's outcome is reported on its own.
import { fail, ok, type Failure, type Result } from '../failure.js';
import { mapLimit } from '../util/map-limit.js';
import { resolveCloud, type Cloud } from './cloud-config.js';
import { openCloud } from './publish-cloud.js';
import { applyRetention, type RetentionReport } from './retention.js';

export interface PruneOptions {
  /** Named clouds; empty: OS_CLOUD, else the OS_* variables. */
  clouds: string[];
  /** The series: the manifest's image name (imgfactory_image). */
  series: string;
  keep: number;
  parallel?: number;
}

export interface PruneResult {
  cloud: string;
  ok: boolean;
  retention: RetentionReport | null;
  failure?: Failure;
}

export interface PruneReport {
  ok: boolean;
  series: string;
  keep: number;
  clouds: PruneResult[];
}

export async function prune(o: PruneOptions): Promise<Result<PruneReport>> {
  const startedAt = new Date().toISOString();
  if (!Number.isInteger(o.keep) || o.keep < 0) return fail({ reason: 'usage', message: `--keep ${o.keep}: a whole number, 0 or more` });
  const targets: { label: string; cloud: Cloud }[] = [];
  for (const name of o.clouds.length ? o.clouds : [undefined]) {
    const c = resolveCloud(name);
    if (!c.ok) return c;
    targets.push({ label: name ?? process.env.OS_CLOUD ?? 'OS_* variables', cloud: c.value });
  }
  const results = await mapLimit(targets, o.parallel ?? 2, async (t): Promise<PruneResult> => {
    const opened = await openCloud(t.cloud);
    if (!opened.ok) return { cloud: t.label, ok: false, retention: null, failure: opened.error };
    const r = await applyRetention(opened.value.session, opened.value.glance, o.series, { keep: o.keep, startedAt });
    return r.ok ? { cloud: t.label, ok: true, retention: r.value } : { cloud: t.label, ok: false, retention: null, failure: r.error };
  });
  return ok({ ok: results.every((r) => r.ok), series: o.series, keep: o.keep, clouds: results });
}
