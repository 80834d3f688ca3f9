// Retiring old images of one series (the images marked by imgfactory with
// imgfactory_image=<series>, owned by our project) in one cloud:
// - `keep N`: all but the newest N usable images are deleted, newest by the
//   time publish created them (imgfactory_published_at, ms; Glance's
//   created_at has only seconds), except one protected or in use by a server
//   where the cloud can tell (servers.ts) and one Nova could not answer for;
// - leaked uploads: images still queued/saving/uploading/importing (or
//   killed) that were created before the run that looks at them began: an
//   upload that was interrupted. They are always removed, `--keep` or not.
// Uploads newer than the run are someone else's in progress and left alone.
// planRetention is pure; applyRetention deletes and reports each decision.
import { fail, ok, type Result } from '../failure.js';
import { deleteImage, listImages, type GlanceImage } from './images.js';
import type { Session } from './keystone.js';
import { MARKER_TAG, SERIES_PROPERTY } from './naming.js';
import { inUseCheck, serversUsing } from './servers.js';

/** When publish made the image (ISO 8601 with ms): the order retention counts in. */
export const PUBLISHED_AT_PROPERTY = 'imgfactory_published_at';

const UPLOADING = new Set(['queued', 'saving', 'uploading', 'importing']);
const USABLE = new Set(['active', 'deactivated']);

export interface RetentionPlan {
  kept: GlanceImage[];
  retire: GlanceImage[];
  leaked: GlanceImage[];
  inFlight: GlanceImage[];
}

const publishedAt = (i: GlanceImage): string => (typeof i[PUBLISHED_AT_PROPERTY] === 'string' ? (i[PUBLISHED_AT_PROPERTY] as string) : String(i.created_at ?? ''));

/** Newest first (`current` before all), then by id: a total order, so two runs plan alike. */
function newestFirst(current: string | undefined): (a: GlanceImage, b: GlanceImage) => number {
  const rank = (i: GlanceImage): [number, string, string] => [i.id === current ? 0 : 1, publishedAt(i), i.id];
  return (a, b) => {
    const [ra, ta, ia] = rank(a);
    const [rb, tb, ib] = rank(b);
    if (ra !== rb) return ra - rb;
    if (ta !== tb) return ta > tb ? -1 : 1;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  };
}

/** What to keep and what to delete among one series' images. `keep` null: only leaks are looked for. `current`: the image this run made, always kept. */
export function planRetention(images: GlanceImage[], o: { keep: number | null; startedAt: string; current?: string }): RetentionPlan {
  const usable = images.filter((i) => USABLE.has(i.status)).sort(newestFirst(o.current));
  const cut = o.keep === null ? usable.length : o.keep;
  const stale = (i: GlanceImage): boolean => i.id !== o.current && (i.status === 'killed' || (UPLOADING.has(i.status) && publishedAt(i) < o.startedAt));
  return {
    kept: usable.slice(0, cut),
    retire: usable.slice(cut),
    leaked: images.filter(stale),
    inFlight: images.filter((i) => UPLOADING.has(i.status) && !stale(i) && i.id !== o.current),
  };
}

export interface RetentionReport {
  series: string;
  keep: number | null;
  kept: string[];
  deleted: { id: string; name: string | null; status: string; why: 'retired' | 'leaked upload' }[];
  skipped: { id: string; name: string | null; why: string }[];
  /** Uploads newer than this run, left alone. */
  inFlight: string[];
  /** How "in use" was decided: `nova`, or why it could not be. */
  inUseCheck: string;
}

/** The series' images in this cloud: our marker tag, our project, our series. */
export async function seriesImages(s: Session, glance: string, series: string): Promise<Result<GlanceImage[]>> {
  const listed = await listImages(s, glance, { tag: MARKER_TAG, ...(s.projectId ? { owner: s.projectId } : {}) });
  if (!listed.ok) return listed;
  return ok(listed.value.filter((i) => i[SERIES_PROPERTY] === series && (!s.projectId || i.owner === s.projectId)));
}

export async function applyRetention(s: Session, glance: string, series: string, o: { keep: number | null; startedAt: string; current?: string }): Promise<Result<RetentionReport>> {
  const images = await seriesImages(s, glance, series);
  if (!images.ok) return images;
  const plan = planRetention(images.value, o);
  const check = inUseCheck(s);
  const report: RetentionReport = {
    series,
    keep: o.keep,
    kept: plan.kept.map((i) => i.id),
    deleted: [],
    skipped: [],
    inFlight: plan.inFlight.map((i) => i.id),
    inUseCheck: check.by === 'nova' ? 'nova' : `none: ${check.why}`,
  };
  const remove = async (i: GlanceImage, why: 'retired' | 'leaked upload'): Promise<Result<void>> => {
    const d = await deleteImage(s, glance, i.id);
    if (!d.ok) return fail({ ...d.error, ...(d.error.reason === 'publish-failed' ? { step: `deleting ${why === 'retired' ? 'the old' : 'the leaked'} image ${i.id}` } : {}) });
    report.deleted.push({ id: i.id, name: i.name, status: i.status, why });
    return ok(undefined);
  };
  for (const i of plan.leaked) {
    const d = await remove(i, 'leaked upload');
    if (!d.ok) return d;
  }
  for (const i of plan.retire) {
    if (i.protected === true) {
      report.skipped.push({ id: i.id, name: i.name, why: 'protected' });
      continue;
    }
    if (check.by === 'nova') {
      const used = await serversUsing(s, check, i.id);
      if (!used.ok) return used;
      if (!Array.isArray(used.value)) {
        report.skipped.push({ id: i.id, name: i.name, why: `Nova could not say whether it is in use: ${used.value.unknown}` });
        continue;
      }
      if (used.value.length) {
        report.skipped.push({ id: i.id, name: i.name, why: `in use by server ${used.value.join(', ')}` });
        continue;
      }
    }
    const d = await remove(i, 'retired');
    if (!d.ok) return d;
  }
  return ok(report);
}
