// `imgfactory build <image...>`: validates the build options, resolves the
// element graph, and builds. Option parsing and validation live here; the
// build itself is src/build/.
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { resolveImage } from '../graph/resolve.js';
import { FailureError, unwrap } from '../failure.js';
import { loadContext, type CommonArgs } from './context.js';
import type { Handler } from './main.js';

export const OUTPUT_TYPES = ['qcow2', 'raw', 'tar'] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

interface Args extends CommonArgs {
  image: string[];
  type: string[];
  outputDir: string;
  cacheDir: string;
  cache: boolean;
  sandbox: 'auto' | 'chroot' | 'container';
}

export function parseTypes(raw: string[]): OutputType[] {
  const types = raw.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  for (const t of types) {
    if (!(OUTPUT_TYPES as readonly string[]).includes(t)) {
      throw new FailureError({ reason: 'usage', message: `unknown output type "${t}" in -t`, hint: `choose from ${OUTPUT_TYPES.join(', ')}` });
    }
  }
  if (types.length === 0) throw new FailureError({ reason: 'usage', message: '-t needs at least one output type' });
  return [...new Set(types)] as OutputType[];
}

export function buildCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, Args> {
  return {
    command: 'build <image..>',
    describe: 'build disk images of an image (or elements)',
    builder: (y) =>
      y
        .positional('image', { type: 'string', array: true, describe: 'image or element names, e.g. overcloud-control' })
        .option('type', { alias: 't', type: 'string', array: true, default: ['qcow2'], describe: `output types, comma-separated: ${OUTPUT_TYPES.join(', ')}` })
        .option('output-dir', { alias: 'o', type: 'string', default: './out', describe: 'where outputs are written' })
        .option('cache-dir', { type: 'string', default: process.env.IMGFACTORY_CACHE ?? './cache', describe: 'layer cache (or IMGFACTORY_CACHE)' })
        .option('cache', { type: 'boolean', default: true, describe: 'use the layer cache (--no-cache builds everything and stores nothing)' })
        .option('sandbox', { choices: ['auto', 'chroot', 'container'] as const, default: 'auto' as const, describe: 'where hooks run: container namespaces, or a chroot' })
        .option('json', { type: 'boolean', describe: 'print a JSON summary of the build on stdout' }) as never,
    handler: run<Args>(async (args, out) => {
      const types = parseTypes(args.type);
      const { index, distro } = await loadContext(args, out);
      const graph = unwrap(resolveImage(args.image, { index, distro }));
      out.info(`${args.image.join(' ')}: ${graph.elements.length} elements on ${distro.name}; outputs ${types.join(', ')} in ${path.resolve(args.outputDir)}`);
      throw new FailureError({ reason: 'not-implemented', what: 'building images', issue: 'issue 3 (root tree) and issue 5 (disk images)' });
    }),
  };
}
