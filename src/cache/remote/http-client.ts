// One HTTP(S) request over node:http, with what a registry client needs and
// fetch() does not give without extra packages: a custom CA bundle per
// registry, an idle timeout that turns a stalled registry into an error
// instead of a hang, and streaming bodies both ways. Errors say which URL
// failed, never which credentials were sent.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import { RemoteError } from './transport.js';

export interface HttpOptions {
  /** Extra CA certificates (PEM) trusted for this registry, on top of the system ones. */
  ca?: Buffer[];
  /** Give up when nothing moves for this long (connect, headers, or body), in ms. */
  idleTimeoutMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** A buffer, or a stream of exactly `content-length` bytes (set that header). */
  body?: Buffer | Readable;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body; read it or call `discard()`. */
  body: http.IncomingMessage;
  discard(): void;
}

/** URL without userinfo and query (upload URLs carry state tokens in the query). */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function send(req: HttpRequest, opts: HttpOptions): Promise<HttpResponse> {
  const secure = req.url.protocol === 'https:';
  const headers: Record<string, string> = { 'user-agent': 'imgfactory', ...req.headers };
  if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
  else if (!req.body && (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH')) headers['content-length'] = '0';
  const where = `${req.method} ${safeUrl(req.url)}`;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const failWith = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const options: https.RequestOptions = { method: req.method, headers, agent: false };
    // An explicit `ca` replaces Node's roots, so they are passed along with the extra ones.
    if (secure && opts.ca && opts.ca.length > 0) options.ca = [...tls.rootCertificates, ...opts.ca];
    const r = (secure ? https : http).request(req.url, options, (res) => {
      settled = true;
      // The idle timer keeps watching the body while the caller reads it.
      res.on('error', () => undefined);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: res,
        discard: () => {
          res.resume();
        },
      });
    });
    r.setTimeout(opts.idleTimeoutMs, () => {
      const err = new RemoteError(`${where}: no answer for ${Math.round(opts.idleTimeoutMs / 1000)} s`, undefined, true);
      r.destroy(err);
      failWith(err);
    });
    r.on('error', (e: NodeJS.ErrnoException) => failWith(new RemoteError(`${where}: ${e.code ?? ''} ${e.message}`.trim(), undefined, !isTlsError(e))));
    if (!req.body) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else {
      const body = req.body;
      body.on('error', (e) => r.destroy(e));
      // A request cut short must not leave its file stream open.
      r.on('close', () => body.destroy());
      body.pipe(r);
    }
  });
}

/** Reads a whole (small) body, refusing more than `max` bytes. */
export async function readBody(res: HttpResponse, max = 16 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      res.body.destroy();
      throw new RemoteError(`response larger than ${max} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

function isTlsError(e: NodeJS.ErrnoException): boolean {
  return /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(`${e.code ?? ''} ${e.message}`);
}
