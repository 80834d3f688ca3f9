// `imgfactory verify <manifest> [--key|--cert]`: re-hashes every output and
// checks the signature; any mismatch exits 3 naming what differs.
import type { Argv, CommandModule } from 'yargs';
import { FailureError } from '../failure.js';
import { localKeyThatSigned } from '../manifest/local-key.js';
import { signatureFileName } from '../manifest/manifest.js';
import { verifyManifest } from '../manifest/verify.js';
import type { Handler } from './main.js';

interface VerifyArgs {
  manifest: string;
  key?: string;
  cert?: string;
  signature?: string;
  json?: boolean;
}

export function verifyCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, VerifyArgs> {
  return {
    command: 'verify <manifest>',
    describe: 'check a manifest: its signature and every output file (exit 3 on any mismatch)',
    builder: (y: Argv) =>
      y
        .positional('manifest', { type: 'string', describe: 'the <image>.manifest.json' })
        .option('key', { type: 'string', describe: 'public (or private) key PEM, or env:NAME (default: this machine\'s local key, when it made the signature)' })
        .option('cert', { type: 'string', describe: 'X.509 certificate PEM, or env:NAME' })
        .option('signature', { type: 'string', describe: 'the signature file (default <manifest>.sig)' })
        .conflicts('key', 'cert')
        .option('json', { type: 'boolean', describe: 'print JSON on stdout' }) as never,
    handler: run<VerifyArgs>(async (a, out) => {
      const given = a.key ?? a.cert;
      const local = given ? null : await localKeyThatSigned(a.signature ?? signatureFileName(a.manifest));
      const key = given ?? local;
      const r = await verifyManifest(a.manifest, { ...(key ? { key } : {}), ...(a.signature ? { signature: a.signature } : {}) });
      if (!r.ok) {
        if (a.json && r.error.reason === 'verify-failed') out.json({ ok: false, problems: r.error.problems });
        throw new FailureError(r.error);
      }
      if (a.json) out.json({ ok: true, signatureChecked: r.value.signatureChecked, outputs: r.value.outputs, notes: r.value.notes });
      else {
        for (const n of r.value.notes) out.warn(n);
        if (local) out.info(`signature checked with this machine's local key ${local}`);
        out.info(`${a.manifest}: OK (${r.value.signatureChecked ? 'signature, ' : ''}${r.value.outputs.length} output${r.value.outputs.length === 1 ? '' : 's'}: ${r.value.outputs.join(', ')})`);
      }
      return 0;
    }),
  };
}
