// An element's `volatile-paths` (imgfactory's, not DIB's): the per-machine
// state its packages make when they are installed — SSH host keys, a
// database's data directory — which a golden image must not hold and which
// would make every layer from the package step on differ between two builds
// (docs/reproducible.md). One path per line, relative to the tree's root,
// `#` comments; the last part may hold `*` (any run of characters but `/`):
//
//   etc/ssh/ssh_host_*
//   var/lib/mysql/*
//
// engine/reproducible-layer.ts removes what they match from every step's
// change; the element makes the state at first boot instead. A step whose
// change none of the search path's volatile paths matches is keyed without
// the image's (cache/keys.ts volatileFree), so images share it; one whose
// change some matched is keyed by those and the image's among them
// (volatileHeld), so images that agree on them share it.
import type { Element } from './element.js';

/** Why `pattern` cannot be a volatile path, or null. */
export function volatilePathProblem(pattern: string): string | null {
  const parts = pattern.replace(/^\/+/, '').split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'write a plain path below the tree\'s root, without "." or ".." or empty parts';
  if (parts.slice(0, -1).some((p) => p.includes('*'))) return 'only the last part of the path may hold "*"';
  if (/[?[\]{}\\]/.test(pattern)) return 'the only wildcard is "*"';
  if (parts.length === 1 && parts[0] === '*') return 'it would match the whole tree';
  return null;
}

/** A pattern split into the directory it looks in and a test for the names there. */
export function volatileMatcher(pattern: string): { dir: string; matches: (name: string) => boolean } {
  const parts = pattern.split('/');
  const last = parts.pop()!;
  const re = new RegExp(`^${last.split('*').map((s) => s.replace(/[.+^$()|]/g, '\\$&')).join('.*')}$`);
  return { dir: parts.join('/'), matches: (name) => re.test(name) };
}

/** The elements' volatile paths, sorted, each once. */
export function volatileUnion(elements: Iterable<Element>): string[] {
  return [...new Set([...elements].flatMap((e) => e.volatilePaths))].sort();
}
