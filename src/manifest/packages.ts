// The packages installed in a final root tree, read from its dpkg database
// with the host's dpkg-query (`--admindir`), so nothing runs inside the tree.
// Only fully installed packages count ("ii"); sorted by name, then arch.
import { compareCodeUnits } from '../cache/canonical-json.js';
import { fail, ok, type Result } from '../failure.js';
import { run } from '../process/run.js';
import type { ManifestPackage } from './manifest.js';

const FORMAT = '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n';

export async function installedPackages(tree: string): Promise<Result<ManifestPackage[]>> {
  const r = await run('dpkg-query', [`--admindir=${tree}/var/lib/dpkg`, '-W', `-f=${FORMAT}`]);
  if (!r.ok) return r;
  return parseDpkgQuery(r.value.stdout, tree);
}

/** Parses the lines printed with FORMAT; exported for tests. */
export function parseDpkgQuery(text: string, tree = '(tree)'): Result<ManifestPackage[]> {
  const out: ManifestPackage[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [name, version, arch, status] = line.split('\t');
    if (name === undefined || version === undefined || arch === undefined || status === undefined) {
      return fail({ reason: 'io', what: `reading the dpkg database of ${tree}`, message: `unexpected dpkg-query line: ${JSON.stringify(line)}` });
    }
    if (status.trim() !== 'ii') continue;
    out.push({ name, version, arch });
  }
  out.sort((a, b) => compareCodeUnits(a.name, b.name) || compareCodeUnits(a.arch, b.arch));
  return ok(out);
}
