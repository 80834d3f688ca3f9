// What a person following a build on a terminal sees: a real build (the
// shared base tree, a hook that prints awkward output, a raw disk) runs under
// a pseudo-terminal of 120 columns (`script`), and the bytes it wrote are
// played into a terminal emulator (xterm.js, headless). The screen's final
// text must hold each finished step on a line of its own, and no leftover of
// the status line that followed the build while it ran.
import xterm from '@xterm/headless';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { BIN } from '../support/imgfactory.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const COLUMNS = 120;
const LONG = scaled(600_000);

/** The screen's text after `bytes`, scrollback included, one string per row, trailing blanks trimmed. */
async function screen(bytes: Uint8Array): Promise<string[]> {
  const term = new xterm.Terminal({ cols: COLUMNS, rows: 40, scrollback: 10_000, allowProposedApi: true });
  await new Promise<void>((resolve) => term.write(bytes, resolve));
  const rows: string[] = [];
  for (let i = 0; i < term.buffer.active.length; i++) rows.push(term.buffer.active.getLine(i)!.translateToString(true));
  term.dispose();
  while (rows.length > 0 && rows.at(-1) === '') rows.pop();
  return rows;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('the progress on a terminal', () => {
  it(
    'leaves one clean line per finished step and no status fragment on the screen',
    async () => {
      const dir = await scratchDir('terminal');
      const cache = await cacheWithBase(path.join(dir, 'cache'));
      const summaryFile = path.join(dir, 'summary.json');
      const argv = [
        'node', BIN, 'build', 'chatty', '--elements-path', path.join(FIXTURES, 'elements', 'terminal'),
        '-t', 'raw', '--block-device', path.join(FIXTURES, 'layouts', 'root-only.yaml'),
        '--cache-dir', cache, '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out'), '--json-file', summaryFile,
      ];
      const { CI: _ci, ...env } = process.env;
      const r = await execa('script', ['-qfec', `stty cols ${COLUMNS} rows 40; exec ${argv.map(quote).join(' ')}`, '/dev/null'], {
        env: { ...env, TERM: 'xterm-256color' },
        extendEnv: false,
        encoding: 'buffer',
        reject: false,
      });
      const rows = await screen(r.stdout as Uint8Array);
      const shown = rows.join('\n');
      expect(r.exitCode, shown).toBe(0);
      const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as { steps: { id: string; status: string }[] };
      expect(summary.steps.map((s) => s.status)).toContain('built');

      for (const [i, step] of summary.steps.entries()) {
        const own = new RegExp(`^\\[${i + 1}\\] +${step.status} +${escapeRe(step.id)}  \\d[\\d.]* (s|min)[^\\[]*, layer [\\d.]+ (B|KiB|MiB|GiB)$`);
        // Any row holding the step's line holds nothing else.
        const holding = rows.filter((row) => new RegExp(`\\] +${step.status} +${escapeRe(step.id)}  `).test(row));
        expect(holding.length, `step ${step.id} on the screen:\n${shown}`).toBe(1);
        expect(holding[0], `step ${step.id} on a line of its own in:\n${shown}`).toMatch(own);
      }
      expect(rows.filter((row) => /^output .*chatty\.raw \(raw, [\d.]+ MiB\)$/.test(row)), shown).toHaveLength(1);
      // The status line's texts: "[i/n] <step> …", "<step>: <hook output>", "image: <assembly>".
      expect(rows.filter((row) => /\[\d+\/\d+\]|chatty line|packing the layer|moved up|^image: /.test(row)), shown).toEqual([]);
    },
    LONG,
  );
});
