// A Transport over an OCI registry's HTTP API (the distribution spec):
//
//   HEAD/GET /v2/<repo>/blobs/<digest>          blob there? its bytes (may redirect)
//   POST/PATCH/PUT /v2/<repo>/blobs/uploads/…    uploads (blob-upload.ts)
//   GET/PUT  /v2/<repo>/manifests/<tag>
//   GET      /v2/<repo>/tags/list?n=…            paged through Link headers
//
// Every call answers 401s (registry-auth.ts) and retries what is worth
// retrying (connection errors, stalls, 5xx, 429) with backoff. HTTPS always,
// except plain HTTP to a loopback registry with --insecure-registry. TLS
// trusts the system roots plus --registry-ca files and, as docker does,
// /etc/docker/certs.d/<host:port>/*.crt (and /etc/containers/certs.d).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fail, ok, type Result } from '../../failure.js';
import type { FileDigest } from '../digest.js';
import { uploadBlob } from './blob-upload.js';
import { isLoopback, type CacheRef } from './cache-ref.js';
import { findCredentials, type Credentials } from './credentials.js';
import { readBody, safeUrl, send, type HttpOptions, type HttpRequest, type HttpResponse } from './http-client.js';
import { RegistryAuth } from './registry-auth.js';
import { RemoteError, type BlobBytes, type Transport, type UploadStats } from './transport.js';

export interface RegistryOptions {
  /** Allow plain HTTP (only to a loopback registry). */
  insecure?: boolean;
  /** Credentials to use; undefined: look them up (credentials.ts); null: anonymous. */
  credentials?: Credentials | null;
  /** Extra CA certificate files (PEM). */
  caFiles?: string[];
  /** A stalled request fails after this long without progress (default 30 s). */
  idleTimeoutMs?: number;
  /** Attempts per request for transient errors (default 4). */
  attempts?: number;
  /** Blobs larger than this go up in chunks of this size (default 16 MiB). */
  chunkSize?: number;
  /** Ask for push rights as well as pull (default false). */
  push?: boolean;
}

type RegistryRef = Extract<CacheRef, { kind: 'registry' }>;

export const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

export async function openRegistry(ref: RegistryRef, opts: RegistryOptions = {}): Promise<Result<RegistryTransport>> {
  if (opts.insecure && !isLoopback(ref.hostname)) {
    return fail({ reason: 'usage', message: `--insecure-registry is only for a registry on loopback, not ${ref.registry}`, hint: 'give the registry a certificate (and --registry-ca) instead' });
  }
  const scheme = opts.insecure ? 'http' : 'https';
  const ca: Buffer[] = [];
  for (const file of [...(opts.caFiles ?? []), ...(await certsDir(ref.registry))]) {
    try {
      ca.push(await readFile(file));
    } catch (e) {
      return fail({ reason: 'usage', message: `cannot read CA file ${file}: ${(e as Error).message}` });
    }
  }
  const http: HttpOptions = { idleTimeoutMs: opts.idleTimeoutMs ?? 30_000, ...(ca.length ? { ca } : {}) };
  const credentials = opts.credentials === undefined ? await findCredentials(ref.registry) : opts.credentials;
  const scope = `repository:${ref.repository}:${opts.push ? 'pull,push' : 'pull'}`;
  const base = new URL(`${scheme}://${ref.registry}/v2/${ref.repository}/`);
  return ok(new RegistryTransport(ref.text, base, http, new RegistryAuth(credentials, scope, http), opts.attempts ?? 4, opts.chunkSize ?? 16 * 1024 * 1024));
}

/** CA files docker and podman read for one registry. */
async function certsDir(registry: string): Promise<string[]> {
  const files: string[] = [];
  for (const root of ['/etc/docker/certs.d', '/etc/containers/certs.d']) {
    const dir = path.join(root, registry);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names.sort()) if (n.endsWith('.crt')) files.push(path.join(dir, n));
  }
  return files;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Made afresh for each attempt. */
  body?: () => Buffer | Readable;
  /** Retry transient failures (default: yes). */
  retry?: boolean;
  /** Follow redirects (blob downloads from storage backends). */
  follow?: boolean;
}

export class RegistryTransport implements Transport {
  constructor(
    readonly describe: string,
    /** `…/v2/<repo>/` */
    readonly base: URL,
    private readonly http: HttpOptions,
    private readonly auth: RegistryAuth,
    private readonly attempts: number,
    private readonly chunkSize: number,
  ) {}

  async hasBlob(digest: FileDigest): Promise<boolean> {
    const res = await this.call('HEAD', this.url(`blobs/${digest}`));
    res.discard();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.refused(res, `HEAD blob ${digest}`);
  }

  async getBlob(digest: FileDigest): Promise<Readable | null> {
    const res = await this.call('GET', this.url(`blobs/${digest}`), { follow: true });
    if (res.status === 200) return res.body;
    res.discard();
    if (res.status === 404) return null;
    throw this.refused(res, `GET blob ${digest}`);
  }

  putBlob(digest: FileDigest, size: number, source: BlobBytes): Promise<UploadStats> {
    return uploadBlob({ transport: this, digest, size, source, chunkSize: this.chunkSize, attempts: this.attempts });
  }

  async getManifest(tag: string): Promise<{ bytes: Buffer; mediaType: string } | null> {
    const res = await this.call('GET', this.url(`manifests/${tag}`), { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) {
      res.discard();
      return null;
    }
    if (res.status !== 200) {
      res.discard();
      throw this.refused(res, `GET manifest ${tag}`);
    }
    return { bytes: await readBody(res, 4 * 1024 * 1024), mediaType: String(res.headers['content-type'] ?? '').split(';')[0]!.trim() };
  }

  async putManifest(tag: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await this.call('PUT', this.url(`manifests/${tag}`), { headers: { 'content-type': mediaType }, body: () => bytes });
    res.discard();
    if (res.status !== 201 && res.status !== 200) throw this.refused(res, `PUT manifest ${tag}`);
  }

  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | null = this.url('tags/list?n=1000');
    for (let page = 0; url && page < 100; page++) {
      const res: HttpResponse = await this.call('GET', url);
      if (res.status === 404) {
        res.discard();
        return tags;
      }
      if (res.status !== 200) {
        res.discard();
        throw this.refused(res, 'GET tags');
      }
      const body = JSON.parse((await readBody(res)).toString('utf8')) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      url = next ? new URL(next[1]!, this.base) : null;
    }
    return tags;
  }

  /** `path` under `/v2/<repo>/`, or an absolute/relative Location the registry gave. */
  url(pathOrLocation: string): URL {
    return new URL(pathOrLocation, this.base);
  }

  /** A RemoteError for an unexpected answer (with the registry's error code if it sent one). */
  refused(res: HttpResponse, what: string): RemoteError {
    const transient = res.status >= 500 || res.status === 429;
    return new RemoteError(`${what}: HTTP ${res.status}`, res.status, transient);
  }

  /** One request with auth, retries of transient failures and (optionally) redirects. */
  async call(method: HttpRequest['method'], url: URL, opts: CallOptions = {}): Promise<HttpResponse> {
    const attempts = opts.retry === false ? 1 : this.attempts;
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(Math.min(250 * 2 ** (attempt - 1), 4000));
      try {
        const res = await this.authorized(method, url, opts);
        if ((res.status >= 500 || res.status === 429) && attempt + 1 < attempts) {
          res.discard();
          last = this.refused(res, `${method} ${safeUrl(url)}`);
          continue;
        }
        return res;
      } catch (e) {
        if (!(e instanceof RemoteError) || !e.transient) throw e;
        last = e;
      }
    }
    throw last;
  }

  private async authorized(method: HttpRequest['method'], url: URL, opts: CallOptions): Promise<HttpResponse> {
    let res = await this.once(method, url, opts, true);
    if (res.status === 401) {
      const challenge = res.headers['www-authenticate'];
      res.discard();
      if (await this.auth.answer(Array.isArray(challenge) ? challenge[0] : challenge, url)) res = await this.once(method, url, opts, true);
      if (res.status === 401) {
        res.discard();
        throw new RemoteError(`${method} ${safeUrl(url)}: unauthorized (check the credentials for ${this.base.host})`, 401);
      }
    }
    if (res.status === 403) {
      res.discard();
      throw new RemoteError(`${method} ${safeUrl(url)}: access denied`, 403);
    }
    return res;
  }

  private async once(method: HttpRequest['method'], url: URL, opts: CallOptions, withAuth: boolean): Promise<HttpResponse> {
    let target = url;
    for (let hop = 0; ; hop++) {
      // The registry's credentials go to the registry only: never to a storage backend or upload host elsewhere.
      const auth = withAuth && target.origin === this.base.origin;
      const headers = { ...(auth ? this.auth.header() : {}), ...opts.headers };
      const res = await send({ method, url: target, headers, ...(opts.body ? { body: opts.body() } : {}) }, this.http);
      const location = res.headers.location;
      if (!opts.follow || ![301, 302, 303, 307, 308].includes(res.status) || !location || hop >= 5) return res;
      res.discard();
      target = new URL(location, target);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
