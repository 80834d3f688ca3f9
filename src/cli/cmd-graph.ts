// `imgfactory graph <image...>`: the expanded element graph in build order,
// what provided what, and any dependency cycles.
import type { CommandModule } from 'yargs';
import { loadContext, resolveForCommand, type CommonArgs } from './context.js';
import { graphToDot, graphToJson, graphToText } from './graph-format.js';
import type { Handler } from './main.js';

interface Args extends CommonArgs {
  image: string[];
  format: 'text' | 'dot' | 'json';
}

export function graphCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, Args> {
  return {
    command: 'graph <image..>',
    describe: 'show the expanded element graph of an image',
    builder: (y) =>
      y
        .positional('image', { type: 'string', array: true, describe: 'image or element names' })
        .option('format', { choices: ['text', 'dot', 'json'] as const, default: 'text' as const, describe: 'dot renders with graphviz: `| dot -Tsvg`' }) as never,
    handler: run<Args>(async (args, out) => {
      const ctx = await loadContext(args, out);
      const graph = resolveForCommand(ctx, args.image, ctx.distro, out);
      if (args.format === 'json') out.json(graphToJson(graph));
      else out.print(args.format === 'dot' ? graphToDot(graph) : graphToText(graph));
      return 0;
    }),
  };
}
