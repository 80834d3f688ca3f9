// Reads the archive's state (archive-state.ts) at the start of a build: each
// suite's InRelease file, or its Release file where the mirror has no
// InRelease, over HTTP with Node's own client (a few KB each, all suites at
// once, each under a time limit). A mirror that does not answer, answers
// with an error, or serves something that is not a release file is an
// `archive-unreachable` failure naming the URL.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { FailureError } from '../failure.js';
import { releaseUrls, suiteState, type SuiteState } from './archive-state.js';
import type { ArchiveSuite } from './sources.js';

/** How long one file may take. */
export const FETCH_TIMEOUT_MS = 20_000;

/** The state of every suite in `suites`, in their order. Throws an `archive-unreachable` FailureError. */
export async function readArchiveState(suites: ArchiveSuite[], signal?: AbortSignal, timeoutMs = FETCH_TIMEOUT_MS): Promise<SuiteState[]> {
  return Promise.all(suites.map((s) => readSuite(s, signal, timeoutMs)));
}

async function readSuite(s: ArchiveSuite, signal: AbortSignal | undefined, timeoutMs: number): Promise<SuiteState> {
  const urls = releaseUrls(s);
  let url = urls.inRelease;
  let bytes = await get(url, signal, timeoutMs);
  if (bytes === null) {
    url = urls.release;
    bytes = await get(url, signal, timeoutMs);
    if (bytes === null) throw new FailureError({ reason: 'archive-unreachable', url: urls.inRelease, message: `the mirror has no ${s.suite} (neither InRelease nor Release)` });
  }
  const state = suiteState(s.suite, url, bytes);
  if ('problem' in state) throw new FailureError({ reason: 'archive-unreachable', url, message: state.problem });
  return state;
}

/** Redirects followed before giving up (a mirror redirector answers with one). */
const MAX_REDIRECTS = 5;

/** The body at `url`; null when the server says there is none (404, 410; a missing file: mirror). */
async function get(url: string, signal: AbortSignal | undefined, timeoutMs: number, redirects = 0): Promise<Buffer | null> {
  const unreachable = (message: string): FailureError => new FailureError({ reason: 'archive-unreachable', url, message });
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') {
    return readFile(fileURLToPath(parsed)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw unreachable(e.code ?? e.message);
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw unreachable(`imgfactory reads the archive state over http, https or file, not ${parsed.protocol}`);
  const answer = await request(parsed, signal, timeoutMs).catch((e: Error & { code?: string }) => {
    if (signal?.aborted) throw e;
    throw unreachable(e.code === 'ETIMEDOUT' ? `no answer within ${timeoutMs / 1000} s` : (e.code ?? e.message));
  });
  if (answer.status >= 300 && answer.status < 400 && answer.location) {
    if (redirects >= MAX_REDIRECTS) throw unreachable(`more than ${MAX_REDIRECTS} redirects`);
    return get(new URL(answer.location, url).href, signal, timeoutMs, redirects + 1);
  }
  if (answer.status === 404 || answer.status === 410) return null;
  if (answer.status !== 200) throw unreachable(`HTTP ${answer.status} ${answer.statusText}`.trim());
  return answer.body;
}

/**
 * One GET with node:http(s) (not fetch, which refuses ports such as 6000 or
 * 10080 that a local mirror may use): the status, a redirect's Location, and
 * the body of a 200. Rejects with a Node error (`code`: ECONNREFUSED,
 * ENOTFOUND, …), or one with `code` ETIMEDOUT when the whole exchange takes
 * over `timeoutMs`.
 */
function request(url: URL, signal: AbortSignal | undefined, timeoutMs: number): Promise<{ status: number; statusText: string; location?: string; body: Buffer }> {
  return new Promise((resolve, rejectWith) => {
    let timedOut = false;
    const reject = (e: Error): void => rejectWith(timedOut ? Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }) : e);
    const req = (url.protocol === 'https:' ? https : http).get(url, { ...(signal ? { signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        resolve({ status, statusText: res.statusMessage ?? '', ...(res.headers.location ? { location: res.headers.location } : {}), body: Buffer.alloc(0) });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks) }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error('the connection closed before the end of the file'));
      });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
  });
}
