// The output formats, one row each (mkosi's OutputFormat): what `-t` calls a
// format, the file extension, how qemu-img writes it, what Glance calls it,
// whether it is reproducible, and whether it is a disk or a tree archive.
// The CLI, the image conversion, the manifest and the cache keys all ask this
// table; adding a format qemu-img can write is one more row.
//
//   -t vhd ──► row { id: 'vpc', extension: 'vhd', qemu: vpc, glance: vhd/bare }
//                     │            │                 │           └─ manifest's glance properties
//                     │            │                 └─ qemu-img convert -O vpc <options>
//                     │            └─ <outputDir>/<name>.vhd
//                     └─ recorded in cache keys, manifests, events, --json

/** How qemu-img writes a disk format (from the assembled raw disk). */
interface QemuWrite {
  /** qemu-img's name of the format (`-O`, `-f`). */
  format: string;
  /**
   * `qemu-img convert` options when compressing (--compress, the default) and
   * when not; `zstd`: compressing with zstd where the format has a choice
   * (qcow2's compression_type; zlib is `compressed`).
   */
  options: { compressed: readonly string[]; uncompressed: readonly string[]; zstd?: readonly string[] };
}

/**
 * How a disk image is compressed. zstd (qcow2's compression_type=zstd,
 * QEMU >= 5.1 reads it) writes a controller's qcow2 about six times faster
 * than zlib, and smaller; zlib is for clouds whose QEMU is older.
 */
export type Compression = 'zstd' | 'zlib' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['zstd', 'zlib', 'none'];

/** One output format. */
export interface OutputFormatRow {
  /**
   * The name recorded in cache keys, manifests (`format`, the `glance` keys),
   * events and the JSON summary. Today's names (vpc for VHD) are kept so that
   * existing caches keep hitting and old manifests keep verifying.
   */
  id: string;
  /** What `-t` accepts. */
  cli: string;
  /** The output file's extension: `<name>.<extension>`. */
  extension: string;
  /** 'disk': a bootable disk image assembled from the tree; 'tree': an archive of the tree itself. */
  kind: 'disk' | 'tree';
  /** How qemu-img writes it; null for tree archives. */
  qemu: QemuWrite | null;
  /** Glance's disk_format and container_format; null when Glance cannot boot it (a tree archive). */
  glance: { diskFormat: string; containerFormat: 'bare' } | null;
  /** Whether the same input gives the same bytes (qemu-img has no option to pin vmdk's CID or VHD/VHDX timestamps and GUIDs). */
  reproducible: boolean;
  /**
   * 'imgfactory': compressed files of this format are written by
   * src/image/qcow2.ts (clusters compressed on every CPU, written in disk
   * order) instead of `qemu-img convert` with the compressed options, which
   * compresses on one thread; uncompressed ones are still qemu-img's.
   */
  compressedBy?: 'imgfactory';
}

const noOptions = { compressed: [], uncompressed: [] } as const;

/** In the order `-t` lists them. */
export const OUTPUT_FORMATS = [
  {
    id: 'qcow2',
    cli: 'qcow2',
    extension: 'qcow2',
    kind: 'disk',
    // compat 1.1; -c: compressed clusters (zlib unless compression_type says zstd).
    // Compressed files are written by src/image/qcow2.ts (compressedBy): the
    // same format, other bytes than qemu-img's.
    qemu: { format: 'qcow2', options: { compressed: ['-o', 'compat=1.1', '-c'], uncompressed: ['-o', 'compat=1.1'], zstd: ['-o', 'compat=1.1,compression_type=zstd', '-c'] } },
    glance: { diskFormat: 'qcow2', containerFormat: 'bare' },
    reproducible: true,
    compressedBy: 'imgfactory',
  },
  {
    id: 'raw',
    cli: 'raw',
    extension: 'raw',
    kind: 'disk',
    // The assembled disk itself (copied sparse, never converted).
    qemu: { format: 'raw', options: noOptions },
    glance: { diskFormat: 'raw', containerFormat: 'bare' },
    reproducible: true,
  },
  {
    id: 'tar',
    cli: 'tar',
    extension: 'tar',
    kind: 'tree',
    qemu: null,
    glance: null,
    reproducible: true,
  },
  {
    id: 'vmdk',
    cli: 'vmdk',
    extension: 'vmdk',
    kind: 'disk',
    qemu: { format: 'vmdk', options: { compressed: ['-o', 'subformat=streamOptimized'], uncompressed: ['-o', 'subformat=monolithicSparse'] } },
    glance: { diskFormat: 'vmdk', containerFormat: 'bare' },
    reproducible: false,
  },
  {
    id: 'vpc',
    cli: 'vhd',
    extension: 'vhd',
    kind: 'disk',
    // force_size keeps the virtual size exact instead of rounding to CHS geometry.
    qemu: { format: 'vpc', options: { compressed: ['-o', 'subformat=dynamic,force_size=on'], uncompressed: ['-o', 'subformat=dynamic,force_size=on'] } },
    glance: { diskFormat: 'vhd', containerFormat: 'bare' },
    reproducible: false,
  },
  {
    id: 'vhdx',
    cli: 'vhdx',
    extension: 'vhdx',
    kind: 'disk',
    qemu: { format: 'vhdx', options: noOptions },
    glance: { diskFormat: 'vhdx', containerFormat: 'bare' },
    reproducible: false,
  },
] as const satisfies readonly OutputFormatRow[];

type Row = (typeof OUTPUT_FORMATS)[number];

/** A format's recorded name: `qcow2`, `raw`, `tar`, `vmdk`, `vpc`, `vhdx`. */
export type OutputType = Row['id'];
/** A disk format's recorded name (every format but the tree archive). */
export type ImageFormat = Extract<Row, { kind: 'disk' }>['id'];

/** The row of a recorded name; undefined for names that are none (old manifests, typos). */
export function formatById(id: string): OutputFormatRow | undefined {
  return OUTPUT_FORMATS.find((f) => f.id === id);
}

/** The row of a format imgfactory itself named (a programming error if there is none). */
export function formatOf(id: OutputType): OutputFormatRow {
  const row = formatById(id);
  if (!row) throw new TypeError(`no output format "${id}"`);
  return row;
}

/** The row `-t <cli>` names, or undefined. */
export function formatByCli(cli: string): OutputFormatRow | undefined {
  return OUTPUT_FORMATS.find((f) => f.cli === cli);
}

/** The recorded names of the disk formats, in table order. */
export const IMAGE_FORMATS: readonly ImageFormat[] = OUTPUT_FORMATS.filter((f) => f.kind === 'disk').map((f) => f.id as ImageFormat);

export const isImageFormat = (id: string): id is ImageFormat => (IMAGE_FORMATS as readonly string[]).includes(id);
