// The record of an `imgfactory test` run, kept beside the manifest it tested
// and signed as the manifest is (sign.ts), since the manifest itself (and
// its signature) must not change after the build:
//
//   <image>.manifest.json             the build's manifest, untouched
//   <image>.manifest.test.json        the addendum (canonical JSON, below)
//   <image>.manifest.test.json.sig    its detached signature (imgfactory.sig.v1)
//
//   {"accel":"tcg","expect":"login prompt","finishedAt":"...","firmware":"secure-boot",
//    "image":{"format":"qcow2","name":"x.qcow2","sha256":"<hex>"},
//    "manifest":{"name":"x.manifest.json","sha256":"<hex of its canonical bytes>"},
//    "qemu":"QEMU emulator version 7.2...","result":"pass","seconds":54,
//    "timeoutSeconds":300,"userData":false,"v":"imgfactory.test.v1"}
//
// The addendum names the manifest by the digest of its canonical bytes (what
// its signature covers), so it vouches for that manifest only: a rebuilt or
// edited manifest has no passing test until it is tested again.
// `requirePassingTest` is the gate `publish --require-test` asks.
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../cache/canonical-json.js';
import { fail, ok, type Result } from '../failure.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { loadVerifyKey } from './keys.js';
import { localKeyThatSigned } from './local-key.js';
import { signatureFileName } from './manifest.js';
import { readManifest } from './read.js';
import { checkSignature, readSignature, writeSignature } from './sign.js';

export const ADDENDUM_VERSION = 'imgfactory.test.v1';

export interface TestAddendum {
  v: typeof ADDENDUM_VERSION;
  /** The manifest tested: its file name and the sha256 (hex) of its canonical bytes. */
  manifest: { name: string; sha256: string };
  /** The output booted, checked against the manifest before the boot. */
  image: { name: string; format: string; sha256: string };
  result: 'pass' | 'fail';
  /** bios, uefi or secure-boot (src/boot/firmware.ts). */
  firmware: string;
  accel: string;
  /** How long the boot took to show `expect` (or ran, when it failed). */
  seconds: number;
  timeoutSeconds: number;
  /** What the console had to show: `login prompt` or the --expect regex. */
  expect: string;
  /** `qemu-system-x86_64 --version`'s first line. */
  qemu: string;
  /** Whether cloud-init data was handed to the guest. */
  userData: boolean;
  finishedAt: string;
}

/** `<dir>/<image>.manifest.json` -> `<dir>/<image>.manifest.test.json`. */
export function testAddendumFile(manifestFile: string): string {
  return manifestFile.replace(/(\.json)?$/, '.test.json');
}

/** sha256 (hex) of a manifest's canonical bytes: how an addendum names it. */
export function manifestDigest(canonical: Buffer): string {
  return createHash('sha256').update(canonical).digest('hex');
}

/** Writes the addendum beside the manifest, and its signature when `signKey` is given. */
export async function writeTestAddendum(manifestFile: string, addendum: TestAddendum, signKey: string | null): Promise<Result<{ file: string; signature: string | null }>> {
  const file = testAddendumFile(manifestFile);
  const bytes = Buffer.from(canonicalJson(addendum));
  let signature: string | null = null;
  if (signKey) {
    const signed = await writeSignature(bytes, signKey, signatureFileName(file));
    if (!signed.ok) return signed;
    signature = signed.value.signatureFile;
  } else await rm(signatureFileName(file), { force: true });
  await writeFileAtomic(file, `${bytes.toString('utf8')}\n`, { mode: 0o644 });
  return ok({ file, signature });
}

/**
 * The passing test of exactly this manifest, its addendum's signature checked
 * with `givenKey` (else this machine's local key, when it made the
 * signature, as `verify` does); otherwise a 'test-not-passed' failure saying
 * what is missing. Reads local files only: it runs before anything touches
 * a cloud.
 */
export async function requirePassingTest(manifestFile: string, givenKey: string | undefined): Promise<Result<TestAddendum>> {
  const file = testAddendumFile(manifestFile);
  const refuse = (message: string, hint?: string): Result<never> => fail({ reason: 'test-not-passed', manifest: manifestFile, message, ...(hint ? { hint } : {}) });
  const m = await readManifest(manifestFile);
  if (!m.ok) return m;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return refuse(`no test addendum (${path.basename(file)})`, `run \`imgfactory test ${manifestFile}\` first`);
  }
  const addendum = parseAddendum(text);
  if (typeof addendum === 'string') return refuse(`${path.basename(file)}: ${addendum}`);
  const sig = await readSignature(signatureFileName(file));
  if (typeof sig === 'string') return refuse(`the test addendum is not signed: ${sig}`, 'run `imgfactory test` with a signing key (it signs as `build` does, unless --no-sign)');
  const verifyKey = givenKey ?? (await localKeyThatSigned(signatureFileName(file)));
  if (!verifyKey) return refuse(`the test addendum is signed by key ${sig.keyId.slice(0, 16)}..., and no key was given to check it with`, 'pass --verify-key (or --key / --certificate): the key whose private half signed the test');
  const key = await loadVerifyKey(verifyKey);
  if (!key.ok) return key;
  const bad = checkSignature(Buffer.from(canonicalJson(addendum)), sig, key.value, 'the test addendum');
  if (bad) return refuse(`the test addendum's signature does not hold: ${bad}`);
  const digest = manifestDigest(m.value.canonical);
  if (addendum.manifest.sha256 !== digest) {
    return refuse(`the test addendum is for another manifest (sha256 ${addendum.manifest.sha256.slice(0, 16)}..., this one is ${digest.slice(0, 16)}...)`, `test this manifest: imgfactory test ${manifestFile}`);
  }
  if (addendum.result !== 'pass') return refuse(`the last test of this manifest failed (${addendum.firmware}, after ${addendum.seconds} s)`, 'fix the image and test it again');
  return ok(addendum);
}

/** The addendum in `text`, or what is wrong with it. */
export function parseAddendum(text: string): TestAddendum | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const a = v as Partial<TestAddendum>;
  if (typeof v !== 'object' || v === null || a.v !== ADDENDUM_VERSION) return `not an ${ADDENDUM_VERSION} document`;
  if (typeof a.manifest?.sha256 !== 'string' || typeof a.image?.sha256 !== 'string') return 'names no manifest or image digest';
  if (a.result !== 'pass' && a.result !== 'fail') return `result must be pass or fail, got ${JSON.stringify(a.result)}`;
  if (typeof a.firmware !== 'string' || typeof a.seconds !== 'number') return 'lacks the firmware or the time';
  return a as TestAddendum;
}
