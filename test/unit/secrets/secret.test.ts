import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { looksSecret } from '../../../src/secrets/names.js';
import { secretMask } from '../../../src/secrets/mask.js';
import { SecretScanner } from '../../../src/secrets/scan.js';
import { Secret, secretRefs } from '../../../src/secrets/secret.js';

const VALUE = 'tok-5b1e0c9a7d3f';

describe('Secret', () => {
  it('shows its id, never its value, however it is printed', () => {
    const s = new Secret('api-token', Buffer.from(`${VALUE}\n`), false);
    for (const shown of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ nested: [s] })]) {
      expect(shown).toContain('<secret:api-token>');
      expect(shown).not.toContain(VALUE);
    }
  });

  it('gives the value as bytes, and as a variable without the trailing line ends of a file', () => {
    const s = new Secret('DIB_PW', Buffer.from(`${VALUE}\r\n\n`), true);
    expect(s.reveal().toString()).toBe(`${VALUE}\r\n\n`);
    expect(s.envText()).toBe(VALUE);
  });

  it('keeps only ids and export flags, sorted, for keys and the manifest', () => {
    const refs = secretRefs([new Secret('b', Buffer.from(VALUE), true), new Secret('a', Buffer.from(VALUE), false)]);
    expect(refs).toEqual([
      { id: 'a', exported: false },
      { id: 'b', exported: true },
    ]);
    expect(JSON.stringify(refs)).not.toContain(VALUE);
  });
});

describe('looksSecret', () => {
  it.each(['SECRET', 'DIB_DEV_USER_PASSWORD', 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'DIB_APIKEY', 'OS_PASSWD', 'SSH_KEY_PASSPHRASE', 'DB_PASS', 'gcp_credentials', 'my_private_key'])('%s looks like a secret', (name) => {
    expect(looksSecret(name)).toBe(true);
  });
  it.each(['DIB_RELEASE', 'DIB_APT_KEYS', 'DIB_DEV_USER_AUTHORIZED_KEYS', 'DIB_DEBIAN_KEYRING', 'KEYBOARD_LAYOUT', 'DIB_DEV_USER_PWDLESS_SUDO', 'BYPASS_PROXY', 'TOKENIZER_MODE'])('%s does not', (name) => {
    expect(looksSecret(name)).toBe(false);
  });
});

describe('secretMask', () => {
  it('is absent without secrets: output passes untouched', () => {
    expect(secretMask([])).toBeUndefined();
  });

  it('masks every occurrence in a line, and each long line of a multi-line value on its own', () => {
    const pem = '-----BEGIN KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASC\nAUAwggE8AgEAAkEAq7BFUpkGp3+LQmlQ\n-----END KEY-----\n';
    const mask = secretMask([new Secret('token', Buffer.from(`${VALUE}\n`), false), new Secret('key', Buffer.from(pem), false)])!;
    const line = (s: string): string => mask(Buffer.from(s)).toString();
    expect(line(`a ${VALUE} b ${VALUE}`)).toBe('a <secret:token> b <secret:token>');
    expect(line('got MIIBVgIBADANBgkqhkiG9w0BAQEFAASC from the file')).toBe('got <secret:key> from the file');
    expect(line('-----END KEY-----')).toBe('<secret:key>');
    expect(line('nothing to hide')).toBe('nothing to hide');
  });

  it('works on bytes: output that is not UTF-8 keeps its other bytes', () => {
    const mask = secretMask([new Secret('token', Buffer.from(VALUE), false)])!;
    const out = mask(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALUE), Buffer.from([0x80])]));
    expect(out).toEqual(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<secret:token>'), Buffer.from([0x80])]));
  });
});

describe('SecretScanner', () => {
  const secrets = [new Secret('token', Buffer.from(`${VALUE}\n`), false), new Secret('other', Buffer.from('another-secret-value'), false)];

  it('finds a value however the stream is cut, and names only what it found', () => {
    const stream = Buffer.from(`${'x'.repeat(1000)}${VALUE}${'y'.repeat(1000)}`);
    for (const size of [1, 3, 7, 16, 512, stream.length]) {
      const scanner = new SecretScanner(secrets);
      for (let i = 0; i < stream.length; i += size) scanner.feed(stream.subarray(i, i + size));
      expect(scanner.ids(), `chunks of ${size}`).toEqual(['token']);
    }
  });

  it('finds nothing in a stream without the values (the trailing newline of a file is not needed)', () => {
    const scanner = new SecretScanner(secrets);
    scanner.feed(Buffer.from(VALUE.slice(0, -1)));
    scanner.feed(Buffer.from(` ${VALUE.slice(1)}`));
    expect(scanner.ids()).toEqual([]);
  });
});
