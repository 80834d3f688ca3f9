// Where the credentials come from, read as the openstack CLI reads them
// (openstacksdk's config loader):
// - a named cloud (`--os-cloud` or OS_CLOUD) from the first clouds.yaml of
//   OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml,
//   /etc/openstack/clouds.yaml, merged with the same cloud in secure.yaml
//   (OS_CLIENT_SECURE_FILE or the same directories);
// - otherwise the OS_* environment variables (OS_AUTH_URL, OS_USERNAME, ...).
// Password auth (`password`, `v3password`) and application credentials
// (`v3applicationcredential`). Two per-cloud settings of openstacksdk's
// vendor profiles are read too: `image_format` (the disk format this cloud
// wants, raw for a Ceph-backed Glance) and `image_endpoint_override` (a Glance
// URL instead of the catalog's). The secrets stay in this value; nothing here
// ever prints them.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { fail, ok, type Result } from '../failure.js';

export type CloudAuth =
  | {
      type: 'password';
      username?: string;
      userId?: string;
      password: string;
      userDomainName?: string;
      userDomainId?: string;
      projectName?: string;
      projectId?: string;
      projectDomainName?: string;
      projectDomainId?: string;
    }
  | { type: 'application-credential'; id?: string; name?: string; secret: string; username?: string; userId?: string; userDomainName?: string; userDomainId?: string };

export interface Cloud {
  /** Where it came from, for messages: `clouds.yaml cloud "x" (/path)` or `OS_* variables`. */
  source: string;
  authUrl: string;
  auth: CloudAuth;
  regionName?: string;
  /** Catalog interface: public (default), internal or admin. */
  interface: 'public' | 'internal' | 'admin';
  cacert?: string;
  insecure: boolean;
  /** The disk format this cloud wants (clouds.yaml `image_format`, OS_IMAGE_FORMAT): a Glance disk_format such as raw or qcow2. */
  imageFormat?: string;
  /** Glance's URL instead of the catalog's (clouds.yaml `image_endpoint_override`, OS_IMAGE_ENDPOINT_OVERRIDE). */
  imageEndpoint?: string;
}

type Env = Record<string, string | undefined>;

/** Candidate config files in openstacksdk's order. */
export function configFiles(base: 'clouds' | 'secure', env: Env = process.env, cwd = process.cwd()): string[] {
  const explicit = base === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  const dirs = [cwd, path.join(env.XDG_CONFIG_HOME ?? path.join(env.HOME ?? homedir(), '.config'), 'openstack'), '/etc/openstack'];
  const names = [`${base}.yaml`, `${base}.yml`, `${base}.json`];
  return [...(explicit ? [explicit] : []), ...dirs.flatMap((d) => names.map((n) => path.join(d, n)))];
}

function readFirst(files: string[]): { file: string; data: Record<string, unknown> } | null {
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const data = parse(text) as unknown;
    return { file, data: (data && typeof data === 'object' ? data : {}) as Record<string, unknown> };
  }
  return null;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const pickIface = (v: string | undefined): Cloud['interface'] | null => {
  const x = (v ?? 'public').replace(/URL$/, '');
  return x === 'public' || x === 'internal' || x === 'admin' ? x : null;
};

/** The cloud to use: `name` (or OS_CLOUD) from clouds.yaml, else the OS_* variables. */
export function resolveCloud(name?: string, env: Env = process.env, cwd = process.cwd()): Result<Cloud> {
  const cloudName = name ?? env.OS_CLOUD;
  if (cloudName) return fromCloudsYaml(cloudName, env, cwd);
  if (env.OS_AUTH_URL) return fromEnv(env);
  return fail({ reason: 'cloud-config', message: 'no cloud to publish to', hint: 'set OS_CLOUD (a cloud in clouds.yaml) or pass --os-cloud, or set OS_AUTH_URL and the other OS_* variables' });
}

function fromCloudsYaml(cloudName: string, env: Env, cwd: string): Result<Cloud> {
  const clouds = readFirst(configFiles('clouds', env, cwd));
  if (!clouds) return fail({ reason: 'cloud-config', message: `cloud "${cloudName}" asked for, but no clouds.yaml found`, hint: `looked in ${configFiles('clouds', env, cwd).join(', ')}` });
  const all = (clouds.data.clouds ?? {}) as Record<string, Record<string, unknown>>;
  let c = all[cloudName];
  if (!c) return fail({ reason: 'cloud-config', message: `no cloud "${cloudName}" in ${clouds.file}`, hint: `clouds there: ${Object.keys(all).join(', ') || 'none'}` });
  const secure = readFirst(configFiles('secure', env, cwd));
  const sc = (secure?.data.clouds as Record<string, Record<string, unknown>> | undefined)?.[cloudName];
  if (sc) c = deepMerge(c, sc);
  const a = (c.auth ?? {}) as Record<string, unknown>;
  const source = `clouds.yaml cloud "${cloudName}" (${clouds.file})`;
  const authType = s(c.auth_type) ?? 'password';
  return build(source, authType, {
    authUrl: s(a.auth_url),
    username: s(a.username),
    userId: s(a.user_id),
    password: s(a.password),
    userDomainName: s(a.user_domain_name) ?? s(a.domain_name),
    userDomainId: s(a.user_domain_id) ?? s(a.domain_id),
    projectName: s(a.project_name) ?? s(a.tenant_name),
    projectId: s(a.project_id) ?? s(a.tenant_id),
    projectDomainName: s(a.project_domain_name) ?? s(a.domain_name),
    projectDomainId: s(a.project_domain_id) ?? s(a.domain_id),
    appCredId: s(a.application_credential_id),
    appCredName: s(a.application_credential_name),
    appCredSecret: s(a.application_credential_secret),
    region: s(c.region_name),
    iface: s(c.interface) ?? s(c.endpoint_type),
    cacert: s(c.cacert),
    insecure: c.verify === false || c.insecure === true,
    imageFormat: s(c.image_format),
    imageEndpoint: s(c.image_endpoint_override),
  });
}

function fromEnv(env: Env): Result<Cloud> {
  return build('OS_* variables', env.OS_AUTH_TYPE ?? 'password', {
    authUrl: env.OS_AUTH_URL,
    username: env.OS_USERNAME,
    userId: env.OS_USER_ID,
    password: env.OS_PASSWORD,
    userDomainName: env.OS_USER_DOMAIN_NAME ?? env.OS_DOMAIN_NAME,
    userDomainId: env.OS_USER_DOMAIN_ID ?? env.OS_DOMAIN_ID,
    projectName: env.OS_PROJECT_NAME ?? env.OS_TENANT_NAME,
    projectId: env.OS_PROJECT_ID ?? env.OS_TENANT_ID,
    projectDomainName: env.OS_PROJECT_DOMAIN_NAME ?? env.OS_DOMAIN_NAME,
    projectDomainId: env.OS_PROJECT_DOMAIN_ID ?? env.OS_DOMAIN_ID,
    appCredId: env.OS_APPLICATION_CREDENTIAL_ID,
    appCredName: env.OS_APPLICATION_CREDENTIAL_NAME,
    appCredSecret: env.OS_APPLICATION_CREDENTIAL_SECRET,
    region: env.OS_REGION_NAME,
    iface: env.OS_INTERFACE ?? env.OS_ENDPOINT_TYPE,
    cacert: env.OS_CACERT,
    insecure: env.OS_INSECURE === 'true' || env.OS_INSECURE === '1',
    imageFormat: env.OS_IMAGE_FORMAT,
    imageEndpoint: env.OS_IMAGE_ENDPOINT_OVERRIDE,
  });
}

interface Raw {
  authUrl?: string | undefined;
  username?: string | undefined;
  userId?: string | undefined;
  password?: string | undefined;
  userDomainName?: string | undefined;
  userDomainId?: string | undefined;
  projectName?: string | undefined;
  projectId?: string | undefined;
  projectDomainName?: string | undefined;
  projectDomainId?: string | undefined;
  appCredId?: string | undefined;
  appCredName?: string | undefined;
  appCredSecret?: string | undefined;
  region?: string | undefined;
  iface?: string | undefined;
  cacert?: string | undefined;
  insecure: boolean;
  imageFormat?: string | undefined;
  imageEndpoint?: string | undefined;
}

/** Drops undefined fields (exactOptionalPropertyTypes). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function build(source: string, authType: string, r: Raw): Result<Cloud> {
  const missing = (what: string): Result<Cloud> => fail({ reason: 'cloud-config', message: `${source}: ${what} is missing` });
  if (!r.authUrl) return missing('auth_url (OS_AUTH_URL)');
  const iface = pickIface(r.iface);
  if (!iface) return fail({ reason: 'cloud-config', message: `${source}: interface "${r.iface}" is not public, internal or admin` });
  let auth: CloudAuth;
  if (authType === 'password' || authType === 'v3password') {
    if (!r.password) return missing('password (OS_PASSWORD)');
    if (!r.username && !r.userId) return missing('username or user_id (OS_USERNAME)');
    if (r.username && !r.userDomainName && !r.userDomainId) return missing('user_domain_name or user_domain_id (OS_USER_DOMAIN_NAME)');
    if (r.projectName && !r.projectDomainName && !r.projectDomainId) return missing('project_domain_name or project_domain_id (OS_PROJECT_DOMAIN_NAME)');
    auth = defined({
      type: 'password' as const,
      password: r.password,
      username: r.username,
      userId: r.userId,
      userDomainName: r.userDomainName,
      userDomainId: r.userDomainId,
      projectName: r.projectName,
      projectId: r.projectId,
      projectDomainName: r.projectDomainName,
      projectDomainId: r.projectDomainId,
    });
  } else if (authType === 'v3applicationcredential') {
    if (!r.appCredSecret) return missing('application_credential_secret (OS_APPLICATION_CREDENTIAL_SECRET)');
    if (!r.appCredId && !r.appCredName) return missing('application_credential_id or _name (OS_APPLICATION_CREDENTIAL_ID)');
    if (!r.appCredId && !r.username && !r.userId) return missing('username or user_id, needed with an application credential name');
    auth = defined({
      type: 'application-credential' as const,
      secret: r.appCredSecret,
      id: r.appCredId,
      name: r.appCredName,
      username: r.username,
      userId: r.userId,
      userDomainName: r.userDomainName,
      userDomainId: r.userDomainId,
    });
  } else return fail({ reason: 'cloud-config', message: `${source}: auth type "${authType}" is not supported`, hint: 'use password, v3password or v3applicationcredential' });
  return ok(
    defined({
      source,
      authUrl: r.authUrl.replace(/\/+$/, ''),
      auth,
      regionName: r.region,
      interface: iface,
      cacert: r.cacert,
      insecure: r.insecure,
      imageFormat: r.imageFormat,
      imageEndpoint: r.imageEndpoint?.replace(/\/+$/, ''),
    }),
  );
}
