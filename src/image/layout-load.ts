// Finds and reads a block-device layout: a built-in one by name (`mbr`, `gpt`,
// `efi`, the YAML files in src/image/layouts/) or any YAML/JSON file by path,
// in imgfactory's form or diskimage-builder's.
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fail, type Result } from '../failure.js';
import type { Layout } from './layout.js';
import { parseLayout } from './layout-parse.js';
import { dibConfigLayout, isDibConfig } from './dib-block-device.js';

/**
 * The built-in layouts. This module lives in src/image/ (tests) or
 * dist/image/ (built), both two levels below the package root, so the data
 * files are found at <root>/src/image/layouts either way.
 */
export const BUILTIN_LAYOUT_DIR = fileURLToPath(new URL('../../src/image/layouts/', import.meta.url));

/** Names of the built-in layouts, sorted. */
export async function builtinLayouts(): Promise<string[]> {
  const files = await readdir(BUILTIN_LAYOUT_DIR);
  return files.filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

/**
 * Loads a layout: `nameOrPath` is a built-in name (no slash, no extension) or a
 * path to a .yaml/.yml/.json file. Parse and validation errors come back as a
 * 'bad-layout' failure naming the file (and the partition, when there is one).
 */
export async function loadLayout(nameOrPath: string): Promise<Result<Layout>> {
  const builtin = /^[a-z0-9][a-z0-9-]*$/.test(nameOrPath);
  const file = builtin ? path.join(BUILTIN_LAYOUT_DIR, `${nameOrPath}.yaml`) : path.resolve(nameOrPath);
  const source = builtin ? `builtin:${nameOrPath}` : file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const known = builtin ? ` (built-in layouts: ${(await builtinLayouts()).join(', ')})` : '';
    return fail({ reason: 'bad-layout', file: source, message: `cannot read layout: ${(e as Error).message}${known}` });
  }
  return parseLayoutText(text, source);
}

/**
 * Parses layout text (YAML, of which JSON is a subset) read from `source`:
 * an imgfactory layout (a mapping), or diskimage-builder's block-device
 * config (a list of nodes; dib-block-device.ts).
 */
export function parseLayoutText(text: string, source: string): Result<Layout> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    return fail({ reason: 'bad-layout', file: source, message: `not valid YAML/JSON: ${(e as Error).message}` });
  }
  return isDibConfig(doc) ? dibConfigLayout(doc, source) : parseLayout(doc, source);
}
