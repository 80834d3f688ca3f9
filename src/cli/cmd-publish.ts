// `imgfactory publish <manifest>`: verify, then upload one output to Glance
// with the manifest's properties and Glance's signature properties; prints
// the image id (JSON with --json). Progress goes to stderr.
import type { Argv, CommandModule } from 'yargs';
import { FailureError, unwrap } from '../failure.js';
import { publish, type Visibility } from '../glance/publish.js';
import { requirePassingTest } from '../manifest/test-addendum.js';
import { GLANCE_HASH_METHODS, type GlanceHashMethod } from '../manifest/image-signature.js';
import { formatBytes } from '../util/format.js';
import type { Handler } from './main.js';

interface PublishArgs {
  manifest: string;
  format?: string;
  name?: string;
  visibility?: Visibility;
  property?: string[];
  key?: string;
  hashMethod?: GlanceHashMethod;
  certificate?: string;
  certificateUuid?: string;
  verifyKey?: string;
  osCloud?: string;
  requireTest?: boolean;
  json?: boolean;
}

function parseProperties(list: string[] = []): Record<string, string> {
  const props: Record<string, string> = {};
  for (const p of list) {
    const i = p.indexOf('=');
    if (i <= 0) throw new FailureError({ reason: 'usage', message: `--property ${p}: expected key=value` });
    props[p.slice(0, i)] = p.slice(i + 1);
  }
  return props;
}

/** A progress reporter: a bar redrawn in place on a terminal, a line per 10% elsewhere. */
function progress(stream: NodeJS.WriteStream): (sent: number, total: number) => void {
  let lastTenth = -1;
  return (sent, total) => {
    const frac = total ? sent / total : 1;
    if (stream.isTTY) {
      const w = 30;
      const done = Math.round(frac * w);
      stream.write(`\ruploading [${'#'.repeat(done)}${' '.repeat(w - done)}] ${Math.floor(frac * 100)}% ${formatBytes(sent)}/${formatBytes(total)}${sent >= total ? '\n' : ''}`);
    } else {
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        stream.write(`uploading ${tenth * 10}% (${formatBytes(sent)}/${formatBytes(total)})\n`);
      }
    }
  };
}

export function publishCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, PublishArgs> {
  return {
    command: 'publish <manifest>',
    describe: 'verify a manifest and upload its image to OpenStack Glance',
    builder: (y: Argv) =>
      y
        .positional('manifest', { type: 'string', describe: 'the <image>.manifest.json' })
        .option('format', { type: 'string', describe: 'which output to upload (default qcow2, else the first disk output)' })
        .option('name', { type: 'string', describe: 'image name (default <image>[-<tag>])' })
        .option('visibility', { choices: ['private', 'shared', 'community', 'public'], describe: 'default private' })
        .option('property', { type: 'string', array: true, describe: 'extra image property key=value (repeatable)' })
        .option('key', { type: 'string', describe: 'private key (PEM file or env:NAME) that signs the image for Glance (img_signature)' })
        .option('hash-method', { choices: GLANCE_HASH_METHODS, describe: 'img_signature_hash_method (default by key: SHA-256 RSA, SHA-384 P-384, SHA-512 P-521)' })
        .option('certificate', { type: 'string', describe: 'X.509 certificate PEM: stored in Barbican, its UUID set as img_signature_certificate_uuid' })
        .option('certificate-uuid', { type: 'string', describe: 'a certificate already in Barbican' })
        .option('verify-key', { type: 'string', describe: 'key or certificate that checks the manifest signature (default --certificate, else --key)' })
        .option('require-test', { type: 'boolean', describe: 'refuse unless a passing, signed `imgfactory test` of this exact manifest is beside it' })
        .option('os-cloud', { type: 'string', describe: 'cloud in clouds.yaml (default OS_CLOUD, else the OS_* variables)' })
        .option('json', { type: 'boolean', describe: 'print JSON on stdout' }) as never,
    handler: run<PublishArgs>(async (a, out) => {
      if (a.requireTest) unwrap(await requirePassingTest(a.manifest, a.verifyKey ?? a.certificate ?? a.key));
      const r = await publish({
        manifest: a.manifest,
        properties: parseProperties(a.property),
        ...(a.format ? { format: a.format } : {}),
        ...(a.name ? { name: a.name } : {}),
        ...(a.visibility ? { visibility: a.visibility } : {}),
        ...(a.key ? { signKey: a.key } : {}),
        ...(a.hashMethod ? { hashMethod: a.hashMethod } : {}),
        ...(a.certificate ? { certificate: a.certificate } : {}),
        ...(a.certificateUuid ? { certificateUuid: a.certificateUuid } : {}),
        ...(a.verifyKey ? { verifyKey: a.verifyKey } : {}),
        ...(a.osCloud ? { cloud: a.osCloud } : {}),
        onProgress: progress(process.stderr),
        onLog: (l) => out.info(l),
      });
      if (!r.ok) throw new FailureError(r.error);
      if (a.json) out.json(r.value);
      else {
        out.info(`image ${r.value.id} (${r.value.name}) is ${r.value.status}; checksum and os_hash_value match the manifest`);
        out.print(r.value.id);
      }
      return 0;
    }),
  };
}
