// The element index over names a person did not mean: directories whose
// names are not UTF-8 or hold a newline, and hooks named so. They are left
// out with a warning that shows the name escaped on one line, never loaded
// by a mangled path.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexElements } from '../../../src/elements/element-index.js';
import { unwrap } from '../../../src/failure.js';
import { scratchDir } from '../../support/run-dir.js';

describe('indexElements', () => {
  it('leaves out element directories whose names are not plain text, and warns on one line', async () => {
    const dir = await scratchDir('odd-names');
    await mkdir(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff])]));
    await mkdir(path.join(dir, 'two\nlines'));
    await mkdir(path.join(dir, 'fine'));
    await writeFile(path.join(dir, 'fine', 'README.md'), '# fine\n\nA fine element.\n');
    const index = unwrap(await indexElements([dir]));
    expect([...index.elements.keys()]).toEqual(['fine']);
    expect([...index.broken.keys()]).toEqual([]);
    const texts = index.warnings.map((w) => `${w.file}: ${w.message}`);
    expect(texts).toEqual(
      expect.arrayContaining([
        `${dir}/"bad-\\ufffd": ignored: an element name must be plain text (valid UTF-8, no control characters)`,
        `${dir}/"two\\nlines": ignored: an element name must be plain text (valid UTF-8, no control characters)`,
      ]),
    );
    expect(texts.every((t) => !t.includes('\n'))).toBe(true);
  });

  it('warns about hooks whose names are not UTF-8 or hold a newline, escaped on one line', async () => {
    const dir = await scratchDir('odd-hooks');
    const install = path.join(dir, 'hooky', 'install.d');
    await mkdir(install, { recursive: true });
    await writeFile(Buffer.concat([Buffer.from(`${install}/10-`), Buffer.from([0xff])]), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(path.join(install, '20-new\nline'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(path.join(install, '30-ok'), '#!/bin/sh\n', { mode: 0o755 });
    const index = unwrap(await indexElements([dir]));
    expect(index.elements.get('hooky')!.hooks['install.d']!.map((h) => h.name)).toEqual(['30-ok']);
    const texts = index.warnings.filter((w) => w.element === 'hooky').map((w) => `${w.file}: ${w.message}`);
    expect(texts).toEqual([
      expect.stringMatching(/^"install\.d\/10-\\ufffd": will not run: its name is not valid UTF-8/),
      expect.stringMatching(/^"install\.d\/20-new\\nline": will not run: diskimage-builder only runs hook names/),
    ]);
  });
});

describe('indexElements on many elements', () => {
  it("checks the environment.d files of DIB's elements a few shells at a time, not one shell per element at once", async () => {
    // Each environment.d file is checked with `bash -n`; all of DIB's elements at once meant dozens of shells on
    // a 2-core host, and more listeners on imgfactory's one interruption signal than Node allows without a warning.
    const warnings: Error[] = [];
    const listen = (w: Error) => warnings.push(w);
    process.on('warning', listen);
    try {
      const index = unwrap(await indexElements(['/usr/lib/python3/dist-packages/diskimage_builder/elements']));
      expect(index.elements.size).toBeGreaterThan(100);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  });
});
