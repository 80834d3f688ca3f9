import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Element } from '../../../src/elements/element.js';
import { makeHooksTree } from '../../../src/engine/hooks-tree.js';
import { scratchDir } from '../../support/run-dir.js';

const element = (name: string, dir: string): Element => ({ name, dir }) as Element;

describe('makeHooksTree', () => {
  it("merges an element that sits inside another's directory (DIB's <element>/test-elements/<test> on the path), later elements winning", async () => {
    const dir = await scratchDir('hooks-tree');
    const outer = path.join(dir, 'debian-minimal');
    const inner = path.join(outer, 'test-elements', 'stable-vm');
    await mkdir(path.join(inner, 'environment.d'), { recursive: true });
    await mkdir(path.join(outer, 'environment.d'), { recursive: true });
    await writeFile(path.join(outer, 'environment.d', '10-debian-minimal.bash'), 'export DIB_RELEASE=${DIB_RELEASE:-stable}\n');
    await writeFile(path.join(inner, 'environment.d', '10-set-distro.bash'), 'export DIB_RELEASE=stable\n');
    await writeFile(path.join(outer, 'README.rst'), 'outer\n');
    await writeFile(path.join(inner, 'README.rst'), 'inner\n');
    const dest = path.join(dir, 'hooks');
    await makeHooksTree([element('stable-vm', inner), element('debian-minimal', outer)], dest);
    expect(await readFile(path.join(dest, 'environment.d', '10-set-distro.bash'), 'utf8')).toBe('export DIB_RELEASE=stable\n');
    expect(await readFile(path.join(dest, 'environment.d', '10-debian-minimal.bash'), 'utf8')).toContain('DIB_RELEASE');
    expect(await readFile(path.join(dest, 'README.rst'), 'utf8')).toBe('outer\n');
  });
});
