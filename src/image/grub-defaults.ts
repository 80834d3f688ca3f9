// What the tree's GRUB defaults add to the kernel command line. grub-mkconfig
// builds an entry's `linux` line from GRUB_CMDLINE_LINUX and then
// GRUB_CMDLINE_LINUX_DEFAULT, having sourced /etc/default/grub and then
// /etc/default/grub.d/*.cfg in name order. imgfactory writes grub.cfg itself
// (grub-config.ts: no grub-mkconfig, no chroot, no loop device), so that an
// element adding a kernel argument the Debian way (or diskimage-builder's
// way) keeps it, GRUB_CMDLINE_LINUX is read from those files here.
// GRUB_CMDLINE_LINUX_DEFAULT and GRUB_TIMEOUT are not: as diskimage-builder's
// bootloader element overrides them, the image's own settings take their place
// (DIB_BOOTLOADER_DEFAULT_CMDLINE, DIB_GRUB_TIMEOUT: elements/dib-bootloader.ts).
//
// The files are shell (/bin/sh), and are never run: only plain assignments
// are read (`[export] GRUB_CMDLINE_LINUX=`, a value of double- or single-
// quoted strings and bare words, `$GRUB_CMDLINE_LINUX` itself for an append). Any
// other line that names the variable is an error naming the file and line,
// never a silent miss. Pure but for reading the files.
import { readdir, readFile } from 'node:fs/promises';
import { fail, ok, type Result } from '../failure.js';
import { dirInTree, fileInTree } from '../util/tree-path.js';

const VAR = 'GRUB_CMDLINE_LINUX';
/** The variable named, but not GRUB_CMDLINE_LINUX_DEFAULT (or any longer name). */
const NAMES_VAR = new RegExp(`(?<![A-Za-z0-9_])${VAR}(?![A-Za-z0-9_])`);
const ASSIGNMENT = new RegExp(`^\\s*(?:export\\s+)?${VAR}(\\+?)=(.*)$`);
/** A line that opens or closes a compound command. */
const COMPOUND = /^\s*(if|then|elif|else|fi|case|esac|for|while|until|do|done|function|select)(\s|;|$)|^\s*[{}](\s|$)/;
const HINT = `imgfactory writes grub.cfg without running these files: assign ${VAR} plainly, with quoted text and $${VAR} only (e.g. ${VAR}="$${VAR} net.ifnames=0")`;

/** The files grub-mkconfig sources, relative to the tree, in its order. */
async function defaultsFiles(rootDir: string): Promise<string[]> {
  const dir = 'etc/default/grub.d';
  const at = await dirInTree(rootDir, `/${dir}`);
  const cfgs = at === null ? [] : await readdir(at);
  return ['etc/default/grub', ...cfgs.filter((n) => n.endsWith('.cfg')).sort().map((n) => `${dir}/${n}`)];
}

/** GRUB_CMDLINE_LINUX as the tree's GRUB defaults leave it ('' when they set none). */
export async function treeKernelArgs(rootDir: string): Promise<Result<string>> {
  let value = '';
  for (const file of await defaultsFiles(rootDir)) {
    const at = await fileInTree(rootDir, `/${file}`);
    const text = at === null ? null : await readFile(at, 'latin1');
    if (text === null) continue;
    const lines = text.split('\n');
    // An assignment inside a condition or a loop may or may not happen: such a file is refused, not guessed at.
    const compound = lines.findIndex((l) => !/^\s*#/.test(l) && COMPOUND.test(l));
    if (compound >= 0 && lines.some((l) => !/^\s*#/.test(l) && NAMES_VAR.test(l))) {
      return fail({ reason: 'tree-config', file: `/${file}`, line: compound + 1, message: `cannot read ${VAR} from a file with conditions or loops`, hint: HINT });
    }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (/^\s*#/.test(line) || !NAMES_VAR.test(line)) continue;
      const where = { file: `/${file}`, line: i + 1 };
      const m = ASSIGNMENT.exec(line);
      const read = !m ? { problem: 'it is not a plain assignment' } : m[1] === '+' ? { problem: "`+=` is bash's, and grub-mkconfig reads these files with /bin/sh" } : shellWord(m[2]!, value);
      if ('problem' in read) {
        return fail({
          reason: 'tree-config',
          ...where,
          message: `cannot read ${VAR} here: ${read.problem}`,
          hint: HINT,
        });
      }
      value = read.value;
    }
  }
  return ok(value.trim());
}

const UNCLOSED = { problem: 'a quote is not closed on this line' };
const OTHER_VARIABLE = { problem: `it expands something other than $${VAR}` };
const COMMAND = { problem: 'it runs a command' };
const SELF = new RegExp(`^\\$(?:${VAR}(?![A-Za-z0-9_])|\\{${VAR}\\})`);

/** One shell word (quotes, escapes, $GRUB_CMDLINE_LINUX as `current`), then nothing but a comment. */
function shellWord(text: string, current: string): { value: string } | { problem: string } {
  let value = '';
  let i = 0;
  /** One character, escape or expansion outside single quotes (inside double quotes only \" \\ \$ \` escape). */
  const take = (quoted: boolean): { problem: string } | null => {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length && (!quoted || '"\\$`'.includes(text[i + 1]!))) {
      value += text[i + 1];
      i += 2;
    } else if (c === '$') {
      const m = SELF.exec(text.slice(i));
      if (!m) return OTHER_VARIABLE;
      value += current;
      i += m[0].length;
    } else if (c === '`' || (!quoted && '()&|<>'.includes(c))) {
      return COMMAND;
    } else {
      value += c;
      i++;
    }
    return null;
  };
  while (i < text.length && !/[\s;]/.test(text[i]!)) {
    if (text[i] === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return UNCLOSED;
      value += text.slice(i + 1, end);
      i = end + 1;
    } else if (text[i] === '"') {
      for (i++; text[i] !== '"'; ) {
        if (i >= text.length) return UNCLOSED;
        const problem = take(true);
        if (problem) return problem;
      }
      i++;
    } else {
      const problem = take(false);
      if (problem) return problem;
    }
  }
  if (!/^\s*;?\s*(#.*)?$/.test(text.slice(i))) return { problem: 'something follows the value' };
  return { value };
}
