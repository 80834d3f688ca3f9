// Two runners and one registry, measured: runner A builds an image cold and
// pushes its cache entries to Debian's docker-registry (started here on
// 127.0.0.1); runner B starts with an empty cache, pulls, and builds the same
// image. Prints a Markdown table (times, bytes pushed/pulled) for
// bench/RESULTS.md. Uses the compiled CLI: run `npx tsc -p tsconfig.json`
// first. Needs root (builds) and the network (the cold build's bootstrap).
//
//   node bench/remote-cache.mjs            # image "base", -t tar
//   BENCH_IMAGE=overcloud-compute node bench/remote-cache.mjs
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/imgfactory.js', import.meta.url));
const image = process.env.BENCH_IMAGE ?? 'base';
const work = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'imgfactory-bench-remote-'));

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
await mkdir(path.join(work, 'registry'));
await writeFile(
  path.join(work, 'registry.yml'),
  `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(8).toString('hex')}\n`,
);
// docker-registry runs from the test tools tree (`scripts/test-tools setup` makes it).
const TEST_TOOLS = fileURLToPath(new URL('../scripts/test-tools', import.meta.url));
const registry = execa(TEST_TOOLS, ['run', '--bind', work, '--', 'docker-registry', 'serve', path.join(work, 'registry.yml')], { reject: false });
const ref = `registry://127.0.0.1:${port}/bench/cache`;

async function cli(args) {
  const t0 = performance.now();
  const r = await execa('node', [BIN, ...args], { reject: false, env: { CI: 'true' } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(`imgfactory ${args.join(' ')} failed:\n${r.stderr}`);
  return { seconds, json: r.stdout ? JSON.parse(r.stdout) : null };
}

const runner = (name) => ({
  cache: path.join(work, name, 'cache'),
  build: ['build', image, '-t', 'tar', '--json', '--cache-dir', path.join(work, name, 'cache'), '--build-dir', path.join(work, name, 'build'), '-o', path.join(work, name, 'out')],
  out: path.join(work, name, 'out', `${image}.tar`),
});
const sha = async (file) => createHash('sha256').update(await readFile(file)).digest('hex');

try {
  await new Promise((r) => setTimeout(r, 500));
  const a = runner('a');
  const b = runner('b');
  const cold = await cli(a.build);
  const push = await cli(['cache', 'push', image, ref, '--cache-dir', a.cache, '--insecure-registry', '--json']);
  const pushAgain = await cli(['cache', 'push', image, ref, '--cache-dir', a.cache, '--insecure-registry', '--json']);
  const pull = await cli(['cache', 'pull', image, ref, '--cache-dir', b.cache, '--insecure-registry', '--json']);
  const warm = await cli(b.build);
  const built = warm.json.steps.filter((s) => s.status !== 'cached').length;
  const same = (await sha(a.out)) === (await sha(b.out));
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  const rows = [
    ['cold build, runner A (empty cache)', `${cold.seconds.toFixed(1)} s`, `${cold.json.steps.length} steps built`],
    ['`cache push` to the registry', `${push.seconds.toFixed(1)} s`, `${push.json.blobsPushed} blobs, ${mb(push.json.bytesPushed)} pushed`],
    ['`cache push` again', `${pushAgain.seconds.toFixed(1)} s`, `${pushAgain.json.blobsPushed} blobs uploaded, ${pushAgain.json.blobsSkipped} already there`],
    ['`cache pull`, runner B (empty cache)', `${pull.seconds.toFixed(1)} s`, `${pull.json.fetched} entries, ${mb(pull.json.bytesPulled)} pulled`],
    ['build, runner B', `${warm.seconds.toFixed(1)} s`, `${built} steps built, output ${same ? 'byte-identical' : 'DIFFERENT'}`],
    ['runner B total (pull + build)', `${(pull.seconds + warm.seconds).toFixed(1)} s`, ''],
  ];
  console.log(`Image \`${image}\` (-t tar), Debian's docker-registry 2.8 on 127.0.0.1, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log('| what | time | |\n| --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  registry.kill('SIGTERM');
  await registry;
  await rm(work, { recursive: true, force: true });
}
