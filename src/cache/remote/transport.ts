// What a remote cache needs from where it keeps things: content-addressed
// blobs and tagged manifests — the common ground of an OCI registry
// (registry-transport.ts) and an OCI image layout directory (oci-layout.ts).
// Transports move bytes and never check them: remote-cache.ts verifies every
// blob against its digest before anything is kept.
import type { Readable } from 'node:stream';
import type { FileDigest } from '../digest.js';

/** A file path, or the bytes themselves. */
export type BlobBytes = string | Buffer;

export interface UploadStats {
  /** Bytes sent over the wire (more than the blob's size when a chunk had to be sent again). */
  bytesSent: number;
  /** Uploads resumed after an interruption. */
  resumed: number;
}

export interface Transport {
  /** For messages (never holds credentials). */
  readonly describe: string;
  /** Whether the blob is there (HEAD in a registry). */
  hasBlob(digest: FileDigest): Promise<boolean>;
  /** The blob's bytes, unverified; null if there is no such blob. */
  getBlob(digest: FileDigest): Promise<Readable | null>;
  /**
   * Uploads a blob (`size` bytes, sha256 `digest`) from a file path or from
   * memory: sources that can be read again at any offset, so that an
   * interrupted upload can resume.
   */
  putBlob(digest: FileDigest, size: number, source: BlobBytes): Promise<UploadStats>;
  /** The manifest tagged `tag` (bytes and media type), or null. */
  getManifest(tag: string): Promise<{ bytes: Buffer; mediaType: string } | null>;
  /** Stores a manifest under `tag` (its blobs must already be there). */
  putManifest(tag: string, bytes: Buffer, mediaType: string): Promise<void>;
  /** Every tag (an unknown repository has none). */
  listTags(): Promise<string[]>;
}

/** An error a transport throws when the remote refuses or cannot be reached: becomes a 'remote-cache' failure. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** Worth trying again (network error, 5xx, 429). */
    readonly transient = false,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}
