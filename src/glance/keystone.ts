// Keystone v3 authentication: a token and its service catalog, from password
// or application-credential auth (cloud-config.ts). The password goes only
// into the request body; the token only into the X-Auth-Token headers of
// later calls. Failures say what Keystone said (401 bad credentials, 403, ...)
// without echoing either.
import { readFileSync } from 'node:fs';
import { fail, ok, type Result } from '../failure.js';
import type { CatalogEntry } from './catalog.js';
import type { Cloud } from './cloud-config.js';
import { describeRequest, errorText, jsonBody, NetworkError, request, type HttpRequest } from './http.js';

export interface Session {
  cloud: Cloud;
  token: string;
  catalog: CatalogEntry[];
  projectId: string | null;
  expiresAt: string;
  /** TLS settings for every later call. */
  tls: Pick<HttpRequest, 'ca' | 'insecure'>;
}

export function identityUrl(authUrl: string): string {
  return /\/v3$/.test(authUrl) ? authUrl : `${authUrl}/v3`;
}

const domain = (name?: string, id?: string): object | undefined => (id ? { id } : name ? { name } : undefined);

function authBody(cloud: Cloud): unknown {
  const a = cloud.auth;
  if (a.type === 'application-credential') {
    const user = a.userId ? { id: a.userId } : a.username ? { name: a.username, domain: domain(a.userDomainName, a.userDomainId) } : undefined;
    const cred = a.id ? { id: a.id, secret: a.secret } : { name: a.name, secret: a.secret, user };
    return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
  }
  const user = a.userId ? { id: a.userId, password: a.password } : { name: a.username, domain: domain(a.userDomainName, a.userDomainId), password: a.password };
  const project = a.projectId ? { id: a.projectId } : a.projectName ? { name: a.projectName, domain: domain(a.projectDomainName, a.projectDomainId) } : undefined;
  return { auth: { identity: { methods: ['password'], password: { user } }, ...(project ? { scope: { project } } : {}) } };
}

export async function authenticate(cloud: Cloud): Promise<Result<Session>> {
  let tls: Session['tls'] = { insecure: cloud.insecure };
  if (cloud.cacert) {
    try {
      tls = { ...tls, ca: readFileSync(cloud.cacert) };
    } catch (e) {
      return fail({ reason: 'cloud-config', message: `cacert ${cloud.cacert}: ${(e as Error).message}` });
    }
  }
  const url = `${identityUrl(cloud.authUrl)}/auth/tokens`;
  let res;
  try {
    res = await request({ method: 'POST', url, json: authBody(cloud), ...tls, timeoutMs: 60_000 });
  } catch (e) {
    if (e instanceof NetworkError) return fail({ reason: 'publish-failed', step: `authenticating (${describeRequest('POST', url)})`, message: `cannot reach Keystone: ${e.code}` });
    throw e;
  }
  if (res.status !== 201) {
    const what = res.status === 401 ? `the credentials of ${cloud.source} were refused` : errorText(res);
    return fail({ reason: 'publish-failed', step: 'authenticating to Keystone', status: res.status, message: what });
  }
  const token = res.headers['x-subject-token'];
  const body = jsonBody<{ token?: { catalog?: CatalogEntry[]; project?: { id: string }; expires_at?: string } }>(res);
  if (typeof token !== 'string' || !body?.token) return fail({ reason: 'publish-failed', step: 'authenticating to Keystone', status: res.status, message: 'the answer carried no token' });
  return ok({ cloud, token, catalog: body.token.catalog ?? [], projectId: body.token.project?.id ?? null, expiresAt: body.token.expires_at ?? '', tls });
}

/** Headers for an authenticated call. */
export function authHeaders(s: Session): Record<string, string> {
  return { 'X-Auth-Token': s.token };
}
