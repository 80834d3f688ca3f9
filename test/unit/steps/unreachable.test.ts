// Telling "this hook needs a host we cannot reach" from any other hook
// failure: the clients' own messages (as curl, git, apt and pip print them
// on this machine), then a real probe of the host they name.
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderFailure } from '../../../src/cli/render-failure.js';
import { hookFailed } from '../../../src/steps/sandboxed.js';
import { reachable, unreachedIn } from '../../../src/steps/unreachable.js';
import { scratchDir } from '../../support/run-dir.js';

describe('unreachedIn', () => {
  it("finds the host (and URL) in each client's message", () => {
    const cases: [string, { host: string; port: number; url?: string; tool: string }][] = [
      ["fatal: unable to access 'https://opendev.org/opendev/glean/': Could not resolve host: opendev.org", { host: 'opendev.org', port: 443, url: 'https://opendev.org/opendev/glean/', tool: 'git' }],
      ['curl: (6) Could not resolve host: example.com', { host: 'example.com', port: 443, tool: 'curl' }],
      ["curl: (7) Failed to connect to mirror.example port 8080 after 3 ms: Couldn't connect to server", { host: 'mirror.example', port: 8080, tool: 'curl' }],
      ["  Temporary failure resolving 'ftp.example.org'", { host: 'ftp.example.org', port: 80, tool: 'apt' }],
      ["wget: unable to resolve host address 'files.example'", { host: 'files.example', port: 443, tool: 'wget' }],
      [
        "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f8c927735d0>: Failed to establish a new connection: [Errno -2] Name or service not known')': /simple/pbr/",
        { host: 'pypi.org', port: 443, url: 'https://pypi.org/simple', tool: 'pip' },
      ],
    ];
    for (const [line, expected] of cases) expect(unreachedIn(['some output', line, 'more output']), line).toMatchObject({ ...expected, line: line.trim() });
  });

  it("takes pip's index from its 'Looking in indexes' line when it printed one", () => {
    const lines = ['Looking in indexes: http://pip.example:3141/root/pypi/+simple/', "WARNING: Retrying (Retry(total=4)) after connection broken by 'ConnectTimeoutError(<x>, 'timed out')': /simple/glean/"];
    expect(unreachedIn(lines)).toMatchObject({ host: 'pip.example', port: 3141, tool: 'pip' });
  });

  it('finds nothing in a failure that is not about reaching a host', () => {
    expect(unreachedIn(['E: Unable to locate package nosuch', 'install: cannot stat /tmp/x: No such file or directory', 'exit 1'])).toBeNull();
  });
});

describe('reachable', () => {
  it('is true for a port that answers and false for a name that cannot resolve or a port that is closed', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await reachable('127.0.0.1', port)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await reachable('127.0.0.1', port)).toBe(false);
    expect(await reachable('glean.invalid', 443)).toBe(false); // .invalid never resolves (RFC 2606)
  });
});

describe('hookFailed', () => {
  const where = { element: 'simple-init', phase: 'extra-data.d', script: '98-source-repositories' };

  it('says which host a hook needed when the host does not answer from here either', async () => {
    const log = path.join(await scratchDir('unreachable'), 'hook.log');
    await writeFile(log, "+ git clone -q https://glean.invalid/opendev/glean /cache/glean\nCloning into '/cache/glean'...\nfatal: unable to access 'https://glean.invalid/opendev/glean/': Could not resolve host: glean.invalid\n");
    const failure = await hookFailed(where, { exitCode: 128, signal: null }, log, false);
    expect(failure).toMatchObject({ reason: 'host-unreachable', ...where, host: 'glean.invalid', url: 'https://glean.invalid/opendev/glean/', logPath: log });
    const text = renderFailure(failure).message;
    expect(text).toBe('hook simple-init/extra-data.d/98-source-repositories needs https://glean.invalid/opendev/glean/, and this build environment cannot reach glean.invalid');
  });

  it('stays a plain hook failure when the host it names answers', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const log = path.join(await scratchDir('reachable'), 'hook.log');
    await writeFile(log, `curl: (7) Failed to connect to 127.0.0.1 port ${port} after 0 ms: Couldn't connect to server\n`);
    try {
      expect(await hookFailed(where, { exitCode: 7, signal: null }, log, false)).toMatchObject({ reason: 'hook-failed', exitCode: 7 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
