// Registry credentials, found where container tools keep them, first hit wins:
//
//   1. IMGFACTORY_REGISTRY_USERNAME + IMGFACTORY_REGISTRY_PASSWORD (CI secrets)
//   2. $REGISTRY_AUTH_FILE                      (podman, skopeo, buildah)
//   3. $XDG_RUNTIME_DIR/containers/auth.json    (podman login)
//   4. $DOCKER_CONFIG/config.json, else ~/.docker/config.json (docker login)
//
// In a file: `credHelpers[registry]`, then `auths[registry]` (`auth` is
// base64 user:password; `identitytoken` is an OAuth refresh token), then the
// file's `credsStore`; helpers are `docker-credential-<name> get`. Secrets
// stay in memory: nothing here logs or returns them in a message.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { run } from '../../process/run.js';

export type Credentials = { username: string; password: string } | { identityToken: string; username?: string };

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The auth files to look in, in order (existing or not). */
export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG ?? path.join(env.HOME ?? homedir(), '.docker'), 'config.json'));
  return files;
}

/** Credentials for `registry` (`host` or `host:port`), or null for anonymous access. */
export async function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | null> {
  const user = env.IMGFACTORY_REGISTRY_USERNAME;
  const password = env.IMGFACTORY_REGISTRY_PASSWORD;
  if (user && password !== undefined) return { username: user, password };
  for (const file of authFiles(env)) {
    const parsed = await readAuthFile(file);
    if (!parsed) continue;
    const found = await fromAuthFile(parsed, registry, env);
    if (found) return found;
  }
  return null;
}

async function fromAuthFile(file: AuthFile, registry: string, env: NodeJS.ProcessEnv): Promise<Credentials | null> {
  const helper = matchKey(file.credHelpers ?? {}, registry);
  if (helper) return runHelper(helper, registry, env);
  const auth = matchKey(file.auths ?? {}, registry);
  if (auth) {
    if (auth.identitytoken) return { identityToken: auth.identitytoken, ...(auth.username ? { username: auth.username } : {}) };
    if (auth.username && auth.password !== undefined) return { username: auth.username, password: auth.password };
    if (auth.auth) {
      const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  if (file.credsStore) return runHelper(file.credsStore, registry, env);
  return null;
}

/** The value whose key names `registry`: keys may carry a scheme and a path (`https://host:5000/v1/`). */
function matchKey<T>(map: Record<string, T>, registry: string): T | undefined {
  for (const [k, v] of Object.entries(map)) if (normalizeRegistry(k) === registry.toLowerCase()) return v;
  return undefined;
}

export function normalizeRegistry(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

async function runHelper(name: string, registry: string, env: NodeJS.ProcessEnv): Promise<Credentials | null> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return null;
  // A helper that is missing, fails or hangs means no credentials (anonymous access), never a failed build.
  const r = await run(`docker-credential-${name}`, ['get'], { input: registry, env, timeout: 30_000 });
  if (!r.ok) return null;
  try {
    const out = JSON.parse(r.value.stdout) as { Username?: string; Secret?: string };
    if (!out.Secret) return null;
    if (out.Username === '<token>') return { identityToken: out.Secret };
    return { username: out.Username ?? '', password: out.Secret };
  } catch {
    return null;
  }
}

async function readAuthFile(file: string): Promise<AuthFile | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as AuthFile) : null;
  } catch {
    return null;
  }
}
