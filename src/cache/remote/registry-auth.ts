// Answering a registry's 401: its WWW-Authenticate challenge says Basic
// (send the credentials) or Bearer (get a token from the realm it names, for
// the scope it names, as the distribution token spec describes; with a
// refresh token, the OAuth2 POST form). Credentials go only over TLS or to
// loopback, never into a message.
import { isLoopback } from './cache-ref.js';
import type { Credentials } from './credentials.js';
import { readBody, safeUrl, send, type HttpOptions } from './http-client.js';
import { RemoteError } from './transport.js';

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** The first Basic or Bearer challenge of a WWW-Authenticate header. */
export function parseChallenge(header: string | undefined): Challenge | null {
  if (!header) return null;
  const m = /^\s*(Basic|Bearer)\b\s*(.*)$/i.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase() as Challenge['scheme'], params };
}

const basic = (c: { username: string; password: string }): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** The Authorization header of one registry session; renewed on each 401. */
export class RegistryAuth {
  private authorization: string | undefined;

  constructor(
    private readonly credentials: Credentials | null,
    /** The scope to ask a token for, e.g. `repository:ci/cache:pull,push`. */
    private readonly scope: string,
    private readonly http: HttpOptions,
  ) {}

  header(): Record<string, string> {
    return this.authorization ? { authorization: this.authorization } : {};
  }

  /**
   * Answers a 401's challenge. Returns false when there is nothing better
   * to send than what was sent (no credentials for Basic, or a token already
   * refused), so the caller reports the 401.
   */
  async answer(wwwAuthenticate: string | undefined, target: URL): Promise<boolean> {
    const challenge = parseChallenge(wwwAuthenticate);
    if (!challenge) return false;
    const before = this.authorization;
    if (challenge.scheme === 'basic') {
      if (!this.credentials || !('password' in this.credentials)) return false;
      if (!secureEnough(target)) throw new RemoteError(`refusing to send credentials over plain HTTP to ${target.host}`);
      this.authorization = basic(this.credentials);
    } else {
      this.authorization = `Bearer ${await this.token(challenge.params)}`;
    }
    return this.authorization !== before;
  }

  private async token(params: Record<string, string>): Promise<string> {
    const realm = params.realm;
    if (!realm) throw new RemoteError('bearer challenge without a realm');
    const url = new URL(realm);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RemoteError(`token realm ${safeUrl(url)} is not HTTP(S)`);
    // Ask for our whole scope (pull,push when pushing) at once, plus whatever else the challenge names,
    // so a push does not need a new token after its first HEAD.
    const resource = (s: string): string => s.split(':').slice(0, -1).join(':');
    const scope = [this.scope, ...(params.scope ?? '').split(' ').filter((s) => s && resource(s) !== resource(this.scope))].join(' ');
    const creds = this.credentials;
    if (creds && !secureEnough(url)) throw new RemoteError(`refusing to send credentials over plain HTTP to ${url.host}`);
    let res;
    if (creds && 'identityToken' in creds) {
      // OAuth2 refresh-token grant (docker login with an identity token).
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'imgfactory', scope });
      if (params.service) form.set('service', params.service);
      res = await send({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) }, this.http);
    } else {
      if (params.service) url.searchParams.set('service', params.service);
      for (const s of scope.split(' ').filter(Boolean)) url.searchParams.append('scope', s);
      url.searchParams.set('client_id', 'imgfactory');
      res = await send({ method: 'GET', url, headers: creds ? { authorization: basic(creds) } : {} }, this.http);
    }
    const body = await readBody(res, 1024 * 1024);
    if (res.status !== 200) throw new RemoteError(`token server ${safeUrl(url)} refused (HTTP ${res.status})`, res.status, res.status >= 500);
    let parsed: { token?: unknown; access_token?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new RemoteError(`token server ${safeUrl(url)} sent no JSON`);
    }
    const token = typeof parsed.token === 'string' ? parsed.token : typeof parsed.access_token === 'string' ? parsed.access_token : null;
    if (!token) throw new RemoteError(`token server ${safeUrl(url)} sent no token`);
    return token;
  }
}

function secureEnough(url: URL): boolean {
  return url.protocol === 'https:' || isLoopback(url.hostname);
}
