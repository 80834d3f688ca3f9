// The node's metadata, served to a booted node from the host while it runs:
// an HTTP server on the host's loopback that answers GET and HEAD of
// /metadata.json with the metadata file as it is now (read on every
// request), so editing the file is how an operator or a test changes a
// running node's configuration. The guest reaches it through qemu's
// user-mode network at 10.0.2.2; os-collect-config's `request` collector
// polls it (the config drive names the URL: nodeMetadata).
//
// A file that no longer parses is answered with 503 and logged once per
// change; the node keeps what it has (os-collect-config skips a source
// that fails).
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fail, ok, type Result } from '../failure.js';
import type { LogFn } from '../process/run.js';

/** Where the guest finds the host's loopback under qemu's user-mode network. */
export const GUEST_HOST_ADDRESS = '10.0.2.2';
export const METADATA_PATH = '/metadata.json';

export interface MetadataService {
  /** The URL the guest polls. */
  guestUrl: string;
  /** The port on 127.0.0.1. */
  port: number;
  close(): Promise<void>;
}

/** The metadata file as a JSON object, or a usage failure naming the file and what is wrong. */
export async function readMetadata(file: string): Promise<Result<Record<string, unknown>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return fail({ reason: 'usage', message: `--metadata ${file}: ${(e as Error).message}` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail({ reason: 'usage', message: `--metadata ${file}: not JSON: ${(e as Error).message}` });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail({ reason: 'usage', message: `--metadata ${file}: must be a JSON object (the keys docs/metadata.md describes), not ${Array.isArray(value) ? 'an array' : typeof value}` });
  }
  return ok(value as Record<string, unknown>);
}

/**
 * The metadata as the node gets it: the file's keys, with os-collect-config
 * told to poll `url` (unless the file names its own request source), and
 * the request collector added to a collector list the file gives.
 */
export function nodeMetadata(metadata: Record<string, unknown>, url: string): Record<string, unknown> {
  const occ = isObject(metadata['os-collect-config']) ? metadata['os-collect-config'] : {};
  if (isObject(occ.request)) return metadata;
  const collectors = Array.isArray(occ.collectors) && !occ.collectors.includes('request') ? { collectors: [...(occ.collectors as unknown[]), 'request'] } : {};
  return { ...metadata, 'os-collect-config': { ...occ, ...collectors, request: { metadata_url: url } } };
}

/** Serves `file` on 127.0.0.1 (a free port) until closed. */
export async function serveMetadata(file: string, onLog?: LogFn): Promise<MetadataService> {
  let lastProblem = '';
  let guestUrl = '';
  const server = http.createServer((req, res) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.url !== METADATA_PATH) {
      res.writeHead(404).end();
      return;
    }
    void readMetadata(file).then((m) => {
      if (!m.ok) {
        const problem = m.error.reason === 'usage' ? m.error.message : m.error.reason;
        if (problem !== lastProblem) onLog?.(`metadata not served (the node keeps what it has): ${problem}`);
        lastProblem = problem;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('metadata file unreadable\n');
        return;
      }
      if (lastProblem) onLog?.(`metadata ${file} readable again`);
      lastProblem = '';
      const body = JSON.stringify(nodeMetadata(m.value, guestUrl));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  guestUrl = `http://${GUEST_HOST_ADDRESS}:${port}${METADATA_PATH}`;
  return {
    guestUrl,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the collector's session keeps its connection open
      }),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
