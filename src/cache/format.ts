// Every on-disk format version of the cache in one place: the layout of the
// content and index directories and the tags hashed into keys. Changing the
// meaning of any of them is a version bump here, never a migration guess.
//
//   <cache>/content-v2/sha256/ab/cd/<rest of hex>   blobs and entry descriptors, by ssri integrity
//   <cache>/index-v3/<2 hex>/<2 hex>/<sha256(key)>  append-only index buckets
//   <cache>/tmp/                                   temp files, renamed into place
//   <cache>/locks/                                 per-key build locks
//   <cache>/trees-v2/<key hex>/                    tree checkpoints (checkpoints.ts)
//   <cache>/archive-v1/<sha256(suites)>.json       the archive state the last build read (engine/archive-source.ts)
//   <cache>/qcow2-clusters-v1/<sha256(image, codec)>/  each image's last qcow2 and its cluster index (cluster-sources.ts)

/** Directory of blobs; bump when the blob layout changes. */
export const CONTENT_DIR = 'content-v2';
/**
 * Directory of index buckets; bump when the line format changes. v3: a line
 * names the entry's descriptor (entry-descriptor.ts), which binds the key to
 * its blob; a v2 line bound nothing, so v2 entries are never read.
 */
export const INDEX_DIR = 'index-v3';
/** Temp files for atomic writes (same filesystem as content, so rename works). */
export const TMP_DIR = 'tmp';
/** Per-key build locks. */
export const LOCKS_DIR = 'locks';
/** Tree checkpoints: hard-link copies of a build tree after a step. v2: each holds the record it is checked against (tree-record.ts). */
export const TREES_DIR = 'trees-v2';
/** The archive state each set of suites was last read in (distro/archive-state.ts ArchiveStateFile), for `--archive-state cached`. */
export const ARCHIVE_DIR = 'archive-v1';
/** The last qcow2 each image wrote, with its cluster index, for the next build to take unchanged clusters from (cluster-sources.ts). */
export const CLUSTERS_DIR = 'qcow2-clusters-v1';
/** Directories of earlier formats: never read, removed by `cache gc`. */
export const OBSOLETE_DIRS = ['content-v1', 'index-v1', 'index-v2', 'trees-v1'];

/**
 * The one hash algorithm blobs are addressed by (ssri integrity). sha256, the
 * algorithm OCI registries address blobs by, so one hash serves both; v1 used
 * sha512, which cost a second hash of every blob on write and made every
 * verified read ~2.5 x slower (no SHA extensions for sha512 on x86).
 */
export const CONTENT_ALGORITHM = 'sha256';
/** Hex digits of a CONTENT_ALGORITHM digest. */
export const CONTENT_HEX_LENGTH = 64;

/**
 * Tag hashed into every step's layer key; bump when the meaning of a key changes.
 * v2: a layer holds what its step left in /tmp (layer-exclude.ts); a v1 layer
 * lacks it, and a later step reading it would see another tree than a cold build.
 * v3: a layer is made reproducible before it is packed (engine/reproducible-layer.ts:
 * mtimes clamped, logs and random ids emptied); a v2 layer under the same inputs
 * holds wall-clock times and would make every key after it differ from a cold build's.
 */
export const LAYER_KEY_TAG = 'imgfactory.layer.v3';
/** Tag hashed into the key of the final image outputs. */
export const OUTPUT_KEY_TAG = 'imgfactory.output.v1';
/** Tag of an entry descriptor (entry-descriptor.ts); bump when its fields change meaning. */
export const ENTRY_TAG = 'imgfactory.entry.v1';
/** Tag of the line format `digestTree` hashes; bump when a tree's description changes. */
export const TREE_DIGEST_TAG = 'imgfactory.tree.v1';
