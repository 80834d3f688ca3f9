// Masks secrets in what a hook prints, before a line reaches the step's log
// file, the live output or a failure's log tail. A value is masked whole,
// and each of its lines on its own too (a PEM key printed by `cat` arrives
// line by line); a line too short to be told apart (MIN_SECRET_BYTES) is not
// masked alone. Bytes, not text: a hook's output need not be UTF-8.
import { MIN_SECRET_BYTES, type Secret } from './secret.js';

/** What replaces every secret in one line of output (without its newline); undefined when there are none. */
export function secretMask(secrets: readonly Secret[]): ((line: Buffer) => Buffer) | undefined {
  if (secrets.length === 0) return undefined;
  const needles: { bytes: Buffer; label: Buffer }[] = [];
  for (const s of secrets) {
    const label = Buffer.from(String(s));
    const core = s.core();
    needles.push({ bytes: core, label });
    for (const line of core.toString('latin1').split('\n')) {
      const bytes = Buffer.from(line.replace(/\r$/, ''), 'latin1');
      if (bytes.length >= MIN_SECRET_BYTES && !bytes.equals(core)) needles.push({ bytes, label });
    }
  }
  // Longest first: a whole value goes before the lines it is made of.
  needles.sort((a, b) => b.bytes.length - a.bytes.length);
  return (line) => needles.reduce((text, n) => replaceAll(text, n.bytes, n.label), line);
}

function replaceAll(haystack: Buffer, needle: Buffer, label: Buffer): Buffer {
  let at = haystack.indexOf(needle);
  if (at < 0) return haystack;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(haystack.subarray(from, at), label);
    from = at + needle.length;
    at = haystack.indexOf(needle, from);
  }
  parts.push(haystack.subarray(from));
  return Buffer.concat(parts);
}
