// `imgfactory elements`: every element on the search path, its description,
// where it came from and what it overrides.
import type { CommandModule } from 'yargs';
import { loadContext, type CommonArgs } from './context.js';
import type { Handler } from './main.js';

interface Args extends CommonArgs {
  json?: boolean;
}

export function elementsCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, Args> {
  return {
    command: 'elements',
    describe: 'list the elements on the search path',
    builder: (y) => y.option('json', { type: 'boolean', describe: 'print JSON on stdout' }) as never,
    handler: run<Args>(async (args, out) => {
      const { index, warn } = await loadContext(args, out);
      warn();
      const elements = [...index.elements.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      if (args.json) {
        out.json({
          searchPath: index.searchPath,
          elements: elements.map((e) => ({ name: e.name, description: e.description, dir: e.dir, origin: e.origin, overrides: e.overrides })),
          broken: Object.fromEntries(index.broken),
        });
        return 0;
      }
      const width = Math.max(...elements.map((e) => e.name.length), 4);
      for (const e of elements) {
        out.print(`${e.name.padEnd(width)}  ${e.description || '(no README.md)'}`);
        out.print(`${''.padEnd(width)}  from ${e.dir}${e.overrides.length ? `; overrides ${e.overrides.join(', ')}` : ''}`);
      }
      for (const [name] of index.broken) out.warn(`${name}: cannot be loaded (run \`imgfactory graph ${name}\` for the reason)`);
      return 0;
    }),
  };
}
