// Reads a manifest file: parses, validates (schema.ts) and returns the
// manifest with its canonical bytes (what a signature covers).
import { readFile } from 'node:fs/promises';
import { fail, ok, type Result } from '../failure.js';
import { manifestBytes } from './canonical.js';
import type { Manifest } from './manifest.js';
import { validateManifest } from './schema.js';

export interface ReadManifest {
  manifest: Manifest;
  /** The canonical bytes of the parsed manifest. */
  canonical: Buffer;
  /** The bytes as found in the file (equal to `canonical` unless someone re-formatted it). */
  raw: Buffer;
}

export async function readManifest(file: string): Promise<Result<ReadManifest>> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    return fail({ reason: 'io', what: `reading manifest ${file}`, message: (e as Error).message });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return fail({ reason: 'manifest-invalid', file, field: '(file)', message: `not JSON: ${(e as Error).message}` });
  }
  const v = validateManifest(parsed, file);
  if (!v.ok) return v;
  return ok({ manifest: v.value, canonical: manifestBytes(v.value), raw });
}
