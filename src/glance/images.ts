// Glance v2 image calls: create (POST /v2/images), upload the data streamed
// from a file (PUT /v2/images/{id}/file), read (GET), wait for a status and
// delete. GET and DELETE are retried on network errors; POST and the upload
// never are (a retry could make a second image or re-send the data).
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

export async function uploadImageData(s: Session, glance: string, id: string, file: string, size: number, onProgress?: (sent: number, total: number) => void): Promise<Result<UploadOutcome>> {
  const c = await call(s, 'uploading the image data', 'PUT', `${glance}/v2/images/${id}/file`, {
    headers: { 'Content-Type': 'application/octet-stream' },
    file: { path: file, size, ...(onProgress ? { onProgress } : {}) },
    timeoutMs: 30 * 60_000,
  });
  if (!c.ok) return c.error;
  if (c.res.status === 204 || c.res.status === 200) return ok({ done: true });
  return ok({ done: false, status: c.res.status, message: errorText(c.res) });
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

/** Polls until the image is `active` (or fails: killed, deleted, gone, or the time is up). */
export async function waitForActive(s: Session, glance: string, id: string, timeoutMs = 10 * 60_000): Promise<Result<GlanceImage>> {
  const until = Date.now() + timeoutMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    const g = await getImage(s, glance, id);
    if (!g.ok) return g;
    if (!g.value) return fail({ reason: 'publish-failed', step: 'waiting for the image', message: `image ${id} disappeared` });
    if (g.value.status === 'active') return ok(g.value);
    if (['killed', 'deleted', 'pending_delete', 'deactivated'].includes(g.value.status)) {
      return fail({ reason: 'publish-failed', step: 'waiting for the image', message: `image ${id} went to status "${g.value.status}"` });
    }
    if (Date.now() > until) return fail({ reason: 'publish-failed', step: 'waiting for the image', message: `image ${id} still "${g.value.status}" after ${Math.round(timeoutMs / 1000)} s` });
    await new Promise((r) => setTimeout(r, delay));
  }
}
