// A Transport over an OCI image layout directory (image-spec image-layout.md),
// for air-gapped hand-over and tests:
//
//   <dir>/oci-layout           {"imageLayoutVersion":"1.0.0"}
//   <dir>/index.json           manifests, each tagged by the annotation
//                              org.opencontainers.image.ref.name
//   <dir>/blobs/sha256/<hex>   blobs and manifests
//
// Blobs are written to a temp name and renamed; index.json is rewritten the
// same way under a lock directory, so two pushers into one layout do not
// lose each other's tags. Like the registry transport, it does not verify
// what it reads back: remote-cache.ts does.
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { tempPathFor, writeFileAtomic } from '../../util/atomic-write.js';
import { hexOf, sha256Buffer, type FileDigest } from '../digest.js';
import { RemoteError, type BlobBytes, type Transport, type UploadStats } from './transport.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export class OciLayoutTransport implements Transport {
  readonly describe: string;

  constructor(readonly dir: string) {
    this.describe = `oci:${dir}`;
  }

  private blob(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', hexOf(digest as FileDigest));
  }

  async hasBlob(digest: FileDigest): Promise<boolean> {
    return stat(this.blob(digest)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  async getBlob(digest: FileDigest): Promise<Readable | null> {
    if (!(await this.hasBlob(digest))) return null;
    return createReadStream(this.blob(digest));
  }

  async putBlob(digest: FileDigest, size: number, source: BlobBytes): Promise<UploadStats> {
    await this.init();
    const dest = this.blob(digest);
    if (Buffer.isBuffer(source)) await writeFileAtomic(dest, source);
    else {
      const tmp = tempPathFor(dest);
      try {
        await copyFile(source, tmp);
        await rename(tmp, dest);
      } finally {
        await rm(tmp, { force: true });
      }
    }
    return { bytesSent: size, resumed: 0 };
  }

  async getManifest(tag: string): Promise<{ bytes: Buffer; mediaType: string } | null> {
    const desc = (await this.readIndex()).manifests.find((m) => m.annotations?.[REF_NAME] === tag);
    if (!desc) return null;
    try {
      return { bytes: await readFile(this.blob(desc.digest)), mediaType: desc.mediaType };
    } catch {
      return null;
    }
  }

  async putManifest(tag: string, bytes: Buffer, mediaType: string): Promise<void> {
    await this.init();
    const digest = sha256Buffer(bytes);
    await writeFileAtomic(this.blob(digest), bytes);
    await this.withIndexLock(async () => {
      const index = await this.readIndex();
      index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
      index.manifests.push({ mediaType, digest, size: bytes.length, annotations: { [REF_NAME]: tag } });
      await writeFileAtomic(path.join(this.dir, 'index.json'), Buffer.from(`${JSON.stringify(index, null, 2)}\n`));
    });
  }

  async listTags(): Promise<string[]> {
    return (await this.readIndex()).manifests.map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => typeof t === 'string');
  }

  private async init(): Promise<void> {
    await mkdir(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const layout = path.join(this.dir, 'oci-layout');
    if (!(await stat(layout).then(() => true, () => false))) await writeFileAtomic(layout, Buffer.from('{"imageLayoutVersion":"1.0.0"}\n'));
  }

  private async readIndex(): Promise<ImageIndex> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir, 'index.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [] };
      throw new RemoteError(`${this.describe}: cannot read index.json: ${(e as Error).message}`);
    }
    try {
      const index = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(index.manifests)) throw new Error('no manifests array');
      return index;
    } catch (e) {
      throw new RemoteError(`${this.describe}: index.json is not an OCI image index (${(e as Error).message})`);
    }
  }

  /** mkdir is atomic: the lock directory is held by whoever made it; one older than a minute is stale. */
  private async withIndexLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = path.join(this.dir, '.index.lock');
    for (let i = 0; ; i++) {
      try {
        await mkdir(lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > 60_000) await rm(lock, { recursive: true, force: true });
        else if (i > 600) throw new RemoteError(`${this.describe}: index.json is locked (${lock})`);
        else await new Promise((r) => setTimeout(r, 100));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}
