// `imgfactory publish <manifest>`: verify, then upload to one or many clouds
// (each in the disk format it wants) with the manifest's properties and
// Glance's signature properties, and retire old images (--keep); prints the
// image id per cloud, or the JSON report (--json, --report). Progress goes
// to stderr.
import type { Argv, CommandModule } from 'yargs';
import { FailureError, unwrap } from '../failure.js';
import { cloudsFailure, publish, type Visibility } from '../glance/publish.js';
import { requirePassingTest } from '../manifest/test-addendum.js';
import { cloudNames, withCloudsArgs, type CloudsArgs } from './clouds-arg.js';
import { GLANCE_HASH_METHODS, type GlanceHashMethod } from '../manifest/image-signature.js';
import { formatBytes } from '../util/format.js';
import type { Handler } from './main.js';
import { emitReport, printRetention } from './cloud-report.js';

interface PublishArgs extends CloudsArgs {
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
  keep?: number;
  parallel?: number;
  workDir?: string;
  imageUrl?: string;
  report?: string;
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

/** A progress reporter: a bar redrawn in place on a terminal (one cloud), a line per 10% elsewhere (prefixed by the cloud when many). */
function progress(stream: NodeJS.WriteStream, many: boolean): (cloud: string, sent: number, total: number) => void {
  const lastTenth = new Map<string, number>();
  return (cloud, sent, total) => {
    const frac = total ? sent / total : 1;
    if (stream.isTTY && !many) {
      const w = 30;
      const done = Math.round(frac * w);
      stream.write(`\ruploading [${'#'.repeat(done)}${' '.repeat(w - done)}] ${Math.floor(frac * 100)}% ${formatBytes(sent)}/${formatBytes(total)}${sent >= total ? '\n' : ''}`);
    } else {
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth.get(cloud)) {
        lastTenth.set(cloud, tenth);
        stream.write(`${many ? `${cloud}: ` : ''}uploading ${tenth * 10}% (${formatBytes(sent)}/${formatBytes(total)})\n`);
      }
    }
  };
}

export function publishCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, PublishArgs> {
  return {
    command: 'publish <manifest>',
    describe: 'verify a manifest and upload its image to OpenStack Glance, in one or many clouds',
    builder: (y: Argv) =>
      withCloudsArgs(y)
        .positional('manifest', { type: 'string', describe: 'the <image>.manifest.json' })
        .option('format', { type: 'string', describe: "disk format for every cloud, converted when the manifest lacks it (default each cloud's image_format, else qcow2, else the first disk output)" })
        .option('name', { type: 'string', describe: 'image name pattern: {image}, {tag}, {format} (default {image}-{tag}, {image} without a tag)' })
        .option('visibility', { choices: ['private', 'shared', 'community', 'public'], describe: 'default private' })
        .option('property', { type: 'string', array: true, describe: 'extra image property key=value (repeatable)' })
        .option('key', { type: 'string', describe: 'private key (PEM file or env:NAME) that signs the image for Glance (img_signature)' })
        .option('hash-method', { choices: GLANCE_HASH_METHODS, describe: 'img_signature_hash_method (default by key: SHA-256 RSA, SHA-384 P-384, SHA-512 P-521)' })
        .option('certificate', { type: 'string', describe: 'X.509 certificate PEM: stored in Barbican, its UUID set as img_signature_certificate_uuid' })
        .option('certificate-uuid', { type: 'string', describe: 'a certificate already in Barbican' })
        .option('verify-key', { type: 'string', describe: 'key or certificate that checks the manifest signature (default --certificate, else --key)' })
        .option('require-test', { type: 'boolean', describe: 'refuse unless a passing, signed `imgfactory test` of this exact manifest is beside it' })
        .option('keep', { type: 'number', describe: "keep the newest N images of this image's series per cloud, delete the rest (never one in use where the cloud can tell)" })
        .option('parallel', { type: 'number', default: 2, describe: 'clouds published to at the same time' })
        .option('image-url', { type: 'string', describe: "where the outputs are already served ({name}: an output's file name): Glance fetches them (web-download) where it can, and must report the manifest's checksums" })
        .option('work-dir', { type: 'string', describe: 'where disk format conversions are made (default the temp directory)' })
        .option('report', { type: 'string', describe: 'write the JSON report of every cloud to this file' })
        .option('json', { type: 'boolean', describe: 'print the JSON report on stdout' }) as never,
    handler: run<PublishArgs>(async (a, out) => {
      if (a.requireTest) unwrap(await requirePassingTest(a.manifest, a.verifyKey ?? a.certificate ?? a.key));
      const names = cloudNames(a);
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
        clouds: names,
        ...(a.keep !== undefined ? { keep: a.keep } : {}),
        ...(a.parallel !== undefined ? { parallel: a.parallel } : {}),
        ...(a.workDir ? { workDir: a.workDir } : {}),
        ...(a.imageUrl !== undefined ? { imageUrl: a.imageUrl } : {}),
        onProgress: progress(process.stderr, names.length > 1),
        onLog: (l, cloud) => out.info(names.length > 1 && cloud ? `${cloud}: ${l}` : l),
      });
      if (!r.ok) throw new FailureError(r.error);
      await emitReport(out, r.value, a);
      for (const c of r.value.clouds.filter((x) => x.ok)) {
        out.info(`${c.cloud}: image ${c.id} (${c.name}) is ${c.status}, ${c.diskFormat}${c.converted ? ` converted from ${c.from}` : ''} by ${c.uploadMethod}; checksum${c.checks.osHash === 'match' ? ' and os_hash_value match' : ' matches'} ${c.uploadMethod === 'web-download' ? "the manifest's" : 'the uploaded file'}`);
        printRetention(out, c.cloud, c.retention);
        if (!a.json) out.print(names.length > 1 ? `${c.cloud}\t${c.id}` : c.id!);
      }
      const failure = cloudsFailure('publish', r.value.clouds);
      if (failure) throw new FailureError(failure);
      return 0;
    }),
  };
}
