// Where a remote cache lives, as the user writes it:
//
//   registry://host[:port]/repo[/more]   an OCI registry (distribution spec)
//   oci:<dir>                            an OCI image layout directory
//
// Parsing is strict (a typo is a usage failure, not a silent miss) and keeps
// no credentials: they come from docker config files or the environment,
// never from the ref, so a ref can be printed anywhere.
import path from 'node:path';
import { fail, ok, type Result } from '../../failure.js';

export type CacheRef =
  | {
      kind: 'registry';
      /** `host` or `host:port`, as docker config files key credentials. */
      registry: string;
      hostname: string;
      port: number | null;
      /** Repository name inside the registry, e.g. `ci/imgfactory-cache`. */
      repository: string;
      /** The ref as given (for messages). */
      text: string;
    }
  | { kind: 'oci'; dir: string; text: string };

// distribution's reference grammar for a repository path component.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)$/;

export function parseCacheRef(text: string): Result<CacheRef> {
  const bad = (message: string): Result<CacheRef> =>
    fail({ reason: 'usage', message: `cache ref "${text}": ${message}`, hint: 'write registry://host[:port]/repository or oci:<directory>' });
  if (text.startsWith('oci:')) {
    const dir = text.slice('oci:'.length);
    if (dir === '') return bad('oci: needs a directory');
    return ok({ kind: 'oci', dir: path.resolve(dir), text });
  }
  if (!text.startsWith('registry://')) return bad('unknown kind of cache');
  const rest = text.slice('registry://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return bad('no repository after the registry host');
  const registry = rest.slice(0, slash);
  const repository = rest.slice(slash + 1);
  if (registry.includes('@')) return bad('credentials do not belong in a cache ref (use docker login / REGISTRY_AUTH_FILE)');
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(registry)!;
  const hostname = m[1]!;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (!HOST.test(hostname)) return bad(`"${hostname}" is not a host name`);
  if (port !== null && (port < 1 || port > 65535)) return bad(`port ${port} is out of range`);
  if (repository.length > 255 || !repository.split('/').every((c) => COMPONENT.test(c))) {
    return bad(`"${repository}" is not a repository name (lower case letters, digits, and . _ - / between them)`);
  }
  return ok({ kind: 'registry', registry, hostname, port, repository, text });
}

/** True for names that can only be this machine: plain HTTP is allowed to them with --insecure-registry. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}
