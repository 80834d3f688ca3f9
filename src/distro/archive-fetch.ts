// Reads the archive's state (archive-state.ts) at the start of a build: each
// suite's InRelease file, or its Release file where the mirror has no
// InRelease, over HTTP with Node's own client (a few KB each, all suites at
// once, each under a time limit). A mirror that does not answer, answers
// with an error, or serves something that is not a release file is an
// `archive-unreachable` failure naming the URL.
import { readFile } from 'node:fs/promises';
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

/** The body at `url`; null when the server says there is none (404, 410; a missing file: mirror). */
async function get(url: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<Buffer | null> {
  const unreachable = (message: string): FailureError => new FailureError({ reason: 'archive-unreachable', url, message });
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') {
    return readFile(fileURLToPath(parsed)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw unreachable(e.code ?? e.message);
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw unreachable(`imgfactory reads the archive state over http, https or file, not ${parsed.protocol}`);
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
  } catch (e) {
    if (signal?.aborted) throw e;
    if (timeout.aborted) throw unreachable(`no answer within ${timeoutMs / 1000} s`);
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw unreachable(cause?.code ?? cause?.message ?? (e as Error).message);
  }
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw unreachable(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  try {
    return Buffer.from(await response.arrayBuffer());
  } catch (e) {
    if (signal?.aborted) throw e;
    throw unreachable(timeout.aborted ? `no answer within ${timeoutMs / 1000} s` : (e as Error).message);
  }
}
