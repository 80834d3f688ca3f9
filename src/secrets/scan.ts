// Looks for secrets in a stream of bytes: the uncompressed tar of a layer as
// it is packed (src/engine/run-step.ts), so that a hook that copied a secret
// into the tree fails before its layer is stored or put on the tree. It finds
// a value copied as it is (without its trailing line ends), wherever it sits:
// file contents, names, link targets, xattrs. It cannot find a value that was
// transformed (encoded, hashed, encrypted): docs/hooks.md says hooks must not
// let a secret shape the tree at all.
import type { Secret } from './secret.js';

export class SecretScanner {
  private readonly needles: { id: string; bytes: Buffer }[];
  private readonly found = new Set<string>();
  /** The end of the bytes seen so far, long enough to hold all of a needle but its last byte. */
  private tail = Buffer.alloc(0);
  private readonly keep: number;

  constructor(secrets: readonly Secret[]) {
    this.needles = secrets.map((s) => ({ id: s.id, bytes: s.core() })).filter((n) => n.bytes.length > 0);
    this.keep = Math.max(0, ...this.needles.map((n) => n.bytes.length - 1));
  }

  /** Looks at the next bytes of the stream. */
  feed(chunk: Buffer): void {
    // Across the seam between what came before and this chunk, then in the chunk itself.
    const seam = Buffer.concat([this.tail, chunk.subarray(0, this.keep)]);
    for (const n of this.needles) {
      if (!this.found.has(n.id) && (seam.includes(n.bytes) || chunk.includes(n.bytes))) this.found.add(n.id);
    }
    const joined = chunk.length >= this.keep ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - this.keep)));
  }

  /** The ids of the secrets seen, sorted. */
  ids(): string[] {
    return [...this.found].sort();
  }
}
