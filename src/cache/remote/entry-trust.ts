// Who wrote a remote cache entry, in the manner of Nix's signed binary
// caches (`require-sigs`): a builder that pushes signs each entry's
// descriptor (entry-descriptor.ts: key, kind, blob digest, size, media type,
// metadata) with its key, and a build given trusted keys uses only entries
// whose signature one of them made. Whoever can push to a registry can then
// hide entries, but cannot bind a key to other bytes.
//
// The keys and signature algorithms are the manifest's (manifest/sign.ts,
// manifest/keys.ts); the CLI hands them in through the two ports below, so
// the cache needs no key handling of its own.
import { describeEntry, encodeDescriptor, type EntryDescriptor } from '../entry-descriptor.js';

/** A detached signature over a descriptor's bytes (the shape of manifest/sign.ts's DetachedSignature). */
export interface EntrySignature {
  v: string;
  algorithm: string;
  /** sha256 (hex) of the signer's public key (SPKI DER). */
  keyId: string;
  /** base64. */
  signature: string;
}

/** Signs what a builder pushes (`--cache-sign-key`). */
export interface EntrySigner {
  readonly keyId: string;
  sign(data: Buffer): EntrySignature;
}

/** The keys a build trusts (`--cache-trust`). */
export interface EntryTrust {
  /**
   * Null when `signature` is over `data` and made by a trusted key;
   * otherwise why not, as the end of "the entry …" (e.g. "is not signed").
   */
  check(data: Buffer, signature: EntrySignature | undefined): string | null;
}

/** A descriptor with the signature its pusher made, if any: one entry of a remote cache. */
export type SignedEntry = Omit<EntryDescriptor, 'v'> & { signature?: EntrySignature };

export function isEntrySignature(v: unknown): v is EntrySignature {
  const s = v as Partial<EntrySignature>;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof s.v === 'string' &&
    typeof s.algorithm === 'string' &&
    typeof s.keyId === 'string' &&
    /^[0-9a-f]{64}$/.test(s.keyId) &&
    typeof s.signature === 'string' &&
    /^[A-Za-z0-9+/]+=*$/.test(s.signature)
  );
}

/** The bytes a signature covers: the entry's descriptor, as the local store writes it. */
export function signedBytes(entry: SignedEntry): Buffer {
  const { signature: _, ...descriptor } = entry;
  return encodeDescriptor(describeEntry(descriptor));
}

/** `entry` signed by `signer` (any signature it had is replaced). */
export function signEntry<E extends SignedEntry>(entry: E, signer: EntrySigner): E & { signature: EntrySignature } {
  return { ...entry, signature: signer.sign(signedBytes(entry)) };
}

/** Null when `trust` accepts `entry`, or there is no trust to satisfy; otherwise why not. */
export function trustProblem(entry: SignedEntry, trust: EntryTrust | undefined): string | null {
  return trust ? trust.check(signedBytes(entry), entry.signature) : null;
}
