// Two tars compared member by member (dib-elements.mjs): type, mode, owner,
// size, the sha256 of regular files' content and symlink targets; never
// mtimes. Read with the `tar` package, one pass per tar.
import { createHash } from 'node:crypto';
import { t as listTar } from 'tar';

const TYPES = { File: 'file', OldFile: 'file', ContiguousFile: 'file', Link: 'hardlink', SymbolicLink: 'symlink', Directory: 'dir', CharacterDevice: 'char', BlockDevice: 'block', FIFO: 'fifo' };
export const FIELDS = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target'];
// "./usr/bin/" and "usr/bin" are the same member; the root is ".".
const memberPath = (p) => p.replace(/^(\.\/)+/, '').replace(/\/+$/, '') || '.';

/**
 * The members of `file` by path. A hard link is described as the file it
 * links to (which member of a set of links is the file and which the links
 * depends on the order tar met them in, not on the tree).
 */
export async function tarMembers(file) {
  const members = new Map();
  const links = [];
  await listTar({
    file,
    onReadEntry: (e) => {
      const p = memberPath(e.path);
      const m = { type: TYPES[e.type] ?? e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size };
      if (m.type === 'symlink') m.target = e.linkpath;
      if (m.type === 'hardlink') links.push([p, memberPath(e.linkpath)]);
      if (m.type === 'file') {
        const h = createHash('sha256');
        e.on('data', (c) => h.update(c));
        e.on('end', () => (m.sha256 = h.digest('hex')));
      }
      members.set(p, m);
    },
  });
  for (const [p, to] of links) if (members.has(to)) members.set(p, members.get(to));
  return members;
}

const show = (field, v) => (v === undefined ? '-' : field === 'mode' ? v.toString(8) : String(v));

/**
 * Members only in `a`, only in `b`, and in both but different (each as
 * "path: field a / b, ..."; "content" for the sha256), every list sorted by
 * path; `byField` counts the differing members by field.
 */
export function compareMembers(a, b) {
  const onlyA = [...a.keys()].filter((p) => !b.has(p)).sort();
  const onlyB = [...b.keys()].filter((p) => !a.has(p)).sort();
  const differing = [];
  const byField = {};
  for (const p of [...a.keys()].filter((k) => b.has(k)).sort()) {
    const [x, y] = [a.get(p), b.get(p)];
    const fields = FIELDS.filter((f) => x[f] !== y[f]);
    if (!fields.length) continue;
    for (const f of fields) byField[f] = (byField[f] ?? 0) + 1;
    differing.push(`${p}: ${fields.map((f) => (f === 'sha256' ? 'content' : `${f} ${show(f, x[f])} / ${show(f, y[f])}`)).join(', ')}`);
  }
  return { onlyA, onlyB, differing, byField };
}
