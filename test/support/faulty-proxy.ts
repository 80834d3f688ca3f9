// An HTTP proxy in front of a test registry (or Glance, or Keystone) that
// breaks chosen requests: it cuts the connection in the middle of a request
// body, answers 503, passes the request on and cuts the connection instead of
// answering (`lost`: the server acted, the client never hears), or passes the body on slowly (`slow`: 64 KiB every 100 ms, counting
// the bytes in `bodyBytes`, so a test can kill the client mid-upload), so
// tests can watch uploads resume, requests retry and interrupted uploads
// leak against the real server behind it. Headers (Host included) pass through unchanged, so the
// registry's Location headers point back at the proxy.
import http from 'node:http';
import type net from 'node:net';

export type Fault = 'cut' | 'unavailable' | 'lost' | 'slow' | null;

export interface FaultyProxy {
  host: string;
  /** Every request seen, as `METHOD path` (no query). */
  seen: string[];
  /** Request body bytes passed on to the server so far. */
  bodyBytes: number;
  stop(): Promise<void>;
}

/** `listen`: where the proxy listens (default 127.0.0.1 at a free port), for a client that insists on a port. */
export async function startFaultyProxy(
  target: { port: number },
  fault: (method: string, path: string, n: number) => Fault,
  listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 },
): Promise<FaultyProxy> {
  const seen: string[] = [];
  const counter = { bodyBytes: 0 };
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    seen.push(`${req.method} ${pathname}`);
    const f = fault(req.method ?? 'GET', pathname, seen.length);
    if (f === 'unavailable') {
      req.resume();
      req.on('end', () => res.writeHead(503, { 'content-type': 'text/plain' }).end('try later'));
      return;
    }
    if (f === 'cut') {
      let got = 0;
      req.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got > 1024) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (f === 'lost') {
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.on('close', () => req.complete || upstream.destroy()); // a client killed mid-body: the server sees it cut
    if (f === 'slow') {
      req.on('data', (chunk: Buffer) => {
        req.pause();
        const parts = Math.ceil(chunk.length / 65536);
        for (let i = 0; i < parts; i++) {
          setTimeout(() => {
            if (upstream.destroyed) return;
            const part = chunk.subarray(i * 65536, (i + 1) * 65536);
            counter.bodyBytes += part.length;
            upstream.write(part);
            if (i === parts - 1) req.resume();
          }, 100 * (i + 1));
        }
      });
      req.on('end', () => setTimeout(() => upstream.end(), 100));
    } else req.on('data', (chunk: Buffer) => (counter.bodyBytes += chunk.length)).pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(listen.port, listen.host, r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `${listen.host}:${port}`,
    seen,
    get bodyBytes() {
      return counter.bodyBytes;
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
