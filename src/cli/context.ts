// What most commands start from: the element index on the search path and
// the chosen distribution, with warnings reported once.
import { loadDistro, DEFAULT_DISTRO } from '../distro/load-distro.js';
import type { Distro } from '../distro/distro.js';
import { indexElements, type ElementIndex } from '../elements/element-index.js';
import { elementSearchPath } from '../elements/search-path.js';
import { unwrap } from '../failure.js';
import type { Output } from './output.js';

export interface CommonArgs {
  elementsPath?: string;
  distro?: string;
  debug?: boolean;
  json?: boolean;
}

export interface Context {
  index: ElementIndex;
  distro: Distro;
}

export async function loadContext(args: CommonArgs, out: Output): Promise<Context> {
  const index = unwrap(await indexElements(elementSearchPath(args.elementsPath)));
  for (const w of index.warnings) out.warn(`${w.element === '-' ? '' : `${w.element}: `}${w.file}: ${w.message}`);
  const distro = unwrap(await loadDistro(args.distro ?? process.env.IMGFACTORY_DISTRO ?? DEFAULT_DISTRO));
  return { index, distro };
}
