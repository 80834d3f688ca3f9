// Where the image is already served (`publish --image-url`), for Glance's
// web-download import: the URL template, the URL of each output a cloud may
// fetch, and the check made before any cloud is touched, that each URL
// answers with as many bytes as the manifest's output has.
//
//   --image-url https://releases.example/web/v7/{name}
//        {name} ─► the output's file name (web-v7.qcow2), percent-encoded
//
// The size check only catches a wrong URL early. What makes web-download as
// safe as an upload is the check after the import (publish-cloud.ts): the
// checksum (md5) and os_hash_value (sha512) Glance computed of what it fetched
// must equal the manifest's, or the image is deleted.
//
// A URL may carry a credential in its query (a Swift temp URL's signature, a
// presigned S3 URL): reports, logs and errors show it without query, fragment
// or user info (`shownUrl`); only Glance is given the whole URL.
import { fail, ok, type Result } from '../failure.js';
import type { ManifestOutput } from '../manifest/manifest.js';
import { NetworkError, request, type HttpResponse } from './http.js';

const FIELD = /\{([^}]*)\}/g;
const MAX_REDIRECTS = 5;

/** The URL without what may be secret (user info, query, fragment): for reports and messages. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

/** `text` with `url` shown as `shownUrl` shows it, in whatever form its query took (Glance echoes the URL it refused, HTML-escaped). */
export function hideQuery(text: string, url: string): string {
  const shown = shownUrl(url);
  const escaped = shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.split(url).join(shown).replace(new RegExp(`${escaped}[?#][^\\s"'<>]*`, 'g'), shown);
}

/**
 * The URL of each output that a cloud may fetch (by output file name), from
 * the template: `{name}` is the output's file name. A template without
 * `{name}` names one file, so it may serve only one output.
 */
export function servedUrls(template: string, outputs: ManifestOutput[]): Result<Map<string, string>> {
  const usage = (message: string, hint?: string): Result<never> => fail({ reason: 'usage', message: `--image-url ${shownUrl(template)}: ${message}`, ...(hint ? { hint } : {}) });
  const unknown = [...template.matchAll(FIELD)].map((m) => m[1]!).find((k) => k !== 'name');
  if (unknown !== undefined) return usage(`unknown field {${unknown}}`, 'the URL template knows {name}: the output file name');
  if (!template.includes('{name}') && outputs.length > 1) {
    return usage(`the clouds get ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')}) and the URL names one file`, 'put {name} where the output file name goes: https://host/path/{name}');
  }
  const urls = new Map<string, string>();
  for (const o of outputs) {
    const url = template.replace(FIELD, () => encodeURIComponent(o.name));
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return usage('not a URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return usage(`${parsed.protocol} URL: Glance's web-download fetches http and https only`);
    urls.set(o.name, url);
  }
  return ok(urls);
}

/** The size the answer announces: Content-Range's total for a 206, else Content-Length. */
function announcedSize(res: HttpResponse): number | null {
  const range = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''));
  if (res.status === 206) return range ? Number(range[1]) : null;
  const length = res.headers['content-length'];
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
}

/** `method` (HEAD, or a one-byte ranged GET), following redirects as Glance's fetch does. */
async function ask(url: string, method: 'HEAD' | 'GET'): Promise<HttpResponse> {
  let at = url;
  for (let hop = 0; ; hop++) {
    const res = await request({ method, url: at, retry: true, headersOnly: true, timeoutMs: 30_000, headers: { Accept: '*/*', ...(method === 'GET' ? { Range: 'bytes=0-0' } : {}) } });
    const location = res.headers.location;
    if (res.status < 300 || res.status >= 400 || !location || hop >= MAX_REDIRECTS) return res;
    at = new URL(location, at).toString();
  }
}

/**
 * Checks that `url` serves `output`'s size in bytes: HEAD, then a one-byte
 * ranged GET when HEAD is refused (a presigned URL is signed for GET only) or
 * says no size. An answer Glance could not fetch, or of another size, refuses.
 */
export async function probeServedOutput(url: string, output: ManifestOutput): Promise<Result<void>> {
  const refused = (problem: string): Result<never> => fail({ reason: 'image-url-refused', url: shownUrl(url), output: output.name, problem });
  let res: HttpResponse;
  try {
    res = await ask(url, 'HEAD');
    if ([403, 405, 501].includes(res.status) || (res.status < 300 && announcedSize(res) === null)) res = await ask(url, 'GET');
  } catch (e) {
    if (e instanceof NetworkError) return refused(`it cannot be reached (${e.code})`);
    throw e;
  }
  if (res.status >= 300) return refused(`it answers HTTP ${res.status}`);
  const size = announcedSize(res);
  if (size === null) return refused('its answer does not say its size (no Content-Length), so it cannot be checked before Glance fetches it');
  if (size !== output.size) return refused(`it serves ${size} bytes, the manifest's ${output.name} has ${output.size}`);
  return ok(undefined);
}
