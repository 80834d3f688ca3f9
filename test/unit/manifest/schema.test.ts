import { describe, expect, it } from 'vitest';
import { MANIFEST_SCHEMA, type Manifest } from '../../../src/manifest/manifest.js';
import { validateManifest } from '../../../src/manifest/schema.js';

const good = (): Manifest =>
  ({
    schema: MANIFEST_SCHEMA,
    image: 'img',
    tag: '',
    outputs: [{ name: 'img.qcow2', format: 'qcow2', size: 10, virtualSize: 1024, sha256: 'a'.repeat(64), sha512: 'b'.repeat(128), md5: 'c'.repeat(32) }],
    elements: [{ name: 'base', digest: `sha256:${'d'.repeat(64)}`, origin: '/e/base' }],
    layerKeys: [`sha256:${'e'.repeat(64)}`],
    distro: { name: 'debian', release: 'bookworm', arch: 'amd64' },
    packages: [{ name: 'bash', version: '5.2', arch: 'amd64' }],
    tool: { name: 'imgfactory', version: '0.1.0' },
    sourceDateEpoch: 0,
    inputs: {},
    layout: { name: 'gpt', firmware: 'bios' },
    glance: { qcow2: { disk_format: 'qcow2', container_format: 'bare', min_disk: 1, min_ram: 512, os_distro: 'debian' } },
  }) as unknown as Manifest;

function problem(mutate: (m: Record<string, unknown>) => void): { field: string; message: string } {
  const m = good() as unknown as Record<string, unknown>;
  mutate(m);
  const r = validateManifest(m, 'x.json');
  if (r.ok || r.error.reason !== 'manifest-invalid') throw new Error('expected manifest-invalid');
  return { field: r.error.field, message: r.error.message };
}

describe('validateManifest', () => {
  it('accepts a complete manifest', () => {
    expect(validateManifest(good(), 'x.json').ok).toBe(true);
  });

  it('names the field that is wrong', () => {
    const outs = (m: Record<string, unknown>): Record<string, unknown>[] => m.outputs as Record<string, unknown>[];
    expect(problem((m) => (outs(m)[0]!.sha512 = 'zz')).field).toBe('outputs[0].sha512');
    expect(problem((m) => delete outs(m)[0]!.md5)).toEqual({ field: 'outputs[0].md5', message: 'is missing' });
    expect(problem((m) => (outs(m)[0]!.name = '../etc/passwd')).field).toBe('outputs[0].name');
    expect(problem((m) => (outs(m)[0]!.size = -1)).field).toBe('outputs[0].size');
    expect(problem((m) => (m.layerKeys = ['nope'])).field).toBe('layerKeys[0]');
    expect(problem((m) => (m.extra = 1))).toEqual({ field: 'extra', message: 'is not a known field' });
    expect(problem((m) => (m.schema = 'imgfactory.manifest.v9')).field).toBe('schema');
    expect(problem((m) => ((m.layout as Record<string, unknown>).firmware = 'coreboot')).field).toBe('layout.firmware');
    expect(problem((m) => ((m.glance as Record<string, Record<string, unknown>>).qcow2!.container_format = 'ovf')).field).toBe('glance.qcow2.container_format');
    expect(problem((m) => ((m.glance as Record<string, Record<string, unknown>>).qcow2!.min_disk = '1')).field).toBe('glance.qcow2.min_disk');
    expect(problem((m) => ((m.packages as unknown[])[0] = { name: 'x' })).field).toBe('packages[0].version');
  });

  it('takes the ids of the secrets hooks were offered, when there were any', () => {
    expect(validateManifest({ ...good(), secrets: ['DIB_API_PASSWORD', 'api-token'] }, 'x.json').ok).toBe(true);
    expect(problem((m) => (m.secrets = ['ok', ''])).field).toBe('secrets[1]');
    expect(problem((m) => (m.secrets = 'api-token')).field).toBe('secrets');
  });

  it('refuses two outputs of the same name', () => {
    expect(problem((m) => (m.outputs = [...(m.outputs as unknown[]), ...(m.outputs as unknown[])])).message).toMatch(/names "img.qcow2" twice/);
  });

  it('takes the archive state the build installed from, and manifests from before it recorded one', () => {
    const suite = { suite: 'bookworm', url: 'http://deb.debian.org/debian/dists/bookworm/InRelease', sha256: 'f'.repeat(64), date: 'Sat, 11 Jul 2026 10:16:37 UTC' };
    expect(validateManifest({ ...good(), archive: { from: 'archive', suites: [suite] } }, 'x.json').ok).toBe(true);
    expect(validateManifest(good(), 'x.json').ok).toBe(true);
    expect(problem((m) => (m.archive = { from: 'archive', suites: [{ ...suite, sha256: 'F00' }] })).field).toBe('archive.suites[0].sha256');
    expect(problem((m) => (m.archive = { from: 'guess', suites: [suite] })).field).toBe('archive.from');
    expect(problem((m) => (m.archive = { from: 'cache', suites: [suite], mirror: 'x' })).field).toBe('archive.mirror');
  });
});
