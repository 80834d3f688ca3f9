// A build secret (`--secret`): a value hooks may read while they run and that
// nothing the build keeps ever holds (no key, layer, log line, message,
// manifest or provenance). The value is held inside a Secret and comes out
// only through `reveal()`/`envText()`: printed, interpolated or serialised by
// mistake, a Secret shows `<secret:ID>`, never its bytes.
//
// How a hook receives one (docs/hooks.md):
//   $IMGFACTORY_SECRETS/<id>   always: a read-only file on a tmpfs that is
//                              never part of the tree (inside: /run/secrets)
//   $<id>                      only when asked for (`,export`): for diskimage-
//                              builder elements that read credentials from DIB_*
import { inspect } from 'node:util';

/** What an id may be: a file name under $IMGFACTORY_SECRETS (no `/`, not `.` or `..`). */
export const SECRET_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The shortest value accepted. A shorter one would be masked in every log
 * line that happens to hold those few bytes, and "found" in layers that never
 * saw it (the layer check looks for the bytes).
 */
export const MIN_SECRET_BYTES = 8;

/** BuildKit's limit for a secret, which is a credential, not a payload. */
export const MAX_SECRET_BYTES = 512 * 1024;

/** What a secret is without its value: what keys and the manifest may name. */
export interface SecretRef {
  id: string;
  /** Also given to hooks as the environment variable `id`. */
  exported: boolean;
}

export class Secret implements SecretRef {
  readonly #bytes: Buffer;

  constructor(
    readonly id: string,
    bytes: Buffer,
    readonly exported: boolean,
  ) {
    this.#bytes = Buffer.from(bytes);
  }

  /** The value's bytes, for the one place that hands it to a hook (the sandbox) and the ones that look for it. */
  reveal(): Buffer {
    return this.#bytes;
  }

  /** The value without the line ends a file usually has at its end: what a hook most likely uses and copies. */
  core(): Buffer {
    let end = this.#bytes.length;
    while (end > 0 && (this.#bytes[end - 1] === 0x0a || this.#bytes[end - 1] === 0x0d)) end--;
    return this.#bytes.subarray(0, end);
  }

  /** The value as an exported variable holds it: `core()` as text (what `$(cat file)` would give). */
  envText(): string {
    return this.core().toString('utf8');
  }

  toString(): string {
    return `<secret:${this.id}>`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** The ids and export flags, sorted by id: what a key holds of the secrets a step is offered. */
export function secretRefs(secrets: readonly SecretRef[]): SecretRef[] {
  return secrets.map((s) => ({ id: s.id, exported: s.exported })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
