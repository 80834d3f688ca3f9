// Text made safe for one row of a terminal: what a hook prints may hold
// escape sequences (colours, cursor moves), carriage returns, tabs and wide
// characters, any of which would move the cursor away from the row the status
// line owns or wrap it onto a second row that `\r\x1b[K` no longer erases.

/** ESC sequences (CSI, OSC, two-byte), then any C0/C1 control character or DEL. */
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?|[\x00-\x1f\x7f-\x9f]/g;

/** `text` without escape sequences or control characters; runs of white space become one space. */
export function plainText(text: string): string {
  return text.replace(/[\t\r\n\v\f]+/g, ' ').replace(ESCAPES, '').replace(/ {2,}/g, ' ');
}

/** Code points terminals draw in no column: combining marks, zero-width spaces and joiners, variation selectors. */
const ZERO_WIDTH: readonly (readonly [number, number])[] = [
  [0x300, 0x36f],
  [0x200b, 0x200f],
  [0xfe00, 0xfe0f],
];

/** Code points terminals draw in two columns: Unicode's EastAsianWidth W and F ranges, and emoji. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

const within = (cp: number, ranges: readonly (readonly [number, number])[]): boolean => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);

/** Columns a code point takes: 0 (ZERO_WIDTH), 2 (WIDE), else 1. */
export function columnsOf(cp: number): number {
  if (within(cp, ZERO_WIDTH)) return 0;
  return within(cp, WIDE) ? 2 : 1;
}

/** The longest start of plain `text` that fits in `columns` columns. */
export function fitColumns(text: string, columns: number): string {
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const w = columnsOf(ch.codePointAt(0)!);
    if (used + w > columns) break;
    used += w;
    end += ch.length;
  }
  return text.slice(0, end);
}
