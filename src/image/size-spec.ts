// Parsing and printing of human sizes (`200MiB`, `2GiB`, `25%`, `rest`) used by
// layouts and by the imageSize / extraSize options.
import type { SizeSpec } from './layout.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

/** A byte count from `1536`, `512KiB`, `200MiB`, `2G`, `1.5GiB`; an error message otherwise. */
export function parseBytes(input: string | number): number | string {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : `not a whole, non-negative byte count: ${input}`;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) return `not a size: '${input}' (expected e.g. 512MiB, 2GiB, 25%, rest)`;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return `unknown size unit '${m[2]}' in '${input}' (use KiB, MiB, GiB, TiB)`;
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) return `size too large: '${input}'`;
  return bytes;
}

/** A layout size: bytes, `NN%` of the disk, or `rest`; an error message otherwise. */
export function parseSizeSpec(input: unknown): SizeSpec | string {
  if (input === 'rest') return { kind: 'rest' };
  if (typeof input === 'string' && input.trim().endsWith('%')) {
    const n = Number(input.trim().slice(0, -1));
    if (!Number.isFinite(n) || n <= 0 || n > 100) return `percentage must be in (0, 100]: '${input}'`;
    return { kind: 'percent', percent: n };
  }
  if (typeof input !== 'string' && typeof input !== 'number') return `size must be a string or number, got ${typeof input}`;
  const bytes = parseBytes(input);
  return typeof bytes === 'string' ? bytes : { kind: 'bytes', bytes };
}

/** `209715200` -> `200MiB`; exact binary units when they divide, else bytes. */
export function formatBytes(bytes: number): string {
  for (const [unit, n] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes}B`;
}

/** Rounds up to a multiple of `step`. */
export function roundUp(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}
