// Verifies a manifest: its schema (when read), its detached signature (when a
// key or certificate is given), and every output file beside it (present,
// size, sha256, sha512, md5). Collects every mismatch rather than stopping at
// the first, so one run tells the whole story; any mismatch is a
// 'verify-failed' failure (exit 3) naming what differs.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { hashFile } from '../util/hash-file.js';
import { loadVerifyKey } from './keys.js';
import { signatureFileName, type Manifest } from './manifest.js';
import { readManifest } from './read.js';
import { checkSignature, readSignature } from './sign.js';

export interface VerifyOptions {
  /** Public key, private key or certificate (a path or `env:NAME`); without it the signature is not checked. */
  key?: string;
  /** Where the signature is; default `<manifest>.sig`. */
  signature?: string;
}

export interface VerifyReport {
  manifest: Manifest;
  /** True when a key was given and the signature held. */
  signatureChecked: boolean;
  /** Outputs whose size and hashes all matched. */
  outputs: string[];
  /** Non-fatal remarks (e.g. the file is not in canonical form). */
  notes: string[];
}

export async function verifyManifest(file: string, o: VerifyOptions = {}): Promise<Result<VerifyReport>> {
  const read = await readManifest(file);
  if (!read.ok) return read;
  const { manifest, canonical, raw } = read.value;
  const problems: string[] = [];
  const notes: string[] = [];
  if (!raw.equals(canonical)) notes.push('the manifest file is not in canonical form (re-formatted?); the signature covers its canonical form');

  if (o.key) {
    const key = await loadVerifyKey(o.key);
    if (!key.ok) return key;
    const sigFile = o.signature ?? signatureFileName(file);
    const sig = await readSignature(sigFile);
    if (typeof sig === 'string') problems.push(`signature: ${sig}`);
    else {
      const bad = checkSignature(canonical, sig, key.value);
      if (bad) problems.push(`signature: ${bad}`);
    }
  } else notes.push('no --key or --cert given: the signature was not checked');

  const good: string[] = [];
  const dir = path.dirname(file);
  for (const out of manifest.outputs) {
    const p = path.join(dir, out.name);
    if (!(await access(p).then(() => true, () => false))) {
      problems.push(`${out.name}: missing (expected beside the manifest, at ${p})`);
      continue;
    }
    const h = await hashFile(p);
    const diffs: string[] = [];
    if (h.size !== out.size) diffs.push(`size is ${h.size}, manifest says ${out.size}`);
    if (h.sha256 !== out.sha256) diffs.push(`sha256 is ${h.sha256}, manifest says ${out.sha256}`);
    if (h.sha512 !== out.sha512) diffs.push(`sha512 is ${h.sha512.slice(0, 32)}..., manifest says ${out.sha512.slice(0, 32)}...`);
    if (h.md5 !== out.md5) diffs.push(`md5 is ${h.md5}, manifest says ${out.md5}`);
    if (diffs.length) {
      const other = manifest.outputs.find((x) => x !== out && x.sha256 === h.sha256);
      problems.push(`${out.name}: ${diffs.join('; ')}${other ? ` (its content is that of ${other.name}: files swapped?)` : ''}`);
    } else good.push(out.name);
  }
  if (problems.length) return fail({ reason: 'verify-failed', manifest: file, problems });
  return ok({ manifest, signatureChecked: Boolean(o.key), outputs: good, notes });
}
