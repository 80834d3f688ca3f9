// `imgfactory build --check` (Nix's `--check`): builds the image again from
// nothing — an empty cache and build directory of its own, the earlier
// build's archive state and SOURCE_DATE_EPOCH — and compares the result with
// the earlier build's manifest:
//
//   layer keys   the first that differs with every layer before it the same:
//                the inputs changed since (an element, a variable, the tool)
//   layers       the first step whose layer differs is the step that is not
//                reproducible (every key after it follows from its bytes);
//                its files are compared with the earlier layer when the
//                user's cache still holds it
//   outputs      each output file by sha256
//
// The rebuild reads nothing of the user's cache and writes nothing outside
// its own directory, which goes whatever happens; the earlier outputs, the
// manifest and the cache are left as they were.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { DecompressStream } from 'zstd-napi';
import { createHash } from 'node:crypto';
import type { LayerKey } from '../cache/digest.js';
import { LocalLayerStore } from '../cache/store-local.js';
import { readTar, type TarMember } from '../cache/tar-reader.js';
import { unwrap } from '../failure.js';
import type { Manifest } from '../manifest/manifest.js';
import { readManifest } from '../manifest/read.js';
import { build, type BuildOptions } from './builder.js';
import type { StepReport } from './events.js';

/** At most this many files are named for a layer that differs. */
const MAX_FILES = 20;

export interface CheckResult {
  manifest: string;
  /** What differs, one sentence each; empty when the rebuild gave the same bytes. */
  differences: string[];
  outputs: number;
  /** Layers compared by digest; null for a manifest of an earlier imgfactory, which records none (keys and outputs are compared). */
  layers: number | null;
  seconds: number;
}

/**
 * Rebuilds what `options` describe as the build that wrote `manifestFile`
 * did, in a directory of its own under `options.buildRoot`; `earlierCache`
 * is the cache the earlier layers may still be in (null: none).
 */
export async function checkRebuild(manifestFile: string, options: BuildOptions, earlierCache: string | null): Promise<CheckResult> {
  const earlier = unwrap(await readManifest(manifestFile)).manifest;
  await mkdir(options.buildRoot, { recursive: true });
  const root = await mkdtemp(path.join(options.buildRoot, '.check-'));
  const { signKey: _unsigned, ...unsigned } = options;
  try {
    const again = await build({
      ...unsigned,
      buildRoot: path.join(root, 'build'),
      cacheDir: path.join(root, 'cache'),
      remoteCache: null,
      refresh: false,
      breakAt: null,
      archiveState: { kind: 'file', file: manifestFile },
      sourceDateEpoch: earlier.sourceDateEpoch,
      outputs: { ...options.outputs, outputDir: path.join(root, 'out') },
      ...(earlier.tag ? { tag: earlier.tag } : {}),
    });
    const rebuilt = unwrap(await readManifest(again.manifest.manifest)).manifest;
    const { differences, layerAt } = compareBuilds(earlier, rebuilt, again.steps);
    if (layerAt !== null) {
      const files = await layerFileDifferences(earlier.layerKeys[layerAt]! as LayerKey, again.steps[layerAt]!.key as LayerKey, earlierCache, path.join(root, 'cache'));
      differences.push(...files);
    }
    return { manifest: manifestFile, differences, outputs: earlier.outputs.length, layers: earlier.layers?.length ?? null, seconds: again.seconds };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** What differs between the earlier build's manifest and the rebuild's (pure): sentences, and the step whose layer differs first. */
export function compareBuilds(earlier: Manifest, again: Manifest, steps: readonly Pick<StepReport, 'id'>[]): { differences: string[]; layerAt: number | null } {
  const differences: string[] = [];
  let layerAt: number | null = null;
  const stepName = (i: number): string => steps[i]?.id ?? `step ${i + 1}`;
  if (earlier.layerKeys.length !== again.layerKeys.length) {
    differences.push(`the rebuild has ${again.layerKeys.length} steps, the earlier build ${earlier.layerKeys.length}: the elements changed since`);
  }
  for (const [i, key] of earlier.layerKeys.slice(0, again.layerKeys.length).entries()) {
    if (again.layerKeys[i] !== key) {
      differences.push(`step ${stepName(i)} has another key (${key} then, ${again.layerKeys[i]} now) with every layer before it the same: its inputs changed since the earlier build (an element, a variable, the imgfactory version)`);
      break;
    }
    const [then, now] = [earlier.layers?.[i], again.layers?.[i]];
    if (then !== undefined && now !== then) {
      differences.push(`step ${stepName(i)} wrote other bytes: layer ${then} then, ${now} now (every key after it follows from them)`);
      layerAt = i;
      break;
    }
  }
  for (const o of earlier.outputs) {
    const now = again.outputs.find((x) => x.name === o.name);
    if (!now) differences.push(`output ${o.name} was not made again (ask for the same -t as the earlier build)`);
    else if (now.sha256 !== o.sha256) differences.push(`output ${o.name}: sha256 ${o.sha256} then, ${now.sha256} now`);
  }
  return { differences, layerAt };
}

/** One entry of a layer as compared: everything its tar member says, the content by sha256. */
export type EntryFacts = Map<string, string>;

/** The files that differ between the earlier layer (if `earlierCache` still holds it) and the rebuilt one. */
async function layerFileDifferences(earlierKey: LayerKey, againKey: LayerKey, earlierCache: string | null, againCache: string): Promise<string[]> {
  const earlierBlob = earlierCache ? await blobOf(earlierCache, earlierKey) : null;
  if (!earlierBlob) return [`  (the earlier layer is no longer in ${earlierCache ?? 'a cache'}: its files cannot be compared)`];
  const againBlob = await blobOf(againCache, againKey);
  if (!againBlob) return [];
  const out = entryDifferences(await layerFacts(earlierBlob), await layerFacts(againBlob)).map((d) => `  ${d}`);
  return out.length > MAX_FILES ? [...out.slice(0, MAX_FILES), `  … and ${out.length - MAX_FILES} more files`] : out;
}

/** What differs between two archives' entries, one line per path (`/etc/x: content differ`), byte-compiled files last. */
export function entryDifferences(a: EntryFacts, b: EntryFacts): string[] {
  const out: string[] = [];
  // Byte-compiled files last: they follow from their sources, and would hide the file that differs first.
  const order = (n: string): string => `${n.includes('/__pycache__/') ? 1 : 0}${n}`;
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => order(x).localeCompare(order(y)))) {
    const [x, y] = [a.get(name), b.get(name)];
    if (x === y) continue;
    out.push(`/${name.replace(/^\.\//, '')}: ${x === undefined ? 'only in the rebuild' : y === undefined ? 'only in the earlier build' : what(x, y)}`);
  }
  return out;
}

/** Which facts of an entry differ: "content", "mtime", ... */
function what(x: string, y: string): string {
  const [fx, fy] = [JSON.parse(x) as Record<string, unknown>, JSON.parse(y) as Record<string, unknown>];
  return `${Object.keys(fx).filter((k) => JSON.stringify(fx[k]) !== JSON.stringify(fy[k])).join(', ')} differ`;
}

async function blobOf(cacheDir: string, key: LayerKey): Promise<string | null> {
  const store = new LocalLayerStore(cacheDir);
  const entry = await store.lookup(key, 'any');
  if (!entry) return null;
  const file = await store.layerFile(entry);
  return file.ok ? file.value : null;
}

function layerFacts(blob: string): Promise<EntryFacts> {
  return tarFacts(createReadStream(blob).pipe(new DecompressStream()) as AsyncIterable<Buffer>);
}

/** Each entry of the tar in `source`: everything its member says, the content by sha256 (bench/reproducible.mjs reads output tars with it). */
export async function tarFacts(source: AsyncIterable<Buffer>): Promise<EntryFacts> {
  const facts: EntryFacts = new Map();
  await readTar(source, async (m: TarMember, body) => {
    const hash = createHash('sha256');
    for await (const chunk of body) hash.update(chunk);
    const xattrs = m.xattrs.map(([k, v]) => `${k}=${v.toString('hex')}`);
    facts.set(m.name, JSON.stringify({ type: m.typeflag, mode: m.mode, owner: `${m.uid}:${m.gid}`, mtime: String(m.mtimeNs), link: m.linkname, device: `${m.devmajor}:${m.devminor}`, xattrs, content: hash.digest('hex') }));
  });
  return facts;
}
