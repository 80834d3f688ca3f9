// Canonical JSON: one byte sequence per value, so hashes of it are stable.
// Object keys are sorted by plain UTF-16 code-unit order (never
// localeCompare), there is no whitespace, and anything JSON cannot carry
// faithfully (undefined, NaN, Infinity, functions, symbols, bigint, holes,
// cycles, class instances such as Date or Map) is refused with an error that
// names where in the value it sits.

/** Thrown for a value that has no canonical JSON form; `path` is like `$.env.HOME`. */
export class CanonicalJsonError extends TypeError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`canonical JSON: ${problem} at ${path}`);
    this.name = 'CanonicalJsonError';
  }
}

/** The canonical JSON text of `value`; throws CanonicalJsonError for what JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', new Set());
}

/** Plain code-unit order: 'B' < 'a' < 'é', whatever the locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function encode(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `non-finite number ${value}`);
      // -0 and 0 are the same JSON number.
      return JSON.stringify(value);
    case 'undefined':
      throw new CanonicalJsonError(path, 'undefined');
    case 'function':
      throw new CanonicalJsonError(path, 'a function');
    case 'symbol':
      throw new CanonicalJsonError(path, 'a symbol');
    case 'bigint':
      throw new CanonicalJsonError(path, 'a bigint');
    case 'object':
      break;
  }
  if (value === null) return 'null';
  const obj = value as object;
  if (seen.has(obj)) throw new CanonicalJsonError(path, 'a cycle');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return encodeArray(obj, path, seen);
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      throw new CanonicalJsonError(path, `an instance of ${name} (only plain objects and arrays)`);
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) throw new CanonicalJsonError(path, 'a symbol key');
    const record = obj as Record<string, unknown>;
    const keys = Object.keys(record).sort(compareCodeUnits);
    const parts = keys.map((k) => `${JSON.stringify(k)}:${encode(record[k], `${path}.${k}`, seen)}`);
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(obj);
  }
}

function encodeArray(arr: unknown[], path: string, seen: Set<object>): string {
  const parts: string[] = [];
  for (let i = 0; i < arr.length; i++) {
    if (!(i in arr)) throw new CanonicalJsonError(`${path}[${i}]`, 'a hole in an array');
    parts.push(encode(arr[i], `${path}[${i}]`, seen));
  }
  return `[${parts.join(',')}]`;
}
