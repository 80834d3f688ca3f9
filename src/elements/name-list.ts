// Parses diskimage-builder's one-name-per-line files (element-deps,
// element-provides): blank lines and `#` comments are ignored, and every
// name remembers its line so errors can point at it.

export interface NamedLine {
  name: string;
  line: number;
}

export type NameListResult = { ok: true; names: NamedLine[] } | { ok: false; line: number; message: string };

const VALID_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function parseNameList(text: string): NameListResult {
  const names: NamedLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const name = lines[i]!.replace(/#.*$/, '').trim();
    if (name === '') continue;
    if (!VALID_NAME.test(name)) {
      return { ok: false, line: i + 1, message: `"${name}" is not an element name (one name per line: letters, digits, . _ + -)` };
    }
    if (!names.some((n) => n.name === name)) names.push({ name, line: i + 1 });
  }
  return { ok: true, names };
}
