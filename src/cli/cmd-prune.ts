// `imgfactory prune --name <image> --keep N`: in each cloud, delete all but
// the newest N images imgfactory published of that image (and any leaked
// upload), never one in use by a server where the cloud can tell. Prints
// what it did; the JSON report with --json or --report.
import type { Argv, CommandModule } from 'yargs';
import { FailureError } from '../failure.js';
import { prune } from '../glance/prune.js';
import { cloudsFailure } from '../glance/publish.js';
import { cloudNames, withCloudsArgs, type CloudsArgs } from './clouds-arg.js';
import type { Handler } from './main.js';
import { emitReport, printRetention } from './cloud-report.js';

interface PruneArgs extends CloudsArgs {
  name: string;
  keep: number;
  parallel?: number;
  report?: string;
  json?: boolean;
}

export function pruneCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, PruneArgs> {
  return {
    command: 'prune',
    describe: 'delete all but the newest N published images of an image, per cloud, and any leaked upload',
    builder: (y: Argv) =>
      withCloudsArgs(y)
        .option('name', { type: 'string', demandOption: true, describe: "the image (the manifest's image name) whose published images to prune" })
        .option('keep', { type: 'number', demandOption: true, describe: 'how many of the newest to keep' })
        .option('parallel', { type: 'number', default: 2, describe: 'clouds worked on at the same time' })
        .option('report', { type: 'string', describe: 'write the JSON report of every cloud to this file' })
        .option('json', { type: 'boolean', describe: 'print the JSON report on stdout' }) as never,
    handler: run<PruneArgs>(async (a, out) => {
      const r = await prune({ clouds: cloudNames(a), series: a.name, keep: a.keep, ...(a.parallel !== undefined ? { parallel: a.parallel } : {}) });
      if (!r.ok) throw new FailureError(r.error);
      await emitReport(out, r.value, a);
      for (const c of r.value.clouds) printRetention(out, c.cloud, c.retention);
      const failure = cloudsFailure('prune', r.value.clouds);
      if (failure) throw new FailureError(failure);
      return 0;
    }),
  };
}
