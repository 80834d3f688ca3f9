// Which variable names look like they hold a secret. A declared variable
// (`--env`, the caller's DIB_*) is recorded in the manifest and the
// provenance and hashed into keys, so a password given that way would leak;
// hook-env.ts refuses such names and points at `--secret` (or at
// `--not-secret NAME` for a name that only looks like one).
//
// The name is split into words at `_`; it looks secret when a word is one of
// WORDS, or ends with one of SUFFIXES (APIKEY, GITTOKEN, CLIENTSECRET). Whole
// words, not substrings: DIB_APT_KEYS (public key files), DIB_DEBIAN_KEYRING
// and KEYBOARD are not secrets.

const SUFFIXES = ['PASSWORD', 'PASSWD', 'PASSPHRASE', 'SECRET', 'TOKEN', 'KEY', 'CREDENTIAL', 'CREDENTIALS'];
const WORDS = ['PASS'];

export function looksSecret(name: string): boolean {
  return name
    .toUpperCase()
    .split('_')
    .some((word) => WORDS.includes(word) || SUFFIXES.some((s) => word.endsWith(s)));
}
