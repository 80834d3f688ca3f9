// `imgfactory sign <manifest> --key K`: the manifest's detached signature
// (<manifest>.sig). The key comes from a file or `env:NAME`; it is never
// printed.
import type { Argv, CommandModule } from 'yargs';
import { FailureError } from '../failure.js';
import { signManifest } from '../manifest/sign.js';
import type { Handler } from './main.js';

interface SignArgs {
  manifest: string;
  key?: string;
  json?: boolean;
}

export function signCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, SignArgs> {
  return {
    command: 'sign <manifest>',
    describe: 'sign a manifest (writes <manifest>.sig)',
    builder: (y: Argv) =>
      y
        .positional('manifest', { type: 'string', describe: 'the <image>.manifest.json' })
        .option('key', { type: 'string', describe: 'private key: a PEM file, or env:NAME for an environment variable (default env:IMGFACTORY_SIGN_KEY)' })
        .option('json', { type: 'boolean', describe: 'print JSON on stdout' }) as never,
    handler: run<SignArgs>(async (a, out) => {
      const key = a.key ?? (process.env.IMGFACTORY_SIGN_KEY ? 'env:IMGFACTORY_SIGN_KEY' : undefined);
      if (!key) throw new FailureError({ reason: 'usage', message: 'no signing key', hint: 'pass --key key.pem (or set IMGFACTORY_SIGN_KEY to the PEM)' });
      const r = await signManifest(a.manifest, key);
      if (!r.ok) throw new FailureError(r.error);
      if (a.json) out.json(r.value);
      else out.info(`signed ${a.manifest}: ${r.value.signatureFile} (key ${r.value.keyId.slice(0, 16)}...)`);
      return 0;
    }),
  };
}
