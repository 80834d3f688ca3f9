// Paths of the tiny fixture elements under test/fixtures/, and a loader for an
// element index over them.
import { fileURLToPath } from 'node:url';
import { indexElements, type ElementIndex } from '../../src/elements/element-index.js';
import { unwrap } from '../../src/failure.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));
export const GOOD = `${FIXTURES}/elements/good`;
export const BAD = `${FIXTURES}/elements/bad`;
export const OVERRIDE = `${FIXTURES}/elements/override`;

export async function fixtureIndex(...dirs: string[]): Promise<ElementIndex> {
  return unwrap(await indexElements(dirs));
}
