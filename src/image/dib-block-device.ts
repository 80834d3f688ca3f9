// diskimage-builder's block-device configuration (the YAML of its
// block-device-* elements' block-device-default.yaml and of
// DIB_BLOCK_DEVICE_CONFIG) read into an imgfactory layout, which the
// loop-free assembler then builds. DIB's config is a list of plugin nodes,
// written as a tree or as a graph joined by `base`; it is flattened the way
// DIB's block_device/config.py flattens it, then walked:
//
//   local_loop (the disk) ─► partitioning (table, partitions) ─► mkfs ─► mount ─► fstab
//        image0                 base: image0     root, ESP, BSP    base: root  mount_point  options
//
// What the loop-free assembler cannot make is refused with the file and the
// key: lvm (needs device-mapper), a filesystem on the whole disk (no
// partition table), mkfs `opts`/`uuid`, a partition type it has no name for.
// The defaults are DIB's: the root filesystem (`mkfs_root`) is ext4 labelled
// cloudimg-rootfs, another filesystem is labelled with its node's name, a GPT
// partition's `boot` flag is the legacy BIOS bootable attribute.
import { fail, type Result } from '../failure.js';
import type { Layout } from './layout.js';
import { parseLayout } from './layout-parse.js';

/** DIB 3.13's block-device plugins (its setup.cfg entry points). */
const PLUGINS = ['local_loop', 'partitioning', 'lvm', 'mkfs', 'mount', 'fstab'] as const;
type Plugin = (typeof PLUGINS)[number];
const isPlugin = (k: string): k is Plugin => (PLUGINS as readonly string[]).includes(k);

/** Why each plugin DIB has and imgfactory cannot build is refused. */
const REFUSED: Partial<Record<Plugin, string>> = {
  lvm: 'LVM volumes are not supported: imgfactory assembles disks from files, without device-mapper (use plain partitions)',
};

/** Keys each plugin may carry besides `name` and `base`; DIB's own and no others. */
const KEYS: Record<Exclude<Plugin, 'lvm'>, string[]> = {
  local_loop: ['directory'],
  partitioning: ['label', 'align', 'partitions'],
  mkfs: ['type', 'label'],
  mount: ['mount_point'],
  fstab: ['options', 'dump-freq', 'fsck-passno'],
};
const PARTITION_KEYS = ['name', 'flags', 'size', 'type'];

/** GPT type codes (sgdisk's) and MBR type bytes DIB configs use, as imgfactory's partition types. */
const GPT_TYPES: Record<string, string> = { '8300': 'linux', EF00: 'efi', EF02: 'bios-boot', '8200': 'swap' };
const MBR_TYPES: Record<number, string> = { 0x83: 'linux', 0xef: 'efi', 0x82: 'swap' };

/** The root filesystem node's name, which DIB fills in from its root-fs-type / root-label parameters. */
const ROOT_MKFS = 'mkfs_root';
const ROOT_FS_TYPE = 'ext4';
const ROOT_LABEL = 'cloudimg-rootfs';

interface Node {
  plugin: Plugin;
  name: string;
  base?: string;
  values: Record<string, unknown>;
  /** Where it was written, for messages: `entry 2 (partitioning)`. */
  at: string;
}

/** Is `doc` a DIB block-device config (a list of plugin nodes) rather than an imgfactory layout (a mapping)? */
export function isDibConfig(doc: unknown): doc is unknown[] {
  return Array.isArray(doc);
}

/** DIB's block-device config `doc`, read from `source`, as a validated imgfactory layout. */
export function dibConfigLayout(doc: unknown[], source: string): Result<Layout> {
  const bad = (message: string): Result<Layout> => fail({ reason: 'bad-layout', file: source, message: `diskimage-builder block-device config: ${message}` });
  const nodes: Node[] = [];
  for (const [i, entry] of doc.entries()) {
    const flat = flatten(entry, undefined, `entry ${i + 1}`, nodes);
    if (flat) return bad(flat);
  }
  for (const n of nodes) {
    const refused = REFUSED[n.plugin];
    if (refused) return bad(`${n.at}: \`${n.plugin}\`: ${refused}`);
    const allowed = KEYS[n.plugin as Exclude<Plugin, 'lvm'>];
    const unknown = Object.keys(n.values).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) return bad(`${n.at}: \`${n.plugin}\` key(s) ${unknown.join(', ')} not supported (imgfactory reads ${['name', 'base', ...allowed].join(', ')})${hintFor(unknown)}`);
  }
  const loops = nodes.filter((n) => n.plugin === 'local_loop');
  if (loops.length !== 1) return bad(`exactly one \`local_loop\` (the disk) is needed, found ${loops.length}`);
  const disk = loops[0]!;
  const tables = nodes.filter((n) => n.plugin === 'partitioning');
  if (tables.length !== 1) {
    return bad(
      tables.length === 0
        ? 'no `partitioning`: a filesystem on the whole disk, without a partition table, is not supported (add a partitioning node, as block-device-mbr has)'
        : `one \`partitioning\` is supported, found ${tables.length}`,
    );
  }
  const table = tables[0]!;
  if (table.base !== disk.name) return bad(`${table.at}: \`partitioning\` base '${table.base ?? ''}' is not the local_loop '${disk.name}'`);
  const label = table.values.label;
  if (label !== 'mbr' && label !== 'gpt') return bad(`${table.at}: \`partitioning\` label must be mbr or gpt, got ${JSON.stringify(label)}`);
  if (table.values.align !== undefined && !['1MiB', '1M', 1048576].includes(table.values.align as string | number)) {
    return bad(`${table.at}: \`partitioning\` align ${JSON.stringify(table.values.align)}: imgfactory aligns every partition to 1MiB`);
  }
  const rawParts = table.values.partitions;
  if (!Array.isArray(rawParts) || rawParts.length === 0) return bad(`${table.at}: \`partitioning\` partitions must be a non-empty list`);

  const partitions: Record<string, unknown>[] = [];
  for (const [i, raw] of (rawParts as Record<string, unknown>[]).entries()) {
    const at = `${table.at}, partition ${i + 1}`;
    const unknown = Object.keys(raw).filter((k) => !PARTITION_KEYS.includes(k));
    if (unknown.length > 0) return bad(`${at}: key(s) ${unknown.join(', ')} not supported (imgfactory reads ${PARTITION_KEYS.join(', ')} and the mkfs under it)`);
    const part = partitionOf(raw, label, nodes);
    if (typeof part === 'string') return bad(`${at} (${String(raw.name)}): ${part}`);
    partitions.push(part);
  }
  const partNames = new Set(partitions.map((p) => p.name));
  for (const n of nodes.filter((m) => m.plugin === 'mkfs')) {
    if (n.base === disk.name) return bad(`${n.at}: \`mkfs\` on the whole disk '${disk.name}' is not supported: imgfactory's images have a partition table`);
    if (!partNames.has(n.base ?? '')) return bad(`${n.at}: \`mkfs\` base '${n.base ?? ''}' is no partition`);
  }
  return parseLayout({ table: label, partitions }, source);
}

/** One DIB partition (and the mkfs, mount and fstab nodes on it) as an imgfactory layout partition; a message when it cannot be one. */
function partitionOf(raw: Record<string, unknown>, table: 'mbr' | 'gpt', nodes: Node[]): Record<string, unknown> | string {
  const name = raw.name;
  if (typeof name !== 'string') return '`name` is missing';
  const flags = (raw.flags ?? []) as unknown[];
  if (!Array.isArray(flags)) return '`flags` must be a list';
  const out: Record<string, unknown> = { name, size: raw.size === '100%' ? 'rest' : raw.size, flags: [] as string[] };
  for (const f of flags) {
    if (f === 'primary' && table === 'mbr') continue; // every partition imgfactory writes on mbr is primary
    if (f !== 'boot') return `flag ${JSON.stringify(f)} not supported${f === 'primary' ? ' on gpt (as in diskimage-builder)' : ''}`;
    (out.flags as string[]).push(table === 'mbr' ? 'boot' : 'legacy_boot');
  }
  const type = partitionType(raw.type, table);
  if (type === null) return `type ${JSON.stringify(raw.type)} not supported (${table === 'gpt' ? Object.keys(GPT_TYPES).join(', ') : '0x83, 0xef, 0x82'})`;
  out.type = type;

  const mkfs = nodes.find((n) => n.plugin === 'mkfs' && n.base === name);
  if (!mkfs) return out;
  const root = mkfs.name === ROOT_MKFS;
  const fsType = mkfs.values.type ?? (root ? ROOT_FS_TYPE : undefined);
  if (fsType === undefined) return `\`mkfs\` '${mkfs.name}' needs a type`;
  out.filesystem = fsType === 'fat' ? 'vfat' : fsType;
  const fsLabel = (mkfs.values.label as string | undefined) ?? (root ? ROOT_LABEL : mkfs.name);
  out.label = out.filesystem === 'vfat' ? fsLabel.toUpperCase() : fsLabel;
  const mount = nodes.find((n) => n.plugin === 'mount' && n.base === mkfs.name);
  if (!mount) return out;
  out.mountpoint = mount.values.mount_point;
  const fstab = nodes.find((n) => n.plugin === 'fstab' && n.base === mount.name);
  if (!fstab) return out;
  if (fstab.values.options !== undefined) out.fstabOptions = fstab.values.options;
  // imgfactory's fstab has dump 0, and fsck pass 1 for / and 2 for the others: DIB's defaults and its elements' values.
  const pass = out.mountpoint === '/' ? 1 : 2;
  if (fstab.values['dump-freq'] !== undefined && Number(fstab.values['dump-freq']) !== 0) return '`fstab` dump-freq other than 0 is not supported';
  if (fstab.values['fsck-passno'] !== undefined && Number(fstab.values['fsck-passno']) !== pass) return `\`fstab\` fsck-passno for ${String(out.mountpoint)} must be ${pass} (what imgfactory writes)`;
  return out;
}

function partitionType(raw: unknown, table: 'mbr' | 'gpt'): string | null {
  if (raw === undefined) return 'linux';
  if (table === 'gpt') return GPT_TYPES[String(raw).toUpperCase()] ?? null;
  const byte = typeof raw === 'number' ? raw : parseInt(String(raw), 16);
  return MBR_TYPES[byte] ?? null;
}

/**
 * Flattens one config entry into `out`, as DIB's recurse_config does: a
 * nested plugin key is a child whose `base` is its parent's name; a node
 * without a name is `<plugin>_<base>`; a partition's plugin keys hang off the
 * partition's name. Returns a message when the entry is not a plugin node.
 */
function flatten(entry: unknown, parentBase: string | undefined, at: string, out: Node[]): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `${at}: not a mapping`;
  const keys = Object.keys(entry);
  if (keys.length !== 1) return `${at}: a node has exactly one key (the plugin), found ${keys.join(', ') || 'none'}`;
  const plugin = keys[0]!;
  if (!isPlugin(plugin)) return `${at}: \`${plugin}\` is not a diskimage-builder block-device plugin (${PLUGINS.join(', ')})${plugin === 'mdraid' ? '; RAID is not supported either' : ''}`;
  const values = (entry as Record<string, unknown>)[plugin];
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return `${at}: \`${plugin}\` must be a mapping`;
  const v = values as Record<string, unknown>;
  const base = typeof v.base === 'string' ? v.base : parentBase;
  const name = typeof v.name === 'string' ? v.name : `${plugin}_${base ?? ''}`;
  const node: Node = { plugin, name, ...(base !== undefined ? { base } : {}), values: {}, at: `${at} (${plugin} ${name})` };
  for (const [k, val] of Object.entries(v)) {
    if (k === 'name' || k === 'base') continue;
    if (k === 'partitions' && Array.isArray(val)) {
      const parts: Record<string, unknown>[] = [];
      for (const [i, p] of val.entries()) {
        if (typeof p !== 'object' || p === null) return `${node.at}: partition ${i + 1} is not a mapping`;
        const part: Record<string, unknown> = {};
        for (const [pk, pv] of Object.entries(p as Record<string, unknown>)) {
          if (isPlugin(pk)) {
            const err = flatten({ [pk]: pv }, String((p as Record<string, unknown>).name), `${node.at}, partition ${i + 1}`, out);
            if (err) return err;
          } else part[pk] = pv;
        }
        parts.push(part);
      }
      node.values.partitions = parts;
    } else if (isPlugin(k)) {
      const err = flatten({ [k]: val }, name, node.at, out);
      if (err) return err;
    } else node.values[k] = val;
  }
  out.push(node);
  return undefined;
}

/** What to write instead of a key imgfactory does not read, when there is something. */
function hintFor(keys: string[]): string {
  if (keys.includes('size')) return '; give the disk size with --image-size';
  if (keys.includes('opts') || keys.includes('uuid')) return '; imgfactory makes filesystems itself, their UUIDs derived from the image key';
  return '';
}
