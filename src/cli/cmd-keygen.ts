// `imgfactory keygen`: a signing key set (private key 0600, public key,
// self-signed X.509 certificate for Barbican/Glance). Prints the paths, never
// key material.
import type { Argv, CommandModule } from 'yargs';
import { FailureError } from '../failure.js';
import { keygen, KEYGEN_TYPES, type KeygenType } from '../manifest/keygen.js';
import { keyId } from '../manifest/sign.js';
import { loadVerifyKey } from '../manifest/keys.js';
import type { Handler } from './main.js';

interface KeygenArgs {
  out: string;
  name: string;
  type: KeygenType;
  cn: string;
  days: number;
  force?: boolean;
  json?: boolean;
}

export function keygenCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, KeygenArgs> {
  return {
    command: 'keygen',
    describe: 'make a signing key, its public key and a self-signed certificate',
    builder: (y: Argv) =>
      y
        .option('out', { type: 'string', default: '.', describe: 'directory to write into' })
        .option('name', { type: 'string', default: 'imgfactory-signing', describe: 'file name stem: <name>.key.pem, .pub.pem, .cert.pem' })
        .option('type', { choices: KEYGEN_TYPES, default: 'rsa' as KeygenType, describe: 'rsa (3072 bit), rsa-4096, ec-p384, ec-p521 (Glance accepts these), ed25519 (manifests only)' })
        .option('cn', { type: 'string', default: 'imgfactory image signing', describe: 'certificate subject common name' })
        .option('days', { type: 'number', default: 730, describe: 'certificate validity' })
        .option('force', { type: 'boolean', describe: 'replace existing files' })
        .option('json', { type: 'boolean', describe: 'print JSON on stdout' }) as never,
    handler: run<KeygenArgs>(async (a, out) => {
      const r = await keygen({ dir: a.out, name: a.name, type: a.type, commonName: a.cn, days: a.days, force: Boolean(a.force) });
      if (!r.ok) throw new FailureError(r.error);
      const pub = await loadVerifyKey(r.value.publicKey);
      const id = pub.ok ? keyId(pub.value) : '';
      if (a.json) out.json({ ...r.value, keyId: id, type: a.type });
      else {
        out.info(`private key  ${r.value.privateKey} (mode 0600: keep it secret)`);
        out.info(`public key   ${r.value.publicKey}`);
        if (r.value.certificate) out.info(`certificate  ${r.value.certificate}`);
        out.info(`key id       ${id}`);
      }
      return 0;
    }),
  };
}
