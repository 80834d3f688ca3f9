// Identifiers derived from the caller's seed (the image key), so the same
// inputs give the same bytes: filesystem UUIDs, the ext4 hash seed, the vfat
// volume id, the MBR disk id and the GPT disk and partition GUIDs.
import { createHash } from 'node:crypto';

/** A filesystem UUID / GPT GUID in 8-4-4-4-12 lower-case form. */
export type Uuid = string & { readonly __brand: 'Uuid' };

/** Versioned, so a change in how ids are derived is a visible bump, not a silent change. */
const DOMAIN = 'imgfactory.image-ids.v1';

function digest(seed: string, purpose: string): Buffer {
  return createHash('sha256').update(`${DOMAIN}\0${seed}\0${purpose}`).digest();
}

/** A random-looking (RFC 4122 version 4 shaped) UUID fixed by `seed` and `purpose`. */
export function uuidFor(seed: string, purpose: string): Uuid {
  const b = digest(seed, purpose).subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` as Uuid;
}

/** A 32-bit id as 8 hex digits, never zero (vfat volume id, MBR disk signature). */
export function id32For(seed: string, purpose: string): string {
  const n = digest(seed, purpose).readUInt32BE(0) || 1;
  return n.toString(16).padStart(8, '0');
}

/** All the ids one image needs, by partition name. */
export interface ImageIds {
  diskGuid: Uuid;
  mbrId: string;
  partitionGuid(name: string): Uuid;
  fsUuid(name: string): Uuid;
  hashSeed(name: string): Uuid;
  vfatId(name: string): string;
}

export function imageIds(seed: string): ImageIds {
  return {
    diskGuid: uuidFor(seed, 'gpt-disk'),
    mbrId: id32For(seed, 'mbr-disk'),
    partitionGuid: (name) => uuidFor(seed, `gpt-partition:${name}`),
    fsUuid: (name) => uuidFor(seed, `fs-uuid:${name}`),
    hashSeed: (name) => uuidFor(seed, `ext4-hash-seed:${name}`),
    vfatId: (name) => id32For(seed, `vfat-id:${name}`),
  };
}
