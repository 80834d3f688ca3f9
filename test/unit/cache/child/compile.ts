// Child processes in the cache tests are plain node: they cannot load our
// TypeScript. This transpiles src/failure.ts, src/{cache,process,util}/*.ts (no type
// check, imports already end in .js) into a scratch dir once per test file,
// with a node_modules link so their imports of ssri etc. resolve.
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { scratchDir } from '../../../support/run-dir.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Directory holding failure.js, cache/*.js, process/*.js and util/*.js, compiled from the current sources. */
export async function compiledSources(): Promise<string> {
  const out = await scratchDir('compiled-src');
  await symlink(path.join(repo, 'node_modules'), path.join(out, 'node_modules'));
  const files = ['failure.ts'];
  for (const dir of ['cache', 'process', 'util']) {
    await mkdir(path.join(out, dir));
    files.push(...(await readdir(path.join(repo, 'src', dir))).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`));
  }
  for (const rel of files) {
    const source = await readFile(path.join(repo, 'src', rel), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: rel,
    });
    await writeFile(path.join(out, rel.replace(/\.ts$/, '.js')), outputText);
  }
  return out;
}

/** Path of the worker script the tests spawn. */
export const workerScript = path.join(repo, 'test/unit/cache/child/store-worker.mjs');
