import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadElement } from '../../../src/elements/load-element.js';
import { BAD, GOOD } from '../../support/fixtures.js';
import { scratchDir } from '../../support/run-dir.js';

describe('loadElement', () => {
  it('reads deps, provides, hooks in DIB order, environment.d, packages, bin and README', async () => {
    const r = await loadElement('hooky', path.join(GOOD, 'hooky'), GOOD);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const e = r.value;
    expect(e.description).toBe('Fixture element hooky.');
    expect(e.hooks['install.d']!.map((h) => h.name)).toEqual(['9-earlier', '10-first']);
    expect(e.environmentD.map((f) => path.basename(f))).toEqual(['10-first', '20-second']);
    expect(e.packages.map((p) => p.name)).toEqual(['vim', 'grub-pc', 'nano', 'gcc', 'curl']);
    expect(e.hasBin).toBe(true);
    expect(e.hasStatic).toBe(false);
  });

  it('warns about hooks diskimage-builder would silently skip, naming the file', async () => {
    const r = await loadElement('hooky', path.join(GOOD, 'hooky'), GOOD);
    if (!r.ok) throw new Error('expected ok');
    const warnings = r.value.warnings.map((w) => `${w.file}: ${w.message}`);
    expect(warnings).toEqual([
      expect.stringMatching(/^install\.d\/50-skipped\.sh: will not run: .*letters, digits/),
      expect.stringMatching(/^install\.d\/60-not-executable: will not run: it is not executable/),
    ]);
  });

  it('names the element, the environment.d file and the line of a shell syntax error there', async () => {
    const r = await loadElement('bad-env', path.join(BAD, 'bad-env'), BAD);
    expect(r).toEqual({
      ok: false,
      error: { reason: 'malformed-element', at: { element: 'bad-env', file: `${BAD}/bad-env/environment.d/10-unclosed`, line: 5 }, message: 'shell syntax error: unexpected end of file' },
    });
  });

  it('ignores comments and blank lines in element-deps', async () => {
    const r = await loadElement('app', path.join(GOOD, 'app'), GOOD);
    if (!r.ok) throw new Error('expected ok');
    expect(r.value.deps.map((d) => d.name)).toEqual(['lib-b', 'lib-a']);
  });

  it('rejects a dependency on itself, naming the file and line', async () => {
    const r = await loadElement('selfish', path.join(BAD, 'selfish'), BAD);
    expect(r).toEqual({ ok: false, error: { reason: 'self-dependency', element: 'selfish', file: `${BAD}/selfish/element-deps:3` } });
  });

  it('reports a bad package-installs.yaml with element, file and line', async () => {
    const r = await loadElement('bad-yaml', path.join(BAD, 'bad-yaml'), BAD);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({
      reason: 'malformed-element',
      at: { element: 'bad-yaml', file: `${BAD}/bad-yaml/package-installs.yaml`, line: 3 },
      message: expect.stringContaining('unknown option "bogus-key"'),
    });
  });

  it('reports YAML syntax errors with their line', async () => {
    const r = await loadElement('broken-yaml', path.join(BAD, 'broken-yaml'), BAD);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ reason: 'malformed-element', at: { element: 'broken-yaml', line: expect.any(Number) } });
  });

  it('reports a malformed name in element-deps with its line', async () => {
    const r = await loadElement('bad-deps', path.join(BAD, 'bad-deps'), BAD);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ reason: 'malformed-element', at: { file: `${BAD}/bad-deps/element-deps`, line: 2 } });
  });
});

describe('volatile-paths', () => {
  const element = async (text: string) => {
    const dir = path.join(await scratchDir('volatile-paths'), 'vol');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'volatile-paths'), text);
    return loadElement('vol', dir, path.dirname(dir));
  };

  it('reads one path per line, comments and a leading / left out', async () => {
    const r = await element('# per-machine state\n/etc/ssh/ssh_host_*\n\nvar/lib/mysql/*  # the data directory\n');
    expect(r.ok && r.value.volatilePaths).toEqual(['etc/ssh/ssh_host_*', 'var/lib/mysql/*']);
  });

  it.each([
    ['var/*/mysql', 'only the last part'],
    ['../etc/passwd', 'plain path'],
    ['*', 'whole tree'],
    ['etc/ssh/key?', 'the only wildcard'],
  ])('refuses %s, naming the file and the line', async (line, problem) => {
    const r = await element(`etc/ok\n${line}\n`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ reason: 'malformed-element', at: { element: 'vol', line: 2 }, message: expect.stringContaining(problem) });
  });
});
