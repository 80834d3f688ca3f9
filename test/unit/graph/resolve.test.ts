import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDistro } from '../../../src/distro/load-distro.js';
import type { Distro } from '../../../src/distro/distro.js';
import { resolveImage } from '../../../src/graph/resolve.js';
import { unwrap } from '../../../src/failure.js';
import { BAD, GOOD, OVERRIDE, fixtureIndex } from '../../support/fixtures.js';
import { scratchDir } from '../../support/run-dir.js';

const bookworm = async (): Promise<Distro> => unwrap(await loadDistro('debian-bookworm'));
const names = (r: ReturnType<typeof resolveImage>): string[] => unwrap(r).elements.map((e) => e.name);

describe('resolveImage', () => {
  it('expands deps breadth-first, adds base, orders dependencies first with ties by name', async () => {
    const index = await fixtureIndex(GOOD);
    const g = unwrap(resolveImage(['app'], { index, distro: await bookworm() }));
    expect(g.requested).toEqual(['app', 'base']);
    expect(g.elements.map((e) => e.name)).toEqual(['base', 'lib-c', 'lib-a', 'lib-b', 'app']);
    expect(g.edges.get('app')).toEqual(['lib-b', 'lib-a']);
    expect(g.providedBy.get('operating-system')).toBe('distro:debian-bookworm');
  });

  it('is deterministic whatever the order of the request', async () => {
    const index = await fixtureIndex(GOOD);
    const distro = await bookworm();
    expect(names(resolveImage(['needs-db', 'app', 'fancy-db'], { index, distro }))).toEqual(
      names(resolveImage(['fancy-db', 'app', 'needs-db'], { index, distro })),
    );
  });

  it('satisfies a dependency on a virtual name through element-provides', async () => {
    const index = await fixtureIndex(GOOD);
    const g = unwrap(resolveImage(['needs-db', 'fancy-db'], { index, distro: await bookworm() }));
    expect(g.providedBy.get('database')).toBe('fancy-db');
    expect(g.edges.get('needs-db')).toEqual(['fancy-db']);
    expect(g.elements.map((e) => e.name)).toEqual(['base', 'fancy-db', 'needs-db']);
  });

  it('accepts a dependency cycle, orders its members by name and reports it', async () => {
    const index = await fixtureIndex(GOOD);
    const g = unwrap(resolveImage(['cyc-user'], { index, distro: await bookworm() }));
    expect(g.cycles).toEqual([['cyc-x', 'cyc-y']]);
    expect(g.elements.map((e) => e.name)).toEqual(['base', 'cyc-x', 'cyc-y', 'lib-c', 'cyc-user']);
  });

  it('lets an earlier search-path entry override an element', async () => {
    const index = await fixtureIndex(OVERRIDE, GOOD);
    const g = unwrap(resolveImage(['lib-a'], { index, distro: await bookworm() }));
    const libC = g.elements.find((e) => e.name === 'lib-c')!;
    expect(libC.description).toBe('The overriding lib-c.');
    expect(libC.overrides).toEqual([`${GOOD}/lib-c`]);
    expect(index.warnings.some((w) => w.element === 'lib-c' && /overrides/.test(w.message))).toBe(true);
  });

  it('element not found: names who needed it and near misses', async () => {
    const index = await fixtureIndex(BAD);
    const r = resolveImage(['needs-missing'], { index, distro: await bookworm() });
    expect(r).toEqual({
      ok: false,
      error: { reason: 'element-not-found', name: 'libz', requiredBy: 'needs-missing', searchPath: [BAD], nearMisses: ['lib', 'libx'] },
    });
  });

  it('element not found at the top level', async () => {
    const index = await fixtureIndex(BAD);
    const r = resolveImage(['dup-imag'], { index, distro: await bookworm() });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ reason: 'element-not-found', name: 'dup-imag', nearMisses: ['dup-image'] });
  });

  it('two elements providing the same name', async () => {
    const index = await fixtureIndex(BAD);
    const r = resolveImage(['dup-image'], { index, distro: await bookworm() });
    expect(r).toEqual({ ok: false, error: { reason: 'duplicate-provides', name: 'thing', providers: ['dup-one', 'dup-two'] } });
  });

  it('an element providing operating-system clashes with the distro', async () => {
    const index = await fixtureIndex(BAD);
    const distro = { ...(await bookworm()), provides: ['operating-system', 'thing'] };
    const r = resolveImage(['dup-one'], { index, distro });
    expect(r).toEqual({ ok: false, error: { reason: 'duplicate-provides', name: 'thing', providers: ['distro:debian-bookworm', 'dup-one'] } });
  });

  it('a requested element that another requested element provides', async () => {
    const index = await fixtureIndex(BAD);
    const r = resolveImage(['widget', 'thing-maker'], { index, distro: await bookworm() });
    expect(r).toEqual({ ok: false, error: { reason: 'requested-is-provided', name: 'widget', provider: 'thing-maker' } });
  });

  it('nothing provides operating-system', async () => {
    const index = await fixtureIndex(GOOD);
    expect(resolveImage(['lib-c'], { index, distro: null })).toEqual({ ok: false, error: { reason: 'no-operating-system' } });
  });

  it('a malformed element is an error only when the image needs it', async () => {
    const index = await fixtureIndex(BAD);
    expect(index.broken.has('selfish')).toBe(true);
    expect(resolveImage(['lib'], { index, distro: await bookworm() }).ok).toBe(true);
    const r = resolveImage(['selfish'], { index, distro: await bookworm() });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ reason: 'self-dependency', element: 'selfish' });
    const y = resolveImage(['bad-yaml'], { index, distro: await bookworm() });
    if (!y.ok) expect(y.error).toMatchObject({ reason: 'malformed-element', at: { element: 'bad-yaml', line: 3 } });
    expect(y.ok).toBe(false);
  });

  it('resolves the real overcloud-control image with its os-*-config cycle', async () => {
    const { indexElements } = await import('../../../src/elements/element-index.js');
    const { elementSearchPath } = await import('../../../src/elements/search-path.js');
    const index = unwrap(await indexElements(elementSearchPath(undefined, {})));
    const g = unwrap(resolveImage(['overcloud-control'], { index, distro: await bookworm() }));
    const order = g.elements.map((e) => e.name);
    expect(order[0]).toBe('base');
    expect(order.at(-1)).toBe('overcloud-control');
    expect(order.indexOf('keystone')).toBeLessThan(order.indexOf('boot-stack'));
    expect(g.cycles).toEqual([['os-apply-config', 'os-refresh-config']]);
  });

  it('says an element name that is a file is a file, and lets a real element of that name further on win', async () => {
    const dir = await scratchDir('file-element');
    await writeFile(path.join(dir, 'lib-a'), 'not a directory');
    await writeFile(path.join(dir, 'widget-file'), 'not a directory');
    const index = await fixtureIndex(dir, GOOD);
    const distro = await bookworm();
    expect(resolveImage(['widget-file'], { index, distro })).toMatchObject({
      ok: false,
      error: { reason: 'malformed-element', at: { element: 'widget-file', file: path.join(dir, 'widget-file') }, message: 'is a file, not an element directory' },
    });
    expect(names(resolveImage(['app'], { index, distro }))).toContain('lib-a');
  });

  it("gives DIB's vm, which needs the virtual block-device, block-device-mbr when nothing provides it, with a note; a named block-device-* wins", async () => {
    const { indexElements } = await import('../../../src/elements/element-index.js');
    const { elementSearchPath } = await import('../../../src/elements/search-path.js');
    const index = unwrap(await indexElements(elementSearchPath('/usr/lib/python3/dist-packages/diskimage_builder/elements', {})));
    const distro = await bookworm();
    const vm = unwrap(resolveImage(['debian-minimal', 'vm'], { index, distro }));
    expect(vm.providedBy.get('block-device')).toBe('block-device-mbr');
    expect(vm.elements.map((e) => e.name)).toEqual(expect.arrayContaining(['vm', 'bootloader', 'block-device-mbr']));
    expect(vm.notes).toContain(
      'block-device: vm needs it and no element of the image provides it: block-device-mbr is added, as diskimage-builder adds it for vm (name a block-device-* element to choose another)',
    );
    const gpt = unwrap(resolveImage(['debian-minimal', 'vm', 'block-device-gpt'], { index, distro }));
    expect(gpt.providedBy.get('block-device')).toBe('block-device-gpt');
    expect(gpt.elements.map((e) => e.name)).not.toContain('block-device-mbr');
    expect(gpt.notes.filter((n) => n.startsWith('block-device:'))).toEqual([]);
  });

  it('leaves base out when told to, as disk-image-create -n does', async () => {
    const index = await fixtureIndex(GOOD);
    const g = unwrap(resolveImage(['lib-c'], { index, distro: await bookworm(), skipBase: true }));
    expect(g.requested).toEqual(['lib-c']);
    expect(g.elements.map((e) => e.name)).toEqual(['lib-c']);
  });
});
