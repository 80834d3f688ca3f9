// Uploading one blob to a registry, as the distribution spec allows:
//
//   POST uploads/ ─► 202 Location L
//   small blob:  PUT L?digest=D  (the whole blob)                ─► 201
//   large blob:  PATCH L  Content-Range a-b  (one chunk) ─► 202 L' (repeat)
//                PUT L'?digest=D (empty)                         ─► 201
//
// An interrupted chunk is resumed: GET L answers 204 with Range 0-n, and the
// upload goes on from n+1. If the registry has dropped the session (404, or
// it cancelled a session whose state no longer matched), the upload starts
// over with a new POST — up to `attempts` times. The registry checks the
// digest at the final PUT, so a bad resume can never store wrong bytes.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FileDigest } from '../digest.js';
import { safeUrl } from './http-client.js';
import type { RegistryTransport } from './registry-transport.js';
import { RemoteError, type BlobBytes, type UploadStats } from './transport.js';

export interface UploadInput {
  transport: RegistryTransport;
  digest: FileDigest;
  size: number;
  source: BlobBytes;
  chunkSize: number;
  attempts: number;
}

const OCTETS = { 'content-type': 'application/octet-stream' };

export async function uploadBlob(u: UploadInput): Promise<UploadStats> {
  const stats: UploadStats = { bytesSent: 0, resumed: 0 };
  let last: unknown;
  for (let attempt = 0; attempt < u.attempts; attempt++) {
    try {
      const location = await start(u);
      if (u.size <= u.chunkSize) await monolithic(u, location, stats);
      else await chunked(u, location, stats);
      return stats;
    } catch (e) {
      if (!(e instanceof RemoteError) || !e.transient) throw e;
      last = e;
    }
  }
  throw last;
}

async function start(u: UploadInput): Promise<URL> {
  const res = await u.transport.call('POST', u.transport.url('blobs/uploads/'), {});
  res.discard();
  if (res.status !== 202) throw u.transport.refused(res, 'POST blob upload');
  return location(u, res.headers.location);
}

async function monolithic(u: UploadInput, at: URL, stats: UploadStats): Promise<void> {
  const url = withDigest(at, u.digest);
  const res = await u.transport.call('PUT', url, {
    retry: false,
    headers: { ...OCTETS, 'content-length': String(u.size) },
    body: () => {
      stats.bytesSent += u.size;
      return range(u.source, 0, u.size - 1);
    },
  });
  res.discard();
  if (res.status !== 201) throw u.transport.refused(res, `PUT blob ${u.digest}`);
}

async function chunked(u: UploadInput, at: URL, stats: UploadStats): Promise<void> {
  let url = at;
  let offset = 0;
  let interruptions = 0;
  while (offset < u.size) {
    const end = Math.min(offset + u.chunkSize, u.size) - 1;
    try {
      const from = offset;
      const res = await u.transport.call('PATCH', url, {
        retry: false,
        headers: { ...OCTETS, 'content-range': `${from}-${end}`, 'content-length': String(end - from + 1) },
        body: () => {
          stats.bytesSent += end - from + 1;
          return range(u.source, from, end);
        },
      });
      res.discard();
      if (res.status !== 202) throw u.transport.refused(res, `PATCH blob ${u.digest}`);
      url = location(u, res.headers.location, url);
      offset = end + 1;
    } catch (e) {
      // 416: the registry's idea of the offset differs from ours; only a new session helps.
      if (e instanceof RemoteError && e.status === 416) throw new RemoteError(e.message, 416, true);
      if (!(e instanceof RemoteError) || !e.transient || ++interruptions >= u.attempts) throw e;
      // Ask where the registry got to; a lost session throws (transient) and the upload starts over.
      const resumed = await status(u, url);
      url = resumed.url;
      offset = resumed.offset;
      stats.resumed++;
    }
  }
  const res = await u.transport.call('PUT', withDigest(url, u.digest), { retry: false, headers: OCTETS });
  res.discard();
  if (res.status !== 201) throw u.transport.refused(res, `PUT blob ${u.digest}`);
}

async function status(u: UploadInput, url: URL): Promise<{ url: URL; offset: number }> {
  const res = await u.transport.call('GET', url, {});
  res.discard();
  if (res.status !== 204) throw new RemoteError(`upload session ${safeUrl(url)} is gone (HTTP ${res.status}); starting over`, res.status, true);
  return { url: location(u, res.headers.location, url), offset: rangeEnd(res.headers.range) ?? 0 };
}

/**
 * `Range: 0-n` (distribution omits `bytes=`) means bytes 0..n are there: go
 * on at n+1. `0-0` is ambiguous (distribution sends it for 0 and 1 bytes):
 * read as 0, and a wrong guess ends in a 416 and a fresh session.
 */
function rangeEnd(header: string | string[] | undefined): number | null {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(String(header ?? '').trim());
  if (!m) return null;
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}

function location(u: UploadInput, header: string | undefined, fallback?: URL): URL {
  if (!header) {
    if (fallback) return fallback;
    throw new RemoteError('blob upload answer without a Location');
  }
  return u.transport.url(header);
}

/** Bytes start..end (inclusive) of the blob. */
function range(source: BlobBytes, start: number, end: number): Readable | Buffer {
  if (end < start) return Buffer.alloc(0);
  if (Buffer.isBuffer(source)) return source.subarray(start, end + 1);
  return createReadStream(source, { start, end });
}

function withDigest(url: URL, digest: FileDigest): URL {
  const next = new URL(url);
  next.searchParams.set('digest', digest);
  return next;
}
