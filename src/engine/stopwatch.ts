// Timing the work a build does beside its hooks (packing a layer, writing an
// output), lap by lap, so that one progress line can say where a long step's
// time went: "packed ... in 33.3 s; moved onto the tree in 4.1 s".
import { formatSeconds } from '../util/format.js';
import type { EventSink } from './events.js';

/** Work that took less than this is not worth a line of its own. */
const SAY_AFTER_S = 1;

export interface Stopwatch {
  /** Ends a lap: `<text> in <time since the last lap>`. */
  lap(text: string): void;
  /** Logs the laps as one line from `source`, when they took SAY_AFTER_S or more. */
  sayIfSlow(emit: EventSink, source: string): void;
}

export function stopwatch(): Stopwatch {
  const start = performance.now();
  let t = start;
  const laps: string[] = [];
  return {
    lap(text) {
      const now = performance.now();
      laps.push(`${text} in ${formatSeconds((now - t) / 1000)}`);
      t = now;
    },
    sayIfSlow(emit, source) {
      if ((t - start) / 1000 >= SAY_AFTER_S) emit({ type: 'log', source, line: laps.join('; ') });
    },
  };
}
