// After a network step runs, the release files apt fetched into its upper
// directory are checked against the state its key holds: the same bytes pass;
// other bytes are an archive-moved failure naming the step, the suite and both
// dates; a file the step did not write (or removed: a whiteout) is not judged.
// The upper is read through the step's own links, never the host's.
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { checkFetchedState } from '../../../src/engine/archive-check.js';
import type { ArchiveState } from '../../../src/distro/archive-state.js';
import { failureOf } from '../../support/failure-of.js';
import { scratchDir } from '../../support/run-dir.js';

const KEYED = Buffer.from('Origin: Debian\nSuite: stable\nDate: Sat, 11 Jul 2026 10:16:37 UTC\n');
const NEWER = Buffer.from('Origin: Debian\nSuite: stable\nDate: Sun, 12 Jul 2026 08:00:00 UTC\n');
const state = (from: ArchiveState['from']): ArchiveState => ({
  from,
  suites: [{ suite: 'bookworm', url: 'http://deb.debian.org/debian/dists/bookworm/InRelease', sha256: createHash('sha256').update(KEYED).digest('hex'), date: 'Sat, 11 Jul 2026 10:16:37 UTC' }],
});

async function upperWith(content: Buffer | 'whiteout' | null): Promise<string> {
  const upper = await scratchDir('archive-check');
  const lists = path.join(upper, 'var/lib/apt/lists');
  await mkdir(lists, { recursive: true });
  const file = path.join(lists, 'deb.debian.org_debian_dists_bookworm_InRelease');
  if (content === 'whiteout') await execa('mknod', [file, 'c', '0', '0']);
  else if (content) await writeFile(file, content);
  return upper;
}

describe('checkFetchedState', () => {
  it('passes a step that fetched the keyed state, fetched nothing, or removed the lists', async () => {
    await expect(checkFetchedState('base', state('file'), await upperWith(KEYED))).resolves.toBeUndefined();
    await expect(checkFetchedState('base', state('file'), await upperWith(null))).resolves.toBeUndefined();
    await expect(checkFetchedState('base', state('file'), await upperWith('whiteout'))).resolves.toBeUndefined();
  });

  it('fails a step that fetched another state, naming it, the suite, the keyed and the fetched date', async () => {
    const f = await failureOf(checkFetchedState('base', state('file'), await upperWith(NEWER)));
    expect(f).toEqual({ reason: 'archive-moved', step: 'base', from: 'file', suites: [{ suite: 'bookworm', keyed: 'Sat, 11 Jul 2026 10:16:37 UTC', found: 'Sun, 12 Jul 2026 08:00:00 UTC' }] });
  });

  it('reads the lists through the step\'s own links, not the host\'s', async () => {
    // The step made /var an absolute link into its own /srv/var (an upper
    // holds what the step wrote, so the lists it fetched are there). On the
    // host, that same absolute path holds other bytes: read through the
    // host's view, the check judged them and not the step's.
    const decoy = await scratchDir('archive-check-host');
    const hostLists = path.join(decoy, 'var/lib/apt/lists');
    await mkdir(hostLists, { recursive: true });
    await writeFile(path.join(hostLists, 'deb.debian.org_debian_dists_bookworm_InRelease'), KEYED);
    const upper = await scratchDir('archive-check');
    await mkdir(path.join(upper, decoy, 'var/lib/apt/lists'), { recursive: true });
    await writeFile(path.join(upper, decoy, 'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease'), NEWER);
    await symlink(path.join(decoy, 'var'), path.join(upper, 'var'));
    const f = await failureOf(checkFetchedState('base', state('file'), upper));
    expect(f).toMatchObject({ reason: 'archive-moved', suites: [{ found: 'Sun, 12 Jul 2026 08:00:00 UTC' }] });
  });
});
