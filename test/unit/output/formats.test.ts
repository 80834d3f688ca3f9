import { describe, expect, it } from 'vitest';
import { formatByCli, formatById, formatOf, IMAGE_FORMATS, isImageFormat, OUTPUT_FORMATS } from '../../../src/output/formats.js';

describe('the output format table', () => {
  it('lists the formats -t accepts, in the order the help shows them', () => {
    expect(OUTPUT_FORMATS.map((f) => f.cli)).toEqual(['qcow2', 'raw', 'tar', 'vmdk', 'vhd', 'vhdx']);
  });

  it('names each format once per column', () => {
    for (const column of ['id', 'cli', 'extension'] as const) {
      const values = OUTPUT_FORMATS.map((f) => f[column]);
      expect(new Set(values).size, column).toBe(values.length);
    }
  });

  it('keeps the recorded names of keys and manifests: vhd is vpc', () => {
    expect(OUTPUT_FORMATS.map((f) => f.id)).toEqual(['qcow2', 'raw', 'tar', 'vmdk', 'vpc', 'vhdx']);
    expect(formatByCli('vhd')).toMatchObject({ id: 'vpc', extension: 'vhd', qemu: { format: 'vpc' }, glance: { diskFormat: 'vhd' } });
    expect(formatByCli('vpc')).toBeUndefined();
    expect(formatById('vhd')).toBeUndefined();
  });

  it('gives every disk format a qemu-img writer and Glance names, and the tree archive neither', () => {
    for (const f of OUTPUT_FORMATS) {
      if (f.kind === 'disk') {
        expect(f.qemu, f.id).not.toBeNull();
        expect(f.glance, f.id).toMatchObject({ containerFormat: 'bare' });
      } else {
        expect(f.qemu, f.id).toBeNull();
        expect(f.glance, f.id).toBeNull();
      }
    }
    expect(IMAGE_FORMATS).toEqual(['qcow2', 'raw', 'vmdk', 'vpc', 'vhdx']);
    expect(isImageFormat('tar')).toBe(false);
    expect(isImageFormat('vpc')).toBe(true);
  });

  it('holds the convert options qemu-img has always been given', () => {
    expect(formatOf('qcow2').qemu?.options).toEqual({ compressed: ['-o', 'compat=1.1', '-c'], uncompressed: ['-o', 'compat=1.1'], zstd: ['-o', 'compat=1.1,compression_type=zstd', '-c'] });
    expect(formatOf('vmdk').qemu?.options).toEqual({ compressed: ['-o', 'subformat=streamOptimized'], uncompressed: ['-o', 'subformat=monolithicSparse'] });
    expect(formatOf('vpc').qemu?.options.compressed).toEqual(['-o', 'subformat=dynamic,force_size=on']);
    expect(formatOf('vhdx').qemu?.options).toEqual({ compressed: [], uncompressed: [] });
  });

  it('says which formats are reproducible', () => {
    expect(OUTPUT_FORMATS.filter((f) => f.reproducible).map((f) => f.id)).toEqual(['qcow2', 'raw', 'tar']);
  });

  it('refuses a name it does not know', () => {
    expect(() => formatOf('iso' as never)).toThrow(TypeError);
  });
});
