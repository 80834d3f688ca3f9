// Renders build events for a person. On a terminal: one status line that
// follows the running step and its latest output, and one permanent line per
// finished step. Elsewhere (CI, a pipe, CI=true): plain, timestamped lines,
// every hook output line prefixed with its step, no cursor tricks.
import type { BuildEvent } from '../engine/events.js';
import { formatBytes, formatSeconds } from '../util/format.js';

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  tty: boolean;
}

export function progressRenderer(o: ProgressOptions): (e: BuildEvent) => void {
  const { stream, tty } = o;
  const width = (): number => Math.max(40, (stream.columns ?? 100) - 1);
  const stamp = (): string => (tty ? '' : `${new Date().toISOString().slice(11, 19)} `);
  let status = '';
  const clear = (): void => {
    if (tty && status) stream.write('\r\x1b[K');
  };
  const line = (text: string): void => {
    clear();
    stream.write(`${stamp()}${text}\n`);
    if (tty && status) stream.write(status.slice(0, width()));
  };
  /** Replaces the live status line (TTY only). */
  const show = (text: string): void => {
    clear();
    status = text.replace(/\s+/g, ' ');
    stream.write(status.slice(0, width()));
  };
  let current = '';
  return (e) => {
    switch (e.type) {
      case 'note':
        line(`note: ${e.message}`);
        break;
      case 'warning':
        line(`warning: ${e.message}`);
        break;
      case 'step-start':
        current = `[${e.index + 1}/${e.total}] ${e.step.id}`;
        if (tty) show(`${current} ${e.cached ? '(cached)' : '...'}`);
        else if (!e.cached) line(`${current} running`);
        break;
      case 'step-line':
        if (tty) show(`${current}: ${e.line}`);
        else stream.write(`${stamp()}  ${e.step.id} | ${e.line}\n`);
        break;
      case 'activity':
        if (tty) show(`${e.source}: ${e.text}`);
        break;
      case 'log':
        if (tty) show(`${e.source}: ${e.line}`);
        else stream.write(`${stamp()}  ${e.source} | ${e.line}\n`);
        break;
      case 'step-end': {
        const r = e.report;
        status = '';
        line(`${`[${r.index + 1}]`.padEnd(5)} ${r.status.padEnd(6)} ${r.id}  ${formatSeconds(r.seconds)}, layer ${formatBytes(r.layerSize)}`);
        break;
      }
      case 'output':
        line(`output ${e.path} (${e.format}, ${formatBytes(e.size)}${e.cached ? ', from the cache' : ''})`);
        break;
    }
  };
}
