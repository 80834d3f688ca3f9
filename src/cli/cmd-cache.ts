// `imgfactory cache ls|gc|verify|rm`: look after the layer cache; `push|pull`
// (cmd-cache-remote.ts) move entries to and from a remote cache.
import { checkpointBytes, listCheckpoints } from '../cache/checkpoints.js';
import type { Argv, CommandModule } from 'yargs';
import type { LayerKey } from '../cache/digest.js';
import { LocalLayerStore } from '../cache/store-local.js';
import { FailureError } from '../failure.js';
import { cachePullCommand, cachePushCommand } from './cmd-cache-remote.js';
import { formatBytes } from '../util/format.js';
import type { Handler } from './main.js';
import { parseSize } from './size-arg.js';

interface CacheArgs {
  cacheDir: string;
  json?: boolean;
}

const store = (a: CacheArgs): LocalLayerStore => new LocalLayerStore(a.cacheDir);

export function cacheCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, CacheArgs> {
  return {
    command: 'cache <command>',
    describe: 'list, verify, shrink or clear the layer cache',
    builder: (y: Argv) =>
      y
        .option('cache-dir', { type: 'string', default: process.env.IMGFACTORY_CACHE ?? './cache', describe: 'layer cache (or IMGFACTORY_CACHE)' })
        .option('json', { type: 'boolean', describe: 'print JSON on stdout' })
        .command({
          command: 'ls',
          describe: 'every entry: size, last use, image and step',
          handler: run<CacheArgs>(async (a, out) => {
            const entries = (await store(a).list()).sort((x, y) => y.lastUse - x.lastUse);
            if (a.json) {
              out.json(entries.map((e) => ({ key: e.key, integrity: e.integrity, size: e.size, lastUse: new Date(e.lastUse).toISOString(), image: e.metadata.image ?? null, step: e.metadata.step ?? null })));
              return 0;
            }
            let total = 0;
            for (const e of entries) {
              total += e.size;
              out.print(`${e.key.slice(7, 19)}  ${formatBytes(e.size).padStart(9)}  ${new Date(e.lastUse).toISOString().slice(0, 19)}  ${e.metadata.image ?? '-'}  ${e.metadata.step ?? '-'}`);
            }
            out.info(`${entries.length} entries, ${formatBytes(total)} in ${a.cacheDir}`);
            const trees = await listCheckpoints(a.cacheDir);
            if (trees.length > 0) {
              const images = [...new Set(trees.map((t) => t.image))].sort().join(', ');
              out.info(`${trees.length} tree checkpoints (${images}), ${formatBytes(await checkpointBytes(a.cacheDir))} (see docs/cache.md; cache gc removes them first)`);
            }
            return 0;
          }),
        } as never)
        .command({
          command: 'gc',
          describe: 'remove least recently used entries until the cache fits --max-size (never one in use)',
          builder: (g: Argv) => g.option('max-size', { type: 'string', demandOption: true, describe: 'e.g. 10G' }),
          handler: run<CacheArgs & { maxSize: string }>(async (a, out) => {
            const report = await store(a).gc({ maxSize: parseSize(a.maxSize, '--max-size') });
            if (a.json) out.json(report);
            else {
              if (report.removedObsolete.length > 0) out.info(`removed the earlier cache format's ${report.removedObsolete.join(' and ')}`);
              out.info(`removed ${report.removedEntries.length} entries, ${report.removedBlobs} blobs and ${report.removedCheckpoints} tree checkpoints, freed ${formatBytes(report.freedBytes)}: ${formatBytes(report.sizeBefore)} -> ${formatBytes(report.sizeAfter)}`);
              if (report.keptInUse.length) out.info(`kept ${report.keptInUse.length} entries in use`);
              if (!report.underLimit) out.warn('the cache is still over --max-size: the rest is in use');
            }
            return 0;
          }),
        } as never)
        .command({
          command: 'verify',
          describe: 're-check every blob, what binds each entry to its key, and every tree checkpoint; damaged ones are removed (exit 3)',
          handler: run<CacheArgs>(async (a, out) => {
            const report = await store(a).verify();
            if (a.json) out.json(report);
            else {
              out.info(`checked ${report.checkedBlobs} blobs and ${report.checkedCheckpoints} tree checkpoints`);
              for (const d of report.damaged) out.error(`damaged blob ${d.path}: expected ${d.integrity}, found ${d.found} (removed)`);
              for (const k of report.removedEntries) out.info(`removed entry ${k}: its blob was damaged or missing`);
              for (const u of report.unboundEntries) out.error(`removed entry ${u.key}: it ${u.problem}`);
              if (report.badIndexLines) out.warn(`${report.badIndexLines} damaged index lines skipped`);
              for (const c of report.damagedCheckpoints) out.error(`removed the tree checkpoint after ${c.step} (${c.key}): it ${c.problem}`);
            }
            return report.ok ? 0 : 3;
          }),
        } as never)
        .command({
          command: 'rm <target>',
          describe: 'remove one entry by key, or every entry of an image',
          handler: run<CacheArgs & { target: string }>(async (a, out) => {
            const s = store(a);
            const entries = await s.list();
            const doomed = entries.filter((e) => e.key === a.target || e.key === `sha256:${a.target}` || e.metadata.image === a.target);
            if (doomed.length === 0) throw new FailureError({ reason: 'usage', message: `no cache entry or image "${a.target}"`, hint: 'see `imgfactory cache ls`' });
            for (const e of doomed) await s.remove(e.key as LayerKey);
            out.info(`removed ${doomed.length} entries (their blobs go at the next gc)`);
            return 0;
          }),
        } as never)
        .command(cachePushCommand(run) as never)
        .command(cachePullCommand(run) as never)
        .demandCommand(1, 'name a cache command: ls, gc, verify, rm, push or pull') as never,
    handler: () => undefined,
  };
}
