// Recognises a hook that failed because it needs a host this build
// environment cannot reach (simple-init's glean from opendev.org and PyPI,
// source-repositories' git URLs, cache-url's downloads), so the build says
// that instead of "hook failed".
//
// Two independent signals must agree, so nothing is guessed:
//   1. the tail of the hook's log holds the message a standard client prints
//      when it cannot resolve or connect to a host, and that message names
//      the host (curl, git, wget, apt, pip; table below);
//   2. probing that host from here, now, fails too: its name does not
//      resolve, or nothing answers on its port within a few seconds.
// A hook that merely printed such a line about a host that answers (a retry
// that later succeeded, a test of an error path) stays a plain hook failure.

import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';

/** A host a hook's log says it could not reach. */
export interface Unreached {
  host: string;
  port: number;
  /** The URL the client printed, when it printed one. */
  url?: string;
  /** The client whose message it was. */
  tool: string;
  /** The log line itself. */
  line: string;
}

interface Pattern {
  tool: string;
  re: RegExp;
  /** The default port when the message names none (https for git/pip/curl). */
  port: number;
  /** For a message that names no host: the host and URL it is about, from the log's earlier lines. */
  about?: (lines: string[]) => { host: string; url: string; port: number };
}

/** pip names the index only when it is not PyPI ("Looking in indexes: …", pip's index_group); else it is PyPI's. */
function pipIndex(lines: string[]): { host: string; url: string; port: number } {
  const said = lines.map((l) => /^Looking in indexes: (\S+?),?(?:\s|$)/.exec(l.trim())?.[1]).filter(Boolean).at(-1);
  const url = new URL(said ?? 'https://pypi.org/simple');
  return { host: url.hostname, url: url.href, port: url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443 };
}

/**
 * Messages of the standard clients when they cannot resolve or connect to a
 * host: each names the host (group `host`; `url` and `port` where printed),
 * or (pip) names it through `about`. As printed here by curl 7.88
 * (`curl: (6)`, `(7)`), git 2.39 (`fatal: unable to access`), wget 1.21,
 * apt 2.6 (`Temporary failure resolving`, `Could not connect to`) and pip 23
 * (`Retrying … after connection broken by 'NewConnectionError…': /simple/x/`;
 * older pips `Could not fetch URL`, `HTTPSConnectionPool(host=…)`).
 */
const PATTERNS: Pattern[] = [
  { tool: 'git', re: /unable to access '(?<url>[a-z+]+:\/\/(?<host>[^/:'@]+)[^']*)': (?:Could not resolve host|Failed to connect to|Connection timed out|Couldn't connect)/, port: 443 },
  { tool: 'curl', re: /^curl: \(6\) Could not resolve host: (?<host>[^\s:/]+)/, port: 443 },
  { tool: 'curl', re: /^curl: \(7\) Failed to connect to (?<host>[^\s:/]+) port (?<port>\d+)/, port: 443 },
  { tool: 'wget', re: /wget: unable to resolve host address ['‘](?<host>[^'’]+)['’]/, port: 443 },
  { tool: 'wget', re: /^Resolving (?<host>[^\s(]+) \([^)]*\)\.\.\. failed/, port: 443 },
  { tool: 'apt', re: /(?:Temporary failure resolving|Could not resolve) '(?<host>[^']+)'/, port: 80 },
  { tool: 'apt', re: /Could not connect to (?<host>[^\s:/]+):(?<port>\d+)/, port: 80 },
  { tool: 'pip', re: /Could not fetch URL (?<url>https?:\/\/(?<host>[^/:]+)[^:\s]*)/, port: 443 },
  { tool: 'pip', re: /HTTPS?ConnectionPool\(host='(?<host>[^']+)', port=(?<port>\d+)\)/, port: 443 },
  { tool: 'pip', re: /after connection broken by '(?:NewConnectionError|ConnectTimeoutError)\(/, port: 443, about: pipIndex },
];

/** The last line of `lines` that says a client could not reach a host, or null. Pure. */
export function unreachedIn(lines: string[]): Unreached | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    for (const p of PATTERNS) {
      const g = p.re.exec(line)?.groups ?? (p.about && p.re.test(line) ? {} : undefined);
      if (!g) continue;
      const named = g.host ? { host: g.host, port: g.port ? Number(g.port) : p.port, ...(g.url ? { url: g.url } : {}) } : p.about?.(lines.slice(0, i));
      if (!named) continue;
      return { ...named, tool: p.tool, line };
    }
  }
  return null;
}

/** How long a probe waits for a connection. */
const CONNECT_TIMEOUT_MS = 5000;

/** Whether `host` resolves and accepts a TCP connection on `port` from here, now. */
export async function reachable(host: string, port: number): Promise<boolean> {
  const address = await lookup(host).catch(() => null);
  if (!address) return false;
  return new Promise((resolve) => {
    const socket = connect({ host: address.address, port, timeout: CONNECT_TIMEOUT_MS });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** The host a failed hook's log tail says it could not reach, confirmed by a probe; else null. */
export async function confirmedUnreached(logTail: string[]): Promise<Unreached | null> {
  const found = unreachedIn(logTail);
  if (!found) return null;
  return (await reachable(found.host, found.port)) ? null : found;
}
