// `imgfactory build <image...>`: validates the build options, resolves the
// element graph, runs the build (src/engine/) and reports it: progress on
// stderr, the timing table at the end, a JSON summary on stdout with --json.
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { build, type BuildOptions, type BuildResult } from '../engine/builder.js';
import { checkRebuild } from '../engine/rebuild-check.js';
import { manifestFileName } from '../manifest/manifest.js';
import { formatByCli, OUTPUT_FORMATS, type OutputType } from '../output/formats.js';
import { AUTO_MIN_BYTES, SCRATCH_MODES, type ScratchMode } from '../engine/scratch-fs.js';
import type { ExtraSource } from '../distro/distro.js';
import { applyOverrides, overridesFromEnv, parseAptSource, SNAPSHOT_BASE, snapshotOverride } from '../distro/sources.js';
import { parseArchiveStateMode } from '../engine/archive-source.js';
import { breakRequest } from '../engine/break-points.js';
import { FailureError } from '../failure.js';
import { catchInterrupts, interruptedBy, interruptedFailure, interruption } from '../process/interrupt.js';
import { SANDBOX_KINDS, type SandboxKind } from '../sandbox/sandbox.js';
import { declaredVars } from '../steps/hook-env.js';
import { loadContext, resolveForCommand, type CommonArgs } from './context.js';
import type { Handler } from './main.js';
import type { Output } from './output.js';
import { REMOTE_CACHE_OPTIONS, remoteCacheSettings, type RemoteCacheArgs } from './remote-cache-args.js';
import { progressRenderer } from './progress.js';
import { loadSecrets, SECRET_SYNTAX } from './secret-args.js';
import { signingKeyFor } from './signing-key-arg.js';
import { timingTable } from './timing-table.js';

/** What `-t` accepts, in table order (src/output/formats.ts). */
const TYPE_NAMES = OUTPUT_FORMATS.map((f) => f.cli).join(', ');

interface Args extends CommonArgs, RemoteCacheArgs {
  image: string[];
  type: string[];
  outputDir: string;
  cacheDir: string;
  buildDir: string;
  scratch: ScratchMode;
  cache: boolean;
  refresh?: boolean;
  archiveState: string;
  sandbox: SandboxKind | 'auto';
  imageName?: string;
  env?: string[];
  secret?: string[];
  notSecret?: string[];
  hostWritable?: string[];
  release?: string;
  mirror?: string;
  securityMirror?: string;
  aptSource?: string[];
  snapshot?: string;
  snapshotBase: string;
  sourceDateEpoch?: number;
  blockDevice?: string;
  base?: boolean;
  compress: boolean;
  qcow2Compression: 'zstd' | 'zlib';
  imageSize?: string;
  imageExtraSize?: string;
  tag?: string;
  sign: boolean;
  signKey?: string;
  jsonFile?: string;
  check?: boolean;
}

/** `-t` values (repeated or comma-separated CLI names) to the formats' recorded names, each once. */
function parseTypes(raw: string[]): OutputType[] {
  const names = raw.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  const types = names.map((t) => {
    const row = formatByCli(t);
    if (!row) throw new FailureError({ reason: 'usage', message: `unknown output type "${t}" in -t`, hint: `choose from ${TYPE_NAMES}` });
    return row.id as OutputType;
  });
  if (types.length === 0) throw new FailureError({ reason: 'usage', message: '-t needs at least one output type' });
  return [...new Set(types)];
}

/** An `--apt-source` line, or a usage failure saying what is wrong with it. */
function aptSourceArg(line: string): ExtraSource {
  const parsed = parseAptSource(line);
  if ('problem' in parsed) throw new FailureError({ reason: 'usage', message: `--apt-source "${line}": ${parsed.problem}`, hint: 'e.g. --apt-source "[trusted=yes] http://127.0.0.1:8080/repo local main"' });
  return parsed;
}

function sourceDateEpoch(flag: number | undefined): number | null {
  const raw = flag ?? process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return null;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new FailureError({ reason: 'usage', message: `SOURCE_DATE_EPOCH must be a whole number of seconds, got "${raw}"` });
  return n;
}

/** `--host-writable` directories: absolute, existing directories (a typo must not pass silently). */
async function hostDirs(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) {
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new FailureError({ reason: 'usage', message: `--host-writable ${dir}: ${st ? 'not a directory' : 'no such directory'}` });
    out.push(path.resolve(dir));
  }
  return out;
}

export function buildCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, Args> {
  return {
    command: 'build <image..>',
    describe: 'build disk images of an image (or elements)',
    builder: (y) =>
      y
        .positional('image', { type: 'string', array: true, describe: 'image or element names, e.g. overcloud-control' })
        .option('type', { alias: 't', type: 'string', array: true, default: ['qcow2'], describe: `output types, comma-separated: ${TYPE_NAMES}` })
        .option('output-dir', { alias: 'o', type: 'string', default: './out', describe: 'where outputs are written' })
        .option('image-name', { alias: 'n', type: 'string', describe: 'output file name without extension (default: the first image name)' })
        .option('cache-dir', { type: 'string', default: process.env.IMGFACTORY_CACHE ?? './cache', describe: 'layer cache (or IMGFACTORY_CACHE)' })
        .option('build-dir', { type: 'string', default: process.env.IMGFACTORY_BUILD_DIR ?? './build', describe: 'scratch space for trees and step logs (or IMGFACTORY_BUILD_DIR)' })
        .option('scratch', { choices: SCRATCH_MODES, default: (process.env.IMGFACTORY_SCRATCH ?? 'disk') as ScratchMode, describe: `where the tree is built: disk (under --build-dir; keeps tree checkpoints), tmpfs (in memory: faster cold builds, no checkpoints), or auto: tmpfs when ${AUTO_MIN_BYTES / 1024 ** 3} GiB of memory are free (or IMGFACTORY_SCRATCH)` })
        .option('cache', { type: 'boolean', default: true, describe: 'use the layer cache (--no-cache builds everything and stores nothing)' })
        .option('refresh', { type: 'boolean', describe: 'rebuild the base tree and package steps even if cached' })
        .option('archive-state', {
          type: 'string',
          default: process.env.IMGFACTORY_ARCHIVE_STATE ?? 'live',
          describe: 'the archive state the base tree and package steps are keyed with: live (read the mirrors\' InRelease files now), cached (what this cache last recorded; offline: keep what is cached), or a state file or manifest (or IMGFACTORY_ARCHIVE_STATE)',
        })
        .option('sandbox', { choices: ['auto', ...SANDBOX_KINDS] as const, default: 'auto' as const, describe: 'where hooks run (auto: the first of these that works on this host)' })
        .option('env', { type: 'string', array: true, describe: 'declare a build variable for hooks: NAME=VALUE, or NAME to take it from the environment (DIB_* are always passed); recorded in the manifest, part of cache keys' })
        .option('secret', {
          type: 'string',
          array: true,
          describe: `give hooks a secret, never keyed, logged, stored or recorded: ${SECRET_SYNTAX}; hooks read $IMGFACTORY_SECRETS/ID (docs/hooks.md)`,
        })
        .option('not-secret', { type: 'string', array: true, describe: 'a declared variable whose name only looks like a secret (*PASSWORD*, *TOKEN*, *KEY*…): record it as a plain input' })
        .option('host-writable', { type: 'string', array: true, describe: 'a host directory hooks run outside the tree may write (the container sandbox shows them the rest of the host read-only)' })
        .option('release', { type: 'string', describe: 'distribution release (or DIB_RELEASE)' })
        .option('mirror', { type: 'string', describe: 'archive mirror (or DIB_DISTRIBUTION_MIRROR)' })
        .option('security-mirror', { type: 'string', describe: 'security archive mirror (or DIB_DEBIAN_SECURITY_MIRROR)' })
        .option('apt-source', { type: 'string', array: true, describe: 'one more archive to install from, as a one-line apt source: "[trusted=yes] http://host/repo SUITE COMPONENT..." (repeatable); its release file is part of the archive state' })
        .option('snapshot', { type: 'string', describe: 'install from the archive as it was at this time (a snapshot mirror\'s timestamp, e.g. 20230610T085347Z): both mirrors become --snapshot-base\'s' })
        .option('snapshot-base', { type: 'string', default: process.env.IMGFACTORY_SNAPSHOT_BASE ?? SNAPSHOT_BASE, describe: 'the snapshot archive --snapshot reads (or IMGFACTORY_SNAPSHOT_BASE)' })
        .option('source-date-epoch', { type: 'number', describe: 'timestamps for reproducible trees (or SOURCE_DATE_EPOCH)' })
        .option('base', { type: 'boolean', default: true, describe: "add the base element to the image, as disk-image-create does (--no-base: not, as its -n)" })
        .option('block-device', { type: 'string', describe: 'disk layout: efi, gpt, mbr or a YAML/JSON file (default: the image\'s block-device-* element, else efi)' })
        .option('compress', { type: 'boolean', default: true, describe: 'compress qcow2 images (--no-compress to not)' })
        .option('qcow2-compression', { choices: ['zstd', 'zlib'] as const, default: 'zstd' as const, describe: 'codec of compressed qcow2 clusters: zstd (QEMU >= 5.1 reads it) or zlib (any QEMU)' })
        .option('image-size', { type: 'string', describe: 'whole disk size, e.g. 8GiB (default: computed from the tree)' })
        .option('image-extra-size', { type: 'string', describe: 'extra room in the root filesystem, e.g. 1GiB' })
        .option('tag', { type: 'string', describe: 'recorded in the manifest and in output names, e.g. a commit: <image>-<tag>.qcow2' })
        .option('sign-key', { type: 'string', describe: 'sign the manifest with this private key (a PEM file, or env:NAME; or IMGFACTORY_SIGN_KEY); default: this machine\'s local key, made on first use' })
        .option('sign', { type: 'boolean', default: true, describe: 'sign the manifest (--no-sign to not)' })
        .options(REMOTE_CACHE_OPTIONS)
        .option('check', { type: 'boolean', describe: 'build the image again from nothing (an empty cache, the archive state and SOURCE_DATE_EPOCH of the manifest in --output-dir) and compare: exit 3 naming the step and files that differ' })
        .option('json', { type: 'boolean', describe: 'print a JSON summary of the build on stdout' })
        .option('json-file', { type: 'string', describe: 'write the JSON summary to this file' }) as never,
    handler: run<Args>(async (args, out) => {
      // From the first moment to the last: SIGINT and SIGTERM stop the build (process/interrupt.ts).
      const release = catchInterrupts((signal) => out.error(`${signal} again: exiting without finishing the clean-up (the next build finishes it)`));
      try {
        return await buildHandler(args, out);
      } catch (e) {
        // Whatever unwound the build after an interruption is the interruption.
        if (interruptedBy() && !(e instanceof FailureError && e.failure.reason === 'interrupted')) throw new FailureError(interruptedFailure());
        throw e;
      } finally {
        release();
      }
    }),
  };
}

async function buildHandler(args: Args, out: Output): Promise<number> {
  const types = parseTypes(args.type);
  // DIB's break=: refused here, before anything is built, when there is no terminal for the shell.
  const breakAt = await breakRequest(process.env, process.stdin, process.stdout);
  if (args.tag !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(args.tag)) {
    throw new FailureError({ reason: 'usage', message: `--tag "${args.tag}" cannot be part of a file name`, hint: 'use letters, digits, ".", "_" and "-", e.g. a commit hash' });
  }
  if (args.snapshot && (args.mirror || args.securityMirror)) {
    throw new FailureError({ reason: 'usage', message: `--snapshot chooses the mirrors itself: leave out ${args.mirror ? '--mirror' : '--security-mirror'}`, hint: 'point --snapshot-base at your snapshot mirror instead' });
  }
  const ctx = await loadContext(args, out);
  const distro = applyOverrides(ctx.distro, overridesFromEnv(process.env), {
    ...(args.release ? { release: args.release } : {}),
    ...(args.mirror ? { mirror: args.mirror } : {}),
    ...(args.securityMirror ? { securityMirror: args.securityMirror } : {}),
    ...(args.snapshot ? snapshotOverride(args.snapshot, args.snapshotBase) : {}),
    ...(args.aptSource ? { extraSources: args.aptSource.map(aptSourceArg) } : {}),
  });
  const graph = resolveForCommand(ctx, args.image, distro, out, { skipBase: args.base === false });
  const signing = await signingKeyFor(args, (message) => out.info(`note: ${message}`));
  const remoteCache = await remoteCacheSettings(args);
  const secrets = await loadSecrets(args.secret ?? [], process.env);
  const declared = declaredVars(process.env, args.env ?? [], { secrets, notSecret: args.notSecret ?? [] });
  const hostWritable = await hostDirs(args.hostWritable ?? []);
  const imageName = args.imageName ?? args.image[0]!;
  out.info(`building ${imageName}: ${graph.elements.length} elements on ${distro.name} (${distro.release}); outputs ${types.join(', ')} in ${path.resolve(args.outputDir)}`);

  const progress = progressRenderer({ stream: process.stderr, tty: Boolean(process.stderr.isTTY) && !process.env.CI });
  const options: BuildOptions = {
    graph,
    distro,
    imageName,
    buildRoot: args.buildDir,
    scratch: args.scratch,
    cacheDir: args.cache ? args.cacheDir : null,
    remoteCache,
    refresh: args.refresh ?? false,
    archiveState: parseArchiveStateMode(args.archiveState),
    breakAt,
    outputs: { types, outputDir: args.outputDir },
    disk: {
      compress: args.compress,
      qcow2Compression: args.qcow2Compression,
      ...(args.blockDevice ? { layout: args.blockDevice } : {}),
      ...(args.imageSize ? { imageSize: args.imageSize } : {}),
      ...(args.imageExtraSize ? { extraSize: args.imageExtraSize } : {}),
    },
    sandbox: args.sandbox,
    declared,
    secrets,
    hostWritable,
    sourceDateEpoch: sourceDateEpoch(args.sourceDateEpoch),
    ...(args.tag ? { tag: args.tag } : {}),
    ...(signing ? { signKey: signing.spec } : {}),
    emit: progress.emit,
    signal: interruption,
  };
  if (args.check) {
    const earlier = path.resolve(args.outputDir, manifestFileName(imageName, args.tag));
    if (!(await stat(earlier).catch(() => null))) throw new FailureError({ reason: 'usage', message: `--check: no earlier build to compare with: ${earlier} does not exist`, hint: 'build the image first (with the same -o, -n and --tag), then check it' });
    const checked = await checkRebuild(earlier, options, args.cache ? args.cacheDir : null).finally(() => progress.close());
    if (checked.differences.length > 0) throw new FailureError({ reason: 'not-reproducible', manifest: earlier, differences: checked.differences });
    const layers = checked.layers === null ? 'layer keys (the manifest records no layer digests)' : `${checked.layers} layers`;
    out.info(`reproducible: building again from nothing gave the same ${checked.outputs} output${checked.outputs === 1 ? '' : 's'} and ${layers} as ${earlier} (${checked.seconds.toFixed(0)} s)`);
    return 0;
  }
  let result: BuildResult;
  try {
    result = await build(options);
  } finally {
    progress.close();
  }
  out.info('');
  out.info(timingTable(result.steps, result.seconds));
  out.info(`manifest: ${result.manifest.manifest}`);
  if (result.manifest.signature && signing) out.info(`signed:   ${result.manifest.signature} (${signing.label}, key id ${signing.keyId.slice(0, 16)})`);
  if (args.json) out.json(buildSummary(imageName, result));
  if (args.jsonFile) await writeFile(args.jsonFile, `${JSON.stringify(buildSummary(imageName, result), null, 2)}\n`);
  return 0;
}

export function buildSummary(image: string, r: BuildResult): unknown {
  return {
    image,
    result: 'success',
    seconds: Number(r.seconds.toFixed(3)),
    sandbox: r.sandbox,
    scratch: r.scratch,
    steps: r.steps.map((s) => ({ id: s.id, phase: s.phase, status: s.status, seconds: Number(s.seconds.toFixed(3)), layerSize: s.layerSize, key: s.key })),
    // As always: the hashes only of the files this build wrote.
    outputs: r.outputs.map((o) => ({ path: o.path, format: o.format, size: o.size, sha256: o.sha256, cached: o.cached, ...(o.cached ? {} : { hashes: o.hashes }) })),
    manifest: r.manifest.manifest,
    provenance: r.manifest.provenance,
    signature: r.manifest.signature,
    remote: r.remote,
    cached: r.steps.filter((s) => s.status === 'cached').length,
    built: r.steps.filter((s) => s.status === 'built').length,
  };
}
