// Glance v2 image calls: create (POST /v2/images), upload the data streamed
// from a file (PUT /v2/images/{id}/file), or stage it and import it
// (interoperable image import: PUT /v2/images/{id}/stage, then POST
// /v2/images/{id}/import with glance-direct), or have Glance fetch it from a
// URL (POST /v2/images/{id}/import with web-download), read and list (GET), wait for a
// status and delete. GET and DELETE are retried on network errors; POST and
// the uploads never are (a retry could make a second image or re-send the data).
import { fail, ok, type Result } from '../failure.js';
import { describeRequest, errorText, jsonBody, NetworkError, request, type HttpResponse } from './http.js';
import { authHeaders, type Session } from './keystone.js';

export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  size: number | null;
  [property: string]: unknown;
}

type Call = { ok: true; res: HttpResponse } | { ok: false; error: Result<never> };

async function call(s: Session, step: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, extra: Partial<Parameters<typeof request>[0]> = {}): Promise<Call> {
  try {
    const res = await request({ ...extra, method, url, headers: { ...authHeaders(s), ...(extra.headers ?? {}) }, ...s.tls, retry: method === 'GET' || method === 'DELETE' });
    return { ok: true, res };
  } catch (e) {
    if (e instanceof NetworkError) return { ok: false, error: fail({ reason: 'publish-failed', step, message: `network error on ${describeRequest(method, url)}: ${e.code}` }) };
    throw e;
  }
}

function httpFailure(step: string, res: HttpResponse, leftBehind?: string): Result<never> {
  return fail({ reason: 'publish-failed', step, status: res.status, message: errorText(res), ...(leftBehind ? { leftBehind } : {}) });
}

export async function createImage(s: Session, glance: string, body: Record<string, unknown>): Promise<Result<GlanceImage>> {
  const c = await call(s, 'creating the image', 'POST', `${glance}/v2/images`, { json: body });
  if (!c.ok) return c.error;
  if (c.res.status !== 201) return httpFailure('creating the image', c.res);
  const img = jsonBody<GlanceImage>(c.res);
  return img?.id ? ok(img) : fail({ reason: 'publish-failed', step: 'creating the image', status: c.res.status, message: 'the answer carried no image id' });
}

/** The upload's outcome: done, refused (with Glance's status and words), or a failure to talk at all. */
export type UploadOutcome = { done: true } | { done: false; status: number; message: string };

/** Where the data goes: the image itself (PUT /file, the classic upload) or its staging area (PUT /stage, the first half of glance-direct). */
export type DataTarget = 'file' | 'stage';

/** Streams `file` to the image's `target`. */
export async function sendImageData(s: Session, glance: string, id: string, target: DataTarget, file: string, size: number, onProgress?: (sent: number, total: number) => void): Promise<Result<UploadOutcome>> {
  const step = target === 'file' ? 'uploading the image data' : 'staging the image data';
  const c = await call(s, step, 'PUT', `${glance}/v2/images/${id}/${target}`, {
    headers: { 'Content-Type': 'application/octet-stream' },
    file: { path: file, size, ...(onProgress ? { onProgress } : {}) },
    timeoutMs: 30 * 60_000,
  });
  if (!c.ok) return c.error;
  if (c.res.status === 204 || c.res.status === 200) return ok({ done: true });
  return ok({ done: false, status: c.res.status, message: errorText(c.res) });
}

/** An import method: the staged data (glance-direct), or a URL Glance fetches itself (web-download). */
export type ImportMethod = { name: 'glance-direct' } | { name: 'web-download'; uri: string };

/** The step of a failed web-download request (a 400 there: Glance's import filtering refused the URL). */
export const WEB_DOWNLOAD_STEP = 'asking Glance to fetch the served image (web-download)';

/** Asks Glance to import (POST /v2/images/{id}/import); the image then goes importing → active. */
export async function startImport(s: Session, glance: string, id: string, method: ImportMethod): Promise<Result<void>> {
  const step = method.name === 'glance-direct' ? 'importing the staged data' : WEB_DOWNLOAD_STEP;
  const c = await call(s, step, 'POST', `${glance}/v2/images/${id}/import`, { json: { method } });
  if (!c.ok) return c.error;
  return c.res.status === 202 ? ok(undefined) : httpFailure(step, c.res);
}

/** The import methods the cloud offers (GET /v2/info/import); none when it has no such call (before Queens) or disabled it. */
export async function importMethods(s: Session, glance: string): Promise<Result<string[]>> {
  const c = await call(s, 'asking for the import methods', 'GET', `${glance}/v2/info/import`);
  if (!c.ok) return c.error;
  if (c.res.status === 404) return ok([]);
  if (c.res.status !== 200) return httpFailure('asking for the import methods', c.res);
  const v = jsonBody<{ 'import-methods'?: { value?: unknown } }>(c.res)?.['import-methods']?.value;
  return ok(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
}

/** The image's newest task (GET /v2/images/{id}/tasks, Glance >= Wallaby); null when there is none or the cloud cannot say. */
export async function lastTask(s: Session, glance: string, id: string): Promise<{ status: string; message: string } | null> {
  const c = await call(s, 'reading the import task', 'GET', `${glance}/v2/images/${id}/tasks`);
  if (!c.ok || c.res.status !== 200) return null;
  const tasks = jsonBody<{ tasks?: { status?: string; message?: string; created_at?: string }[] }>(c.res)?.tasks ?? [];
  const last = [...tasks].sort((a, b) => ((a.created_at ?? '') < (b.created_at ?? '') ? -1 : 1)).at(-1);
  return last ? { status: last.status ?? '', message: last.message ?? '' } : null;
}

/** Every image the query matches, across Glance's pages (`next`). */
export async function listImages(s: Session, glance: string, query: Record<string, string>): Promise<Result<GlanceImage[]>> {
  const out: GlanceImage[] = [];
  let next: string | undefined = `/v2/images?${new URLSearchParams({ limit: '100', ...query }).toString()}`;
  while (next) {
    const c = await call(s, 'listing images', 'GET', `${glance}${next}`);
    if (!c.ok) return c.error;
    if (c.res.status !== 200) return httpFailure('listing images', c.res);
    const page = jsonBody<{ images?: GlanceImage[]; next?: string }>(c.res);
    out.push(...(page?.images ?? []));
    next = page?.next;
  }
  return ok(out);
}

export async function getImage(s: Session, glance: string, id: string): Promise<Result<GlanceImage | null>> {
  const c = await call(s, 'reading the image', 'GET', `${glance}/v2/images/${id}`);
  if (!c.ok) return c.error;
  if (c.res.status === 404) return ok(null);
  if (c.res.status !== 200) return httpFailure('reading the image', c.res);
  return ok(jsonBody<GlanceImage>(c.res));
}

export async function deleteImage(s: Session, glance: string, id: string): Promise<Result<void>> {
  const c = await call(s, 'deleting the image', 'DELETE', `${glance}/v2/images/${id}`);
  if (!c.ok) return c.error;
  if (c.res.status === 204 || c.res.status === 404) return ok(undefined);
  return httpFailure('deleting the image', c.res, `image ${id}`);
}

/**
 * Polls until the image is `active` (or fails: killed, deleted, gone, or the
 * time is up). An import that fails leaves the image `importing` (Zed) or
 * sends it back to `queued` with `os_glance_failed_import` set, or, when a
 * web-download could not fetch the URL at all, just `queued`; its task then
 * says `failure`, and the failure carries the task's message. `imported`: an
 * import was asked for, so a `queued` image's task is read too.
 */
export async function waitForActive(s: Session, glance: string, id: string, imported: boolean, timeoutMs = 10 * 60_000): Promise<Result<GlanceImage>> {
  const until = Date.now() + timeoutMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    const g = await getImage(s, glance, id);
    if (!g.ok) return g;
    if (!g.value) return fail({ reason: 'publish-failed', step: 'waiting for the image', message: `image ${id} disappeared` });
    if (g.value.status === 'active') return ok(g.value);
    const failedImport = typeof g.value.os_glance_failed_import === 'string' && g.value.os_glance_failed_import !== '';
    if (g.value.status === 'importing' || (g.value.status === 'queued' && (failedImport || imported))) {
      const task = await lastTask(s, glance, id);
      if (task?.status === 'failure' || (failedImport && !task)) {
        return fail({ reason: 'publish-failed', step: 'importing the image', message: `the import of ${id} failed${task?.message ? `: ${task.message}` : ''}` });
      }
    }
    if (['killed', 'deleted', 'pending_delete', 'deactivated'].includes(g.value.status)) {
      return fail({ reason: 'publish-failed', step: 'waiting for the image', message: `image ${id} went to status "${g.value.status}"` });
    }
    if (Date.now() > until) return fail({ reason: 'publish-failed', step: 'waiting for the image', message: `image ${id} still "${g.value.status}" after ${Math.round(timeoutMs / 1000)} s` });
    await new Promise((r) => setTimeout(r, delay));
  }
}
