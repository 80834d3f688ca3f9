// Which key a build signs with, and that key material never reaches a
// message: a PEM in IMGFACTORY_SIGN_KEY (how CI secrets arrive) is used as
// the key; a PEM pasted where a file name belongs is refused without being
// repeated; an encrypted key says what is wrong with its passphrase.
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderFailure } from '../../../src/cli/render-failure.js';
import { signingKeyFor } from '../../../src/cli/signing-key-arg.js';
import { FailureError } from '../../../src/failure.js';
import { scratchDir } from '../../support/run-dir.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ENCRYPTED = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }).toString();
/** A line of the key's base64 body: no message may contain it. */
const BODY = PEM.split('\n')[1]!;

const saved = { key: process.env.IMGFACTORY_SIGN_KEY, pass: process.env.IMGFACTORY_KEY_PASSPHRASE };
afterEach(() => {
  for (const [name, value] of [['IMGFACTORY_SIGN_KEY', saved.key], ['IMGFACTORY_KEY_PASSPHRASE', saved.pass]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The failure signingKeyFor throws, rendered as the CLI prints it. */
async function refused(a: { sign: boolean; signKey?: string }): Promise<string> {
  const err = await signingKeyFor(a, () => undefined).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FailureError);
  const r = renderFailure((err as FailureError).failure);
  return [r.message, ...r.details, r.hint ?? ''].join('\n');
}

describe('signingKeyFor', () => {
  it('signs with a PEM key held in IMGFACTORY_SIGN_KEY itself, naming the variable, not the key', async () => {
    process.env.IMGFACTORY_SIGN_KEY = PEM;
    const key = await signingKeyFor({ sign: true }, () => undefined);
    expect(key?.spec).toBe('env:IMGFACTORY_SIGN_KEY');
    expect(key?.label).toBe('environment variable IMGFACTORY_SIGN_KEY');
  });

  it('still takes a file name from IMGFACTORY_SIGN_KEY', async () => {
    const file = path.join(await scratchDir('sign-key'), 'release.pem');
    await writeFile(file, PEM);
    process.env.IMGFACTORY_SIGN_KEY = file;
    expect((await signingKeyFor({ sign: true }, () => undefined))?.label).toBe(`file ${file}`);
  });

  it('refuses key material given as --sign-key without repeating it', async () => {
    const text = await refused({ sign: true, signKey: PEM });
    expect(text).toContain('is not a file name');
    expect(text).toContain('env:NAME');
    expect(text).not.toContain(BODY);
    expect(text).not.toContain('BEGIN');
  });

  it('says the passphrase is wrong, or missing, for an encrypted key', async () => {
    process.env.IMGFACTORY_SIGN_KEY = ENCRYPTED;
    delete process.env.IMGFACTORY_KEY_PASSPHRASE;
    expect(await refused({ sign: true })).toContain('is encrypted and no passphrase was given');
    process.env.IMGFACTORY_KEY_PASSPHRASE = 'wrong';
    const wrong = await refused({ sign: true });
    expect(wrong).toContain('the passphrase in IMGFACTORY_KEY_PASSPHRASE does not open it');
    expect(wrong).not.toContain('wrong\n');
    process.env.IMGFACTORY_KEY_PASSPHRASE = 'right';
    expect((await signingKeyFor({ sign: true }, () => undefined))?.spec).toBe('env:IMGFACTORY_SIGN_KEY');
  });
});
