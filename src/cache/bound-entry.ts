// An index line read through its descriptor: the one way the local store
// turns a line into an entry (lookup, list, verify). The line only says
// where to look; the descriptor it names must be intact, be bound to the
// line's key, be of the kind the reader wants, and bind the blob the line
// names, or the entry is refused with the reason in words.
import { integrityHex } from './content-path.js';
import { readSmallBlob } from './content-read.js';
import { fileDigestFromHex, type LayerKey } from './digest.js';
import { bindingProblem, MAX_DESCRIPTOR_BYTES, parseDescriptor, type EntryDescriptor, type WantedKind } from './entry-descriptor.js';
import type { IndexEntry } from './index-entries.js';
import type { LayerEntry } from './store.js';

/** The entry `line` names, or why it cannot be trusted (a sentence's end: "the cache entry of <key> …"). */
export async function readBoundEntry(cache: string, line: IndexEntry, kind: WantedKind): Promise<LayerEntry | string> {
  const bytes = await readSmallBlob(cache, line.descriptor, MAX_DESCRIPTOR_BYTES);
  if (!bytes.ok) {
    const e = bytes.error;
    return e.reason === 'io' ? `has no usable descriptor: ${e.what} ${e.message}` : `has a damaged descriptor (${'what' in e ? e.what : e.reason}; removed)`;
  }
  const d = parseDescriptor(bytes.value);
  if (typeof d === 'string') return `names a descriptor that ${d}`;
  const problem = bindingProblem(d, { key: line.key as LayerKey, kind, digest: fileDigestFromHex(integrityHex(line.integrity)), size: line.size });
  return problem ?? entryOf(d, line);
}

/** An entry as the store hands it out: the descriptor's facts, the line's times. */
export function entryOf(d: EntryDescriptor, line: IndexEntry): LayerEntry {
  return {
    key: d.key,
    kind: d.kind,
    integrity: line.integrity,
    size: d.size,
    time: line.time,
    lastUse: line.lastUse,
    metadata: { ...d.metadata, digest: d.digest, mediaType: d.mediaType },
  };
}
