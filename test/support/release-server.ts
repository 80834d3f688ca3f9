// A tiny archive mirror on loopback for the archive-state tests: it serves
// the release files it is given (`/debian/dists/<suite>/InRelease`, …) and
// can be told to answer a path with an HTTP status or not at all, so tests
// can publish a new state, or break the mirror, between two reads.
import http from 'node:http';
import type net from 'node:net';

export type Answer = Buffer | number | 'hang' | { redirect: string };

export interface ReleaseServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** What each path answers: bytes (200), a status, a redirect (301), or nothing ('hang'); anything else is 404. */
  files: Map<string, Answer>;
  /** Every path asked for, in order. */
  seen: string[];
  stop(): Promise<void>;
}

export async function startReleaseServer(): Promise<ReleaseServer> {
  const files = new Map<string, Answer>();
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    seen.push(pathname);
    const answer = files.get(pathname) ?? 404;
    if (answer === 'hang') return;
    if (typeof answer === 'number') res.writeHead(answer, { 'content-type': 'text/plain' }).end(`status ${answer}\n`);
    else if (Buffer.isBuffer(answer)) res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': answer.length }).end(req.method === 'HEAD' ? undefined : answer);
    else res.writeHead(301, { location: answer.redirect }).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    seen,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (one just given up by the kernel). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
