// Parses sizes people type: 10G, 500M, 1.5GiB, 2048 (bytes).
import { FailureError } from '../failure.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new FailureError({ reason: 'usage', message: `${what}: "${text}" is not a size`, hint: 'write it like 10G, 500M or 2048' });
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}
