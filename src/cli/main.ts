// The imgfactory command line (yargs). Parses arguments, runs one command,
// and turns any Failure into one clear message and an exit code:
// 0 ok, 1 build failed, 2 usage/bad input, 3 integrity, 4 publish,
// 64 not implemented yet (see README.md).
import yargs, { type Argv } from 'yargs';
import { EXIT_CODES, exitCodeOf, FailureError, type Failure } from '../failure.js';
import { bootCommand } from './cmd-boot.js';
import { buildCommand } from './cmd-build.js';
import { cacheCommand } from './cmd-cache.js';
import { elementsCommand } from './cmd-elements.js';
import { graphCommand } from './cmd-graph.js';
import { keygenCommand } from './cmd-keygen.js';
import { publishCommand } from './cmd-publish.js';
import { pruneCommand } from './cmd-prune.js';
import { signCommand } from './cmd-sign.js';
import { testCommand } from './cmd-test.js';
import { verifyCommand } from './cmd-verify.js';
import { consoleOutput, type Output } from './output.js';
import { renderFailure } from './render-failure.js';
import { toolVersion } from '../util/version.js';

export type Handler<A> = (args: A, out: Output) => Promise<number>;

export async function main(argv: string[], out: Output = consoleOutput()): Promise<number> {
  let exitCode = 0;
  const debug = argv.includes('--debug');
  const run =
    <A>(handler: Handler<A>) =>
    async (args: A): Promise<void> => {
      try {
        exitCode = await handler(args, out);
      } catch (e) {
        exitCode = reportError(e, out, debug);
      }
    };

  const cli: Argv = yargs(argv)
    .scriptName('imgfactory')
    .usage('$0 <command> [options]\n\nBuilds golden disk images from diskimage-builder elements, caching every step.')
    .option('elements-path', { type: 'string', describe: 'extra element directories, colon-separated, searched before the built-in ones (or IMGFACTORY_ELEMENTS_PATH / ELEMENTS_PATH)' })
    .option('distro', { type: 'string', describe: 'distribution to build from (directory name under distros/)', default: undefined })
    .option('debug', { type: 'boolean', describe: 'show stack traces for unexpected errors' })
    .command(elementsCommand(run))
    .command(graphCommand(run))
    .command(buildCommand(run))
    .command(cacheCommand(run))
    .command(keygenCommand(run))
    .command(signCommand(run))
    .command(verifyCommand(run))
    .command(testCommand(run))
    .command(bootCommand(run))
    .command(publishCommand(run))
    .command(pruneCommand(run))
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .version(toolVersion())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stderr.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err && err.name !== 'YError') throw err;
      throw new FailureError({ reason: 'usage', message: msg ?? err.message, hint: 'run with --help for usage' });
    });

  try {
    await cli.parseAsync();
  } catch (e) {
    return reportError(e, out, debug);
  }
  return exitCode;
}

function reportError(e: unknown, out: Output, debug: boolean): number {
  if (e instanceof FailureError) return reportFailure(e.failure, out, debug ? e : undefined);
  out.error(`unexpected: ${(e as Error)?.message ?? String(e)}`);
  if (debug && e instanceof Error && e.stack) out.info(e.stack);
  else out.info('(run again with --debug for the stack trace)');
  return EXIT_CODES.build;
}

export function reportFailure(failure: Failure, out: Output, debugError?: Error): number {
  const r = renderFailure(failure);
  out.error(r.message);
  for (const d of r.details) out.info(d);
  if (r.hint) out.info(`hint: ${r.hint}`);
  if (debugError?.stack) out.info(debugError.stack);
  return exitCodeOf(failure);
}
