// The progress renderer: what a person sees in a log (CI, a pipe) and on a
// terminal, for hook output, the build's own work and step ends.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/engine/events.js';
import { progressRenderer } from '../../../src/cli/progress.js';

function render(events: BuildEvent[], tty: boolean): string {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let text = '';
  (stream as unknown as PassThrough).on('data', (c: Buffer) => (text += c.toString()));
  const progress = progressRenderer({ stream, tty });
  for (const e of events) progress.emit(e);
  progress.close();
  return text;
}

const events: BuildEvent[] = [
  { type: 'activity', source: 'package-installs/install.d/01-package-installs', text: 'packing the layer' },
  { type: 'log', source: 'output', line: 'wrote the tar in 19.9 s; hashed it in 9.2 s' },
  { type: 'step-end', report: { index: 6, id: 'package-installs/install.d/01-package-installs', phase: 'install.d', status: 'built', seconds: 256, layerSize: 1.1 * 2 ** 30, key: 'sha256:00', layer: 'sha256:01' } },
];

describe('progress renderer', () => {
  it('in a log: what the build is doing is no line of its own; timings and step ends are, time-stamped', () => {
    const lines = render(events, false).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d {3}output \| wrote the tar in 19\.9 s; hashed it in 9\.2 s$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d \[7\] +built +package-installs\/install\.d\/01-package-installs +4 min 16 s, layer 1\.1 GiB$/);
    expect(lines.join('\n')).not.toContain('packing the layer');
  });

  it('on a terminal: the status line says what runs, and a finished step leaves a line of its own', () => {
    const text = render(events, true);
    expect(text).toContain('package-installs/install.d/01-package-installs: packing the layer');
    expect(text).toContain('output: wrote the tar in 19.9 s');
    expect(text).toMatch(/\[7\] +built +package-installs\/install\.d\/01-package-installs +4 min 16 s, layer 1\.1 GiB\n/);
  });

  it('on a terminal: the status is erased before every permanent line and when the renderer closes', () => {
    const text = render(events, true);
    expect(text).toContain('wrote the tar in 19.9 s; hashed it in 9.2 s\x1b[?7h\r\x1b[K[7]');
    expect(text.endsWith('layer 1.1 GiB\n')).toBe(true);
    const open = render([events[0]!], true);
    expect(open.endsWith('\r\x1b[K')).toBe(true);
  });

  it('on a terminal: hook output in the status line is plain text cut to one row', () => {
    const line = (text: string): BuildEvent => ({ type: 'log', source: 'hook', line: text });
    const text = render([line(`\x1b[2Aup\ta\rb \x1b]0;title\x07${'漢'.repeat(200)}`)], true);
    const drawn = text.slice(text.indexOf('\x1b[?7l') + 5, text.indexOf('\x1b[?7h'));
    expect(drawn.startsWith('hook: up a b 漢')).toBe(true);
    expect(drawn).not.toMatch(/[\x00-\x1f]/);
    // 99 columns on a 100-column stream: 13 narrow ones, then 43 wide characters.
    expect(drawn).toBe(`hook: up a b ${'漢'.repeat(43)}`);
  });
});
