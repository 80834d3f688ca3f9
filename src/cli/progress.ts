// Renders build events for a person. On a terminal: one status line that
// follows the running step and its latest output, erased before any
// permanent line (one per finished step, notes, warnings, outputs) and
// redrawn after it. Elsewhere (CI, a pipe, CI=true): plain, timestamped
// lines, every hook output line prefixed with its step, no cursor tricks.
import type { EventSink } from '../engine/events.js';
import { formatBytes, formatSeconds } from '../util/format.js';
import { fitColumns, plainText } from './terminal-text.js';

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  tty: boolean;
}

export interface Progress {
  /** Renders one build event. */
  emit: EventSink;
  /**
   * Erases the status line. Call it before anything else writes to the
   * stream (the timing table, an error): the status line is the renderer's
   * alone, and a line written over it would be glued to its remains.
   */
  close(): void;
}

/**
 * On a terminal the renderer owns the row the cursor is on: `shown` says
 * whether the status is drawn there. The invariant: after every call, either
 * nothing is drawn after the last newline, or exactly `status` (plain, cut to
 * fit one row, autowrap off while drawing) is.
 */
export function progressRenderer(o: ProgressOptions): Progress {
  const { stream, tty } = o;
  const width = (): number => Math.max(40, (stream.columns ?? 100) - 1);
  const stamp = (): string => (tty ? '' : `${new Date().toISOString().slice(11, 19)} `);
  let status = '';
  let shown = false;
  const erase = (): void => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  const draw = (): void => {
    if (!status) return;
    stream.write(`\x1b[?7l${fitColumns(status, width())}\x1b[?7h`);
    shown = true;
  };
  const line = (text: string): void => {
    erase();
    stream.write(`${stamp()}${text}\n`);
    draw();
  };
  /** Replaces the live status line (TTY only). */
  const show = (text: string): void => {
    erase();
    status = plainText(text);
    draw();
  };
  let current = '';
  const emit: EventSink = (e) => {
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
  const close = (): void => {
    status = '';
    erase();
  };
  return { emit, close };
}
