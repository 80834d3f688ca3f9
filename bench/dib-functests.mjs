// diskimage-builder's own functional tests for Debian, run by imgfactory as
// DIB's tests/run_functests.sh runs them with disk-image-create: for each
// `<element>/test-elements/<test>`, a build of `<element> <test>` with
// `<element>/test-elements` on the element path ahead of DIB's elements,
// writing tar (and qcow2 for a test with vm); it passes when the files are
// there and the tar holds no `tmp/dib-test-should-fail`. Each test is one cold build (they
// share no layers: each test element's environment.d is in every key), so
// the set takes a quarter of an hour and is not part of the CI suite.
// Writes bench/results/dib-functests.json and prints one line per test.
//
//   node bench/dib-functests.mjs [--tests debian-minimal/stable-vm,...] [--work DIR]
//
// The caller's DIB_* variables reach every build, as DIB's do: where the
// archive's stable-updates, -backports and -security Release files are past
// their Valid-Until (apt refuses them, under DIB as here), give
//   DIB_APT_SOURCES_CONF="default:deb http://deb.debian.org/debian stable main"
//
// Differences from run_functests.sh, each for a reason:
// - DIB_RELEASE: DIB leaves it unset, so debian-minimal's environment.d
//   (10-debian-minimal.bash, sourced before the test's 10-set-distro.bash)
//   computes its apt sources from its own default, `stable`, the release the
//   test then sets. imgfactory presets DIB_RELEASE from its distro (bookworm),
//   so those sources would say bookworm while debootstrap makes `stable`. The
//   release the test element's environment.d exports is declared instead,
//   which is what DIB's unset default amounts to.
// - qcow2 only for a test with `vm`: DIB writes a qcow2 of any image (without
//   vm, a filesystem on the whole disk, no partition table, no boot loader; a
//   missing qcow2 is only echoed by run_functests.sh), imgfactory's disks
//   have a partition table and a boot loader, which needs vm's kernel and GRUB.
// - debian-minimal/testing-build-succeeds is in DIB's DEFAULT_SKIP_TESTS;
//   it runs here only when named with --tests.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIB_ELEMENTS = '/usr/lib/python3/dist-packages/diskimage_builder/elements';
const DEFAULT_TESTS = ['debian-minimal/stable-build-succeeds', 'debian-minimal/stable-vm', 'debian/build-succeeds'];
const { values: opt } = parseArgs({
  options: {
    tests: { type: 'string', default: DEFAULT_TESTS.join(',') },
    work: { type: 'string', default: '/var/tmp/imgfactory-bench-functests' },
  },
});

const results = [];
for (const test of opt.tests.split(',').filter(Boolean)) {
  const [element, testElement] = test.split('/');
  const dir = path.join(opt.work, test.replace('/', '-'));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const testDir = path.join(DIB_ELEMENTS, element, 'test-elements', testElement);
  const withVm = (await readFile(path.join(testDir, 'element-deps'), 'utf8').catch(() => '')).split('\n').includes('vm');
  const release = await exportedRelease(testDir);
  // --no-base: run_functests.sh's -n (base only where a test names it, as debian/build-succeeds does).
  const args = ['build', element, testElement, '--no-base', '-n', 'image', '-t', withVm ? 'tar,qcow2' : 'tar', '--elements-path', `${DIB_ELEMENTS}/${element}/test-elements:${DIB_ELEMENTS}`, '--cache-dir', path.join(dir, 'cache'), '--build-dir', path.join(dir, 'build'), '-o', path.join(dir, 'out')];
  const started = Date.now();
  const r = await execa(process.execPath, [path.join(root, 'bin/imgfactory.js'), ...args], { reject: false, all: true, env: release ? { DIB_RELEASE: release } : {} });
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  await writeFile(path.join(dir, 'build.log'), r.all ?? '');
  const verdict = await judge(r.exitCode, path.join(dir, 'out'), withVm);
  results.push({ test, ...verdict, seconds, types: withVm ? 'tar,qcow2' : 'tar', release, exitCode: r.exitCode, log: path.join(dir, 'build.log') });
  console.log(`${verdict.pass ? 'PASS' : 'FAIL'} ${test} (${seconds} s)${verdict.why ? `: ${verdict.why}` : ''}`);
  // Keep the log; the images and caches are large.
  await rm(path.join(dir, 'cache'), { recursive: true, force: true });
  await rm(path.join(dir, 'build'), { recursive: true, force: true });
}
await mkdir(path.join(root, 'bench/results'), { recursive: true });
await writeFile(path.join(root, 'bench/results/dib-functests.json'), `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
process.exitCode = results.every((r) => r.pass) ? 0 : 1;

/** run_functests.sh's verdict: built, both files there, and no sentinel file in the tar. */
async function judge(exitCode, out, withVm) {
  if (exitCode !== 0) return { pass: false, why: `imgfactory exited ${exitCode}` };
  for (const f of withVm ? ['image.tar', 'image.qcow2'] : ['image.tar']) {
    if (!(await readFile(path.join(out, `${f}.sha256`), 'utf8').catch(() => null))) return { pass: false, why: `no ${f}` };
  }
  const members = (await execa('tar', ['-tf', path.join(out, 'image.tar')])).stdout.split('\n');
  if (members.some((m) => m.endsWith('tmp/dib-test-should-fail'))) return { pass: false, why: 'the tar holds tmp/dib-test-should-fail' };
  return { pass: true };
}

/** The DIB_RELEASE a test element's environment.d exports (`export DIB_RELEASE="stable"`), or null. */
async function exportedRelease(testDir) {
  const dir = path.join(testDir, 'environment.d');
  const files = await readdir(dir).catch(() => []);
  for (const f of files.sort()) {
    const m = /^export DIB_RELEASE="?([a-z]+)"?$/m.exec(await readFile(path.join(dir, f), 'utf8'));
    if (m) return m[1];
  }
  return null;
}
