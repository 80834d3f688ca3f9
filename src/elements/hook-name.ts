// Which hook file names diskimage-builder runs, and in which order.
// dib-run-parts silently skips files whose names are not made only of
// letters, digits, `_` and `-` (so `10-foo.sh` never runs) and files without
// the executable bit: a known trap, so imgfactory warns about both.
// Order: numeric prefix first, then the whole name in byte order (LC_ALL=C).

const RUNNABLE = /^[A-Za-z0-9_-]+$/;

export function isRunnableHookName(name: string): boolean {
  return RUNNABLE.test(name);
}

function numericPrefix(name: string): number {
  const m = /^(\d+)/.exec(name);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

/** Compares by numeric prefix, then by plain code-unit order (never locale). */
export function compareHookNames(a: string, b: string): number {
  const na = numericPrefix(a);
  const nb = numericPrefix(b);
  if (na !== nb) return na < nb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
