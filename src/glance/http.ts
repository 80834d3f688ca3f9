// The one HTTP client of the OpenStack code: node:http(s), no keep-alive
// (`Connection: close`: uwsgi's http-socket closes anyway and reused sockets
// see resets), JSON in and out, bodies streamed from a file with progress.
// Network errors and 502/503/504 are retried only for idempotent calls (the
// caller says which); never for a POST or a streamed upload. Tokens and
// passwords travel only in headers and bodies and are never part of an error
// message: errors name the method and URL path.
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  /** JSON body (Content-Type application/json unless set). */
  json?: unknown;
  /** A file streamed as the body, with its size as Content-Length. */
  file?: { path: string; size: number; onProgress?: (sent: number, total: number) => void };
  /** Retry on network errors and 502/503/504 (only for idempotent calls). */
  retry?: boolean;
  /** Custom CA bundle (PEM) for https. */
  ca?: Buffer;
  insecure?: boolean;
  timeoutMs?: number;
  /** Answer with the status and headers only: the body (a whole disk image, maybe) is not read, the connection is dropped. */
  headersOnly?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A failure to talk to the server at all (no HTTP status). */
export class NetworkError extends Error {
  constructor(
    readonly where: string,
    readonly code: string,
  ) {
    super(`${where}: ${code}`);
    this.name = 'NetworkError';
  }
}

const RETRY_STATUS = new Set([502, 503, 504]);
const ATTEMPTS = 4;

/** `PUT /v2/images/…/file` style: method and path, never the query (it may hold secrets). */
export function describeRequest(method: string, url: string): string {
  const u = new URL(url);
  return `${method} ${u.origin}${u.pathname}`;
}

export async function request(r: HttpRequest): Promise<HttpResponse> {
  const attempts = r.retry && !r.file ? ATTEMPTS : 1;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(500 * 2 ** (i - 1));
    try {
      const res = await once(r);
      if (i < attempts - 1 && RETRY_STATUS.has(res.status)) {
        last = res;
        continue;
      }
      return res;
    } catch (e) {
      last = e;
      if (!(e instanceof NetworkError)) throw e;
    }
  }
  if (last instanceof Error) throw last;
  return last as HttpResponse;
}

function once(r: HttpRequest): Promise<HttpResponse> {
  const url = new URL(r.url);
  const lib = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { Connection: 'close', Accept: 'application/json', 'User-Agent': 'imgfactory', ...r.headers };
  let body: Buffer | undefined;
  if (r.json !== undefined) {
    body = Buffer.from(JSON.stringify(r.json));
    headers['Content-Type'] ??= 'application/json';
  }
  if (body) headers['Content-Length'] = String(body.length);
  if (r.file) headers['Content-Length'] = String(r.file.size);
  const where = describeRequest(r.method, r.url);
  return new Promise((resolve, reject) => {
    // A server may answer (401, 413, a refused signature) and close before
    // the whole body is sent: the write then fails with EPIPE/ECONNRESET, but
    // the answer is what matters, so wait briefly for it before giving up.
    let answered = false;
    const failed = (e: NodeJS.ErrnoException): void => {
      const err = new NetworkError(where, e.code ?? e.message);
      if (answered) return;
      if (r.file && (e.code === 'EPIPE' || e.code === 'ECONNRESET')) setTimeout(() => answered || reject(err), 2000);
      else reject(err);
    };
    const req = lib.request(
      url,
      {
        method: r.method,
        headers,
        agent: false,
        ...(url.protocol === 'https:' ? { ...(r.ca ? { ca: r.ca } : {}), rejectUnauthorized: !r.insecure } : {}),
      },
      (res) => {
        answered = true;
        if (r.headersOnly) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) });
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (e: NodeJS.ErrnoException) => reject(new NetworkError(where, e.code ?? e.message)));
      },
    );
    req.setTimeout(r.timeoutMs ?? 120_000, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', failed);
    if (r.file) {
      const { path, size, onProgress } = r.file;
      let sent = 0;
      const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
      stream.on('data', (c) => {
        sent += c.length;
        onProgress?.(sent, size);
      });
      stream.on('error', (e: NodeJS.ErrnoException) => req.destroy(e));
      stream.pipe(req);
    } else req.end(body);
  });
}

/** The body as JSON, or null when it is not JSON. */
export function jsonBody<T>(res: HttpResponse): T | null {
  try {
    return JSON.parse(res.body.toString('utf8')) as T;
  } catch {
    return null;
  }
}

/** A short, safe description of an error response: OpenStack's error message, else the first line of the body. */
export function errorText(res: HttpResponse): string {
  const j = jsonBody<Record<string, unknown>>(res);
  const pick = (o: unknown): string | undefined => {
    if (!o || typeof o !== 'object') return undefined;
    const x = o as Record<string, unknown>;
    for (const k of ['message', 'description', 'title', 'faultstring']) if (typeof x[k] === 'string' && x[k]) return x[k] as string;
    for (const v of Object.values(x)) {
      const m = pick(v);
      if (m) return m;
    }
    return undefined;
  };
  const text = pick(j) ?? res.body.toString('utf8').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return text.slice(0, 300) || `HTTP ${res.status}`;
}
