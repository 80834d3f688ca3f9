// The element search path: `--elements-path a:b`, else IMGFACTORY_ELEMENTS_PATH,
// else ELEMENTS_PATH (as diskimage-builder users set it), then always the
// built-in elements/ directory last. An element found in an earlier entry
// overrides one of the same name in a later entry (with a warning).
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const BUILTIN_ELEMENTS = fileURLToPath(new URL('../../elements', import.meta.url));

export function elementSearchPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const given = flag ?? env.IMGFACTORY_ELEMENTS_PATH ?? env.ELEMENTS_PATH ?? '';
  const entries = given
    .split(':')
    .filter((e) => e !== '')
    .map((e) => path.resolve(e));
  if (!entries.includes(BUILTIN_ELEMENTS)) entries.push(BUILTIN_ELEMENTS);
  return entries;
}
