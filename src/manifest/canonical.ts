// The manifest's bytes: canonical JSON (src/cache/canonical-json.ts) plus one
// newline. The file on disk is exactly these bytes, and the detached
// signature is over them, so re-serialising a parsed manifest gives back the
// bytes that were signed.
import { canonicalJson } from '../cache/canonical-json.js';
import type { Manifest } from './manifest.js';

export function manifestBytes(manifest: Manifest): Buffer {
  return Buffer.from(`${canonicalJson(manifest)}\n`, 'utf8');
}
