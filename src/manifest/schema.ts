// Validates a parsed manifest against the schema in docs/manifest.md. Every
// problem names the field (`outputs[1].sha512`) so a hand-edited or damaged
// manifest is easy to fix; unknown fields are refused too, because a
// signature only means something if every field has a known meaning.
import { fail, ok, type Result } from '../failure.js';
import { MANIFEST_SCHEMA, type Manifest } from './manifest.js';

type Check = (v: unknown, at: string) => string | null;

class SchemaError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const str: Check = (v) => (typeof v === 'string' ? null : 'must be a string');
const nonEmpty: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a non-empty string');
const count: Check = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'must be a whole number >= 0');
const hex =
  (len: number, what: string): Check =>
  (v) =>
    typeof v === 'string' && new RegExp(`^[0-9a-f]{${len}}$`).test(v) ? null : `must be a ${what} (${len} lower-case hex digits)`;
const sha256Ref: Check = (v) => (typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v) ? null : 'must be sha256:<64 hex digits>');
const baseName: Check = (v) => (typeof v === 'string' && v.length > 0 && !v.includes('/') && v !== '.' && v !== '..' ? null : 'must be a plain file name (no "/")');
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v) ? null : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;

function need(v: unknown, at: string, check: Check): void {
  const problem = check(v, at);
  if (problem) throw new SchemaError(at, `${problem}, found ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function record(v: unknown, at: string, fields: Record<string, Check | ((v: unknown, at: string) => void)>, optional: string[] = []): void {
  if (!isObj(v)) throw new SchemaError(at, `must be an object, found ${describe(v)}`);
  for (const k of Object.keys(v)) if (!(k in fields)) throw new SchemaError(`${at}.${k}`, 'is not a known field');
  for (const [k, check] of Object.entries(fields)) {
    const field = `${at}.${k}`;
    if (!(k in v)) {
      if (optional.includes(k)) continue;
      throw new SchemaError(field, 'is missing');
    }
    const r = check(v[k], field);
    if (typeof r === 'string') throw new SchemaError(field, `${r}, found ${describe(v[k])}`);
  }
}

function list(v: unknown, at: string, each: (item: unknown, at: string) => void): void {
  if (!Array.isArray(v)) throw new SchemaError(at, `must be an array, found ${describe(v)}`);
  v.forEach((item, i) => each(item, `${at}[${i}]`));
}

const output = (v: unknown, at: string): void =>
  record(v, at, { name: baseName, format: nonEmpty, size: count, virtualSize: count, sha256: hex(64, 'sha256'), sha512: hex(128, 'sha512'), md5: hex(32, 'md5') });

const glanceProps = (v: unknown, at: string): void => {
  if (!isObj(v)) throw new SchemaError(at, `must be an object, found ${describe(v)}`);
  for (const [k, p] of Object.entries(v)) {
    if (k === 'min_disk' || k === 'min_ram') need(p, `${at}.${k}`, count);
    else need(p, `${at}.${k}`, str);
  }
  for (const k of ['disk_format', 'container_format', 'min_disk', 'min_ram']) if (!(k in v)) throw new SchemaError(`${at}.${k}`, 'is missing');
  need(v.container_format, `${at}.container_format`, oneOf('bare'));
};

function check(v: unknown): void {
  if (isObj(v) && v.schema !== MANIFEST_SCHEMA) need(v.schema, '$.schema', oneOf(MANIFEST_SCHEMA));
  record(v, '$', {
    schema: oneOf(MANIFEST_SCHEMA),
    image: nonEmpty,
    tag: str,
    outputs: (o, at) => {
      list(o, at, output);
      const names = (o as { name: string }[]).map((x) => x.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup) throw new SchemaError(at, `names "${dup}" twice`);
    },
    elements: (o, at) => list(o, at, (e, a) => record(e, a, { name: nonEmpty, digest: sha256Ref, origin: str })),
    layerKeys: (o, at) => list(o, at, (k, a) => need(k, a, sha256Ref)),
    layers: (o, at) => list(o, at, (k, a) => need(k, a, sha256Ref)),
    distro: (o, at) => record(o, at, { name: nonEmpty, release: str, arch: nonEmpty }),
    packages: (o, at) => list(o, at, (p, a) => record(p, a, { name: nonEmpty, version: nonEmpty, arch: nonEmpty })),
    tool: (o, at) => record(o, at, { name: oneOf('imgfactory'), version: nonEmpty }),
    sourceDateEpoch: (v, at) => (v === null ? null : count(v, at)),
    sourceDateEpochFrom: oneOf('given', 'archive', 'default'),
    inputs: (o, at) => {
      if (!isObj(o)) throw new SchemaError(at, `must be an object, found ${describe(o)}`);
      for (const [k, x] of Object.entries(o)) need(x, `${at}.${k}`, str);
    },
    secrets: (o, at) => list(o, at, (id, a) => need(id, a, nonEmpty)),
    archive: (o, at) =>
      record(o, at, {
        from: oneOf('archive', 'cache', 'file'),
        suites: (x, a) => list(x, a, (suite, b) => record(suite, b, { suite: nonEmpty, url: nonEmpty, sha256: hex(64, 'sha256'), date: nonEmpty })),
      }),
    layout: (o, at) => {
      if (o !== null) record(o, at, { name: nonEmpty, firmware: oneOf('bios', 'uefi', 'both', 'uefi-secure-boot') });
    },
    glance: (o, at) => {
      if (!isObj(o)) throw new SchemaError(at, `must be an object, found ${describe(o)}`);
      for (const [k, p] of Object.entries(o)) glanceProps(p, `${at}.${k}`);
    },
  }, ['secrets', 'archive', 'layers', 'sourceDateEpochFrom']);
}

/** The value as a Manifest, or a 'manifest-invalid' failure naming the first bad field. */
export function validateManifest(value: unknown, file: string): Result<Manifest> {
  try {
    check(value);
    return ok(value as Manifest);
  } catch (e) {
    if (e instanceof SchemaError) return fail({ reason: 'manifest-invalid', file, field: e.field.replace(/^\$\.?/, '') || '(top level)', message: e.message });
    throw e;
  }
}
