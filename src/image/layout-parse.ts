// Turns a parsed YAML/JSON document into a validated Layout, or a 'bad-layout'
// failure naming the file and the partition. Everything that can be checked
// without the root tree is checked here, before any work starts.
import { fail, ok, type Result } from '../failure.js';
import {
  ALIGN,
  type FilesystemType,
  type Layout,
  type PartitionFlag,
  type PartitionSpec,
  type PartitionType,
  type TableType,
} from './layout.js';
import { parseBytes, parseSizeSpec } from './size-spec.js';

const TABLES: readonly TableType[] = ['mbr', 'gpt'];
const TYPES: readonly PartitionType[] = ['linux', 'efi', 'bios-boot', 'swap'];
const FILESYSTEMS: readonly FilesystemType[] = ['ext4', 'vfat', 'swap'];
const FLAGS: readonly PartitionFlag[] = ['boot', 'legacy_boot'];
const TOP_KEYS = ['table', 'partitions', 'secureBoot'];
const PARTITION_KEYS = ['name', 'type', 'size', 'start', 'flags', 'filesystem', 'label', 'mountpoint', 'fstabOptions'];

/** Why xfs is refused: bookworm's mkfs.xfs (6.1) can only populate from a proto file, not from a directory. */
const XFS_UNSUPPORTED =
  "filesystem 'xfs' is unsupported: mkfs.xfs on this host cannot populate a filesystem from a directory " +
  '(`-p` takes only a proto file here, which loses xattrs and hard links); use ext4';

/** Validates `doc` (already parsed from YAML or JSON) as a layout read from `source`. */
export function parseLayout(doc: unknown, source: string): Result<Layout> {
  const bad = (message: string, partition?: string): Result<Layout> =>
    fail({ reason: 'bad-layout', file: source, ...(partition === undefined ? {} : { partition }), message });

  if (!isRecord(doc)) return bad('a layout must be a mapping with `table` and `partitions`');
  const unknownTop = Object.keys(doc).filter((k) => !TOP_KEYS.includes(k));
  if (unknownTop.length > 0) return bad(`unknown key(s) ${unknownTop.join(', ')} (expected ${TOP_KEYS.join(', ')})`);
  if (doc.secureBoot !== undefined && typeof doc.secureBoot !== 'boolean') return bad(`secureBoot must be true or false, got ${show(doc.secureBoot)}`);
  if (!TABLES.includes(doc.table as TableType)) return bad(`table must be one of ${TABLES.join(', ')}, got ${show(doc.table)}`);
  const table = doc.table as TableType;
  if (!Array.isArray(doc.partitions) || doc.partitions.length === 0) return bad('partitions must be a non-empty list');
  if (table === 'mbr' && doc.partitions.length > 4) return bad(`an mbr table holds at most 4 primary partitions, got ${doc.partitions.length}`);

  const partitions: PartitionSpec[] = [];
  for (const [i, raw] of doc.partitions.entries()) {
    const parsed = parsePartition(raw, i, table);
    if (typeof parsed === 'string') {
      const name = isRecord(raw) && typeof raw.name === 'string' ? raw.name : `#${i + 1}`;
      return bad(parsed, name);
    }
    partitions.push(parsed);
  }
  const whole = checkWhole(partitions, table);
  if (whole) return bad(whole.message, whole.partition);
  if (doc.secureBoot !== true) return ok({ source, table, partitions });
  const bsp = partitions.find((p) => p.type === 'bios-boot');
  if (table !== 'gpt' || !partitions.some((p) => p.type === 'efi')) return bad('secureBoot needs a gpt table with an efi partition (the ESP holds shim and GRUB)');
  if (bsp) return bad('secureBoot boots with UEFI only: drop the bios-boot partition (BIOS GRUB would boot around Secure Boot)', bsp.name);
  return ok({ source, table, partitions, secureBoot: true });
}

function parsePartition(raw: unknown, index: number, table: TableType): PartitionSpec | string {
  if (!isRecord(raw)) return `partition #${index + 1} must be a mapping`;
  const unknown = Object.keys(raw).filter((k) => !PARTITION_KEYS.includes(k));
  if (unknown.length > 0) return `unknown key(s) ${unknown.join(', ')} (expected ${PARTITION_KEYS.join(', ')})`;
  if (typeof raw.name !== 'string' || !/^[A-Za-z0-9_.-]{1,36}$/.test(raw.name)) {
    return `name must be 1-36 characters of A-Z a-z 0-9 _ . -, got ${show(raw.name)}`;
  }
  if (!TYPES.includes(raw.type as PartitionType)) return `unknown type ${show(raw.type)} (expected ${TYPES.join(', ')})`;
  const type = raw.type as PartitionType;
  const size = parseSizeSpec(raw.size);
  if (typeof size === 'string') return size;
  if (size.kind === 'bytes' && size.bytes < ALIGN) return `size must be at least 1MiB, got ${show(raw.size)}`;

  const spec: PartitionSpec = { name: raw.name, type, size, flags: [] };
  if (raw.start !== undefined) {
    const start = parseBytes(raw.start as string | number);
    if (typeof start === 'string') return `start: ${start}`;
    if (start < ALIGN || start % ALIGN !== 0) return `start must be a multiple of 1MiB and at least 1MiB, got ${show(raw.start)}`;
    spec.start = start;
  }
  if (raw.flags !== undefined) {
    if (!Array.isArray(raw.flags)) return 'flags must be a list';
    for (const f of raw.flags) {
      if (!FLAGS.includes(f as PartitionFlag)) return `unknown flag ${show(f)} (expected ${FLAGS.join(', ')})`;
      if (f === 'boot' && table !== 'mbr') return "flag 'boot' exists only in an mbr table (use legacy_boot on gpt)";
      if (f === 'legacy_boot' && table !== 'gpt') return "flag 'legacy_boot' exists only in a gpt table (use boot on mbr)";
      spec.flags.push(f as PartitionFlag);
    }
  }
  if (raw.filesystem !== undefined) {
    if (raw.filesystem === 'xfs') return XFS_UNSUPPORTED;
    if (!FILESYSTEMS.includes(raw.filesystem as FilesystemType)) {
      return `unknown filesystem ${show(raw.filesystem)} (expected ${FILESYSTEMS.join(', ')})`;
    }
    spec.filesystem = raw.filesystem as FilesystemType;
  }
  if (raw.label !== undefined) {
    if (typeof raw.label !== 'string' || raw.label === '') return 'label must be a non-empty string';
    const max = spec.filesystem === 'vfat' ? 11 : 16;
    if (Buffer.byteLength(raw.label) > max) return `label '${raw.label}' is longer than ${max} bytes (${spec.filesystem ?? 'filesystem'} limit)`;
    spec.label = raw.label;
  }
  if (raw.mountpoint !== undefined) {
    if (typeof raw.mountpoint !== 'string' || !raw.mountpoint.startsWith('/') || /\s/.test(raw.mountpoint)) {
      return `mountpoint must be an absolute path without spaces, got ${show(raw.mountpoint)}`;
    }
    spec.mountpoint = raw.mountpoint.length > 1 ? raw.mountpoint.replace(/\/+$/, '') : '/';
  }
  if (raw.fstabOptions !== undefined) {
    if (typeof raw.fstabOptions !== 'string' || !/^\S+$/.test(raw.fstabOptions)) return 'fstabOptions must be one word like defaults,noatime';
    spec.fstabOptions = raw.fstabOptions;
  }
  return checkTypeFits(spec, table) ?? spec;
}

/** Rules that tie a partition's type, filesystem and mountpoint together. */
function checkTypeFits(p: PartitionSpec, table: TableType): string | undefined {
  switch (p.type) {
    case 'bios-boot':
      if (table !== 'gpt') return 'a bios-boot partition exists only in a gpt table (on mbr, GRUB embeds after the MBR)';
      if (p.filesystem || p.mountpoint) return 'a bios-boot partition holds GRUB core.img: no filesystem, no mountpoint';
      return undefined;
    case 'efi':
      if (p.filesystem !== 'vfat') return 'an efi (ESP) partition needs filesystem: vfat';
      return undefined;
    case 'swap':
      if (p.filesystem !== undefined && p.filesystem !== 'swap') return 'a swap partition takes filesystem: swap (or none)';
      if (p.mountpoint) return 'a swap partition has no mountpoint';
      return undefined;
    case 'linux':
      if (p.filesystem === 'swap') return "filesystem 'swap' needs type: swap";
      if (p.mountpoint && !p.filesystem) return `mountpoint ${p.mountpoint} needs a filesystem`;
      if (p.mountpoint && p.mountpoint !== '/') {
        return `a separate filesystem for ${p.mountpoint} is not supported: the whole tree goes into the root filesystem`;
      }
      if (p.mountpoint === '/' && p.filesystem !== 'ext4') return 'the root filesystem must be ext4 (made with mkfs.ext4 -d)';
      return undefined;
  }
}

/** Rules across partitions: unique names, one root, one `rest`, percentages, overlaps. */
function checkWhole(parts: PartitionSpec[], table: TableType): { message: string; partition?: string } | undefined {
  const seen = new Set<string>();
  for (const p of parts) {
    if (seen.has(p.name)) return { message: `two partitions are named '${p.name}'`, partition: p.name };
    seen.add(p.name);
  }
  const roots = parts.filter((p) => p.mountpoint === '/');
  if (roots.length === 0) return { message: 'no partition has mountpoint /' };
  if (roots.length > 1) return { message: `two root partitions: ${roots.map((p) => p.name).join(' and ')}`, partition: roots[1]!.name };
  const mounts = new Map<string, string>();
  for (const p of parts) {
    if (!p.mountpoint) continue;
    const other = mounts.get(p.mountpoint);
    if (other) return { message: `mountpoint ${p.mountpoint} is used by '${other}' and '${p.name}'`, partition: p.name };
    mounts.set(p.mountpoint, p.name);
  }
  const labels = new Map<string, string>();
  for (const p of parts) {
    if (!p.label) continue;
    const key = p.label.toUpperCase();
    const other = labels.get(key);
    if (other) return { message: `label '${p.label}' is used by '${other}' and '${p.name}'`, partition: p.name };
    labels.set(key, p.name);
  }
  const rests = parts.filter((p) => p.size.kind === 'rest');
  if (rests.length > 1) return { message: `only one partition may have size: rest (${rests.map((p) => p.name).join(', ')})`, partition: rests[1]!.name };
  const percent = parts.reduce((sum, p) => sum + (p.size.kind === 'percent' ? p.size.percent : 0), 0);
  if (percent > 100 || (percent === 100 && parts.length > 1)) {
    return { message: `percentages add up to ${percent}%, leaving no room for the other partitions` };
  }
  if (parts.filter((p) => p.type === 'efi').length > 1) return { message: 'more than one efi partition' };
  if (parts.filter((p) => p.type === 'bios-boot').length > 1) return { message: 'more than one bios-boot partition' };
  if (table === 'mbr' && parts.filter((p) => p.flags.includes('boot')).length > 1) return { message: "more than one partition has the 'boot' flag" };
  // Explicit starts: each must lie after the end of the previous fixed-size partition.
  let end = 0;
  let endKnown = true;
  let prev = '';
  for (const p of parts) {
    if (p.start !== undefined && endKnown && p.start < end) {
      return { message: `starts at ${p.start} bytes, inside '${prev}' which ends at ${end}: partitions overlap`, partition: p.name };
    }
    const start: number | undefined = p.start ?? (endKnown ? Math.max(end, ALIGN) : undefined);
    endKnown = start !== undefined && p.size.kind === 'bytes';
    end = endKnown ? start! + (p.size as { bytes: number }).bytes : 0;
    prev = p.name;
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

