// Turns every Failure into the one clear message a user sees: what went
// wrong, where (element, file, line), and what to do. One switch, so the
// compiler notices a reason nobody renders.
import { WEB_DOWNLOAD_STEP } from '../glance/images.js';
import { formatBytes } from '../util/format.js';
import { unreachable, type Failure, type Location, type SpaceRole } from '../failure.js';

export interface Rendered {
  message: string;
  details: string[];
  hint?: string;
}

export function where(at: Location): string {
  const file = at.file ? (at.line ? `${at.file}:${at.line}` : at.file) : '';
  return [at.element ? `element "${at.element}"` : '', file].filter(Boolean).join(', ');
}

/** Where each place a build writes to is chosen, for the hint of a full disk. */
const SPACE_OPTION: Record<SpaceRole, string> = {
  'build directory': 'point --build-dir (IMGFACTORY_BUILD_DIR) at a larger filesystem',
  'in-memory scratch': 'build on disk with --scratch disk',
  cache: 'point --cache-dir (IMGFACTORY_CACHE) at a larger filesystem, or run `imgfactory cache gc`',
  'output directory': 'point -o at a larger filesystem',
};

export function renderFailure(f: Failure): Rendered {
  switch (f.reason) {
    case 'usage':
      return { message: f.message, details: [], ...(f.hint ? { hint: f.hint } : {}) };
    case 'not-implemented':
      return { message: `${f.what} is not implemented yet (tracked in ${f.issue})`, details: [] };
    case 'element-not-found':
      return {
        message: `element "${f.name}" not found${f.requiredBy ? ` (required by "${f.requiredBy}")` : ''}`,
        details: [`searched: ${f.searchPath.join(':')}`],
        hint: f.nearMisses.length
          ? `did you mean ${f.nearMisses.map((n) => `"${n}"`).join(', ')}?`
          : 'add the directory holding it with --elements-path (or ELEMENTS_PATH)',
      };
    case 'duplicate-provides':
      return {
        message: `"${f.name}" is provided by both "${f.providers[0]}" and "${f.providers[1]}"`,
        details: [],
        hint: 'an image may hold only one provider of a name: drop one of the two elements',
      };
    case 'requested-is-provided':
      return {
        message: `element "${f.name}" is also provided by "${f.provider}"`,
        details: [],
        hint: `ask for either "${f.name}" or "${f.provider}", not both`,
      };
    case 'no-operating-system':
      return {
        message: 'nothing provides "operating-system"',
        details: [],
        hint: 'choose a distribution with --distro (see `ls distros/`)',
      };
    case 'self-dependency':
      return { message: `element "${f.element}" depends on itself`, details: [`at ${f.file}`], hint: 'remove that line' };
    case 'malformed-element':
      return { message: `${where(f.at)}: ${f.message}`, details: [] };
    case 'bad-distro':
      return {
        message: `distribution "${f.distro}"${f.file ? ` (${f.file})` : ''}: ${f.message}`,
        details: [],
        ...(f.known ? { hint: `known distributions: ${f.known.join(', ')}` } : {}),
      };
    case 'duplicate-hook':
      return {
        message: `${f.phase}/${f.script} is shipped by both "${f.elements[0]}" and "${f.elements[1]}"`,
        details: [],
        hint: 'rename one of the two hooks',
      };
    case 'host-missing':
      return { message: `${f.what} is missing on this host`, details: [], hint: f.hint };
    case 'archive-unreachable':
      return {
        message: `cannot read the archive's state from ${f.url}: ${f.message}`,
        details: ['the keys of the base tree and package steps hold the state of the archive they install from (docs/cache.md)'],
        hint: 'check the mirror (--mirror, --security-mirror, DIB_DISTRIBUTION_MIRROR), or build from what the cache holds without reading the archive: --archive-state cached',
      };
    case 'archive-moved':
      return {
        message: `${f.step} installed from another state of the archive than its key holds; its layer was not stored`,
        details: f.suites.map((s) => `${s.suite}: keyed with the state of ${s.keyed}, the mirror served the state of ${s.found}`),
        hint:
          f.from === 'archive'
            ? 'the archive published while this build ran: build again (the next build reads the new state)'
            : `the archive no longer serves the state ${f.from === 'cache' ? 'this cache recorded' : 'the given file holds'}: build from today's with --archive-state live, or install from the archive as it was then with --snapshot <a time it was in that state> (the same state gives the same keys)`,
      };
    case 'bootstrap-failed':
      return {
        message: `making the ${f.distro} base tree failed (exit ${f.exitCode ?? 'by signal'})`,
        details: [...f.logTail.map((l) => `  | ${l}`), `log: ${f.logPath}`],
      };
    case 'hook-failed':
      return {
        message: `hook ${f.element}/${f.phase}/${f.script} failed (${f.signal ? `killed by ${f.signal}` : `exit ${f.exitCode}`})`,
        details: [...f.logTail.map((l) => `  | ${l}`), `log: ${f.logPath}`],
        ...(f.hint ? { hint: f.hint } : {}),
      };
    case 'secret-in-layer':
      return {
        message: `hook ${f.element}/${f.phase}/${f.script} wrote the secret ${f.secrets.join(', ')} into the tree; its layer was neither stored nor used`,
        details: [],
        hint: 'a hook may read a secret but must not copy it (or anything made from it) into the image: see "Secrets" in docs/hooks.md',
      };
    case 'host-unreachable':
      return {
        message: `hook ${f.element}/${f.phase}/${f.script} needs ${f.url ?? f.host}, and this build environment cannot reach ${f.host}`,
        details: [`  | ${f.line}`, `  ${f.host} port ${f.port} does not answer from here either`, `log: ${f.logPath}`],
        hint: `build where ${f.host} is reachable, point the element at a mirror this machine reaches (source-repositories: DIB_REPOLOCATION_<name>, DIB_GITREPOBASE), or leave "${f.element}" out`,
      };
    case 'unknown-package':
      return {
        message: `${f.phase}: no such package in the archive: ${f.packages.map((p) => `"${p.name}" (element "${p.element}")`).join(', ')}`,
        details: [`log: ${f.logPath}`],
        hint: "check the name in the element's package-installs.yaml (or its pkg-map)",
      };
    case 'interrupted':
      return { message: `interrupted by ${f.signal}${f.during ? ` while ${f.during}` : ''}; its processes, mounts and temporary files were cleaned up`, details: [] };
    case 'no-space':
      return {
        message: `no space left on ${f.mountPoint} (the ${f.role}, ${formatBytes(f.free)} free) while ${f.during}${f.needed ? `; needed about ${formatBytes(f.needed)}` : ''}`,
        details: [],
        hint: `free space there, or ${SPACE_OPTION[f.role]} (nothing half-written was kept)`,
      };
    case 'integrity':
      return { message: `integrity check failed for ${f.what}`, details: [`expected ${f.expected}`, `found    ${f.found}`] };
    case 'io':
      return { message: `${f.what}: ${f.message}`, details: [] };
    case 'layer-unpackable':
      return { message: `cannot make a layer of ${f.source}: ${f.path}: ${f.message}`, details: [] };
    case 'layer-invalid':
      return { message: `invalid layer entry ${f.entry}: ${f.message}`, details: [], hint: 'the cache entry is removed; build again to rebuild it' };
    case 'bad-layout':
      return { message: `block-device layout ${f.file}${f.partition ? `, partition "${f.partition}"` : ''}: ${f.message}`, details: [] };
    case 'tool-failed':
      return {
        message: `${f.tool} failed (${f.signal ? `killed by ${f.signal}` : `exit ${f.exitCode ?? 'by signal'}`})`,
        details: [`  $ ${f.tool} ${f.args.join(' ')}`, ...f.stderrTail.map((l) => `  | ${l}`)],
      };
    case 'image-too-small':
      return {
        message: `${f.what}: ${formatBytes(f.needed)} needed, ${formatBytes(f.available)} available (${f.needed} and ${f.available} bytes)`,
        details: [],
        hint: 'raise --image-size or --image-extra-size',
      };
    case 'lock-timeout':
      return {
        message: `gave up waiting for ${f.what} after ${Math.round(f.waitedMs / 1000)} s`,
        details: [`held by ${f.holder}`],
        hint: 'another build is still working on it; wait for it, or remove the lock if that process is gone',
      };
    case 'tree-missing':
      return { message: `${f.what} is missing from the image's root tree`, details: [], hint: f.hint };
    case 'tree-config':
      return { message: `${f.file}, line ${f.line}, in the image's root tree: ${f.message}`, details: [], hint: f.hint };
    case 'manifest-invalid':
      return { message: `manifest ${f.file}: ${f.field}: ${f.message}`, details: [], hint: 'see docs/manifest.md for the schema' };
    case 'verify-failed':
      return {
        message: `verification of ${f.manifest} failed: ${f.problems.length} ${f.problems.length === 1 ? 'mismatch' : 'mismatches'}`,
        details: f.problems.map((p) => `  ${p}`),
      };
    case 'not-reproducible':
      return {
        message: `not reproducible: building again from nothing gave other bytes than the build of ${f.manifest}`,
        details: f.differences.map((d) => `  ${d}`),
        hint: 'docs/reproducible.md says what makes a step non-deterministic and how to fix it',
      };
    case 'bad-key':
      return { message: `${f.what}: ${f.message}`, details: [], ...(f.hint ? { hint: f.hint } : {}) };
    case 'cloud-config':
      return { message: `cloud configuration: ${f.message}`, details: [], ...(f.hint ? { hint: f.hint } : {}) };
    case 'signing-incomplete':
      return { message: `${f.given} without ${f.missing}: signing for Glance needs both, so nothing was published and nothing was created in the cloud`, details: [], hint: f.hint };
    case 'image-url-refused':
      return {
        message: `--image-url ${f.url} does not serve ${f.output}: ${f.problem}; nothing was published and nothing was created in any cloud`,
        details: [],
        hint: 'serve the manifest\'s output at that URL ({name} in the URL stands for the output\'s file name), or publish without --image-url to upload the local file',
      };
    case 'publish-failed':
      return {
        message: `publish failed at ${f.step}${f.status ? ` (HTTP ${f.status})` : ''}: ${f.message}`,
        details: f.leftBehind ? [`left behind: ${f.leftBehind}`] : [],
        ...(f.status === 401 ? { hint: 'check the credentials (clouds.yaml / OS_* variables)' } : {}),
        ...(f.status === 403 ? { hint: 'the user lacks the role or quota for this; ask the cloud admin' } : {}),
        ...(f.status === 413 ? { hint: 'the image is larger than the image size quota allows' } : {}),
        ...(f.status === 400 && f.step === WEB_DOWNLOAD_STEP
          ? { hint: "the cloud's Glance does not fetch from this URL (its [import_filtering_opts]: schemes, hosts, ports): serve it where it may, or publish without --image-url" }
          : {}),
      };
    case 'signature-rejected':
      return {
        message: `Glance rejected the image signature of ${f.image}: ${f.message}`,
        details: [f.deleted ? 'the image was deleted' : 'the image could NOT be deleted: remove it by hand'],
        hint: 'sign with the key whose certificate was given, and the hash method and key type it expects',
      };
    case 'clouds-incomplete':
      return {
        message: `${f.action} failed in ${f.failed.length} of ${f.failed.length + f.succeeded.length} clouds (${f.failed.map((x) => x.cloud).join(', ')})${f.succeeded.length ? `; done in ${f.succeeded.join(', ')}` : ''}`,
        details: f.failed.flatMap((x) => {
          const r = renderFailure(x.failure);
          return [`  ${x.cloud}: ${r.message}`, ...r.details.map((d) => `    ${d}`)];
        }),
        hint: 'each cloud that failed was cleaned up, except what "left behind" names; the JSON report (--json, --report) has every cloud',
      };
    case 'boot-failed':
      return {
        message: `${f.image} did not boot to ${f.expected} (${f.firmware}, ${f.accel}): ${f.ended === 'timeout' ? `nothing within ${f.timeoutSeconds} s` : `qemu ended after ${f.seconds} s`}`,
        details: ['the console\'s last lines:', ...f.consoleTail.map((l) => `  | ${l}`), ...(f.consoleLog ? [`whole console: ${f.consoleLog}`] : [])],
        hint: f.ended === 'timeout' ? 'a slow host may need a longer --timeout; otherwise the console shows where the boot stopped' : 'the console shows where the boot stopped',
      };
    case 'test-not-passed':
      return { message: `refusing to publish ${f.manifest}: ${f.message}`, details: ['nothing was uploaded'], ...(f.hint ? { hint: f.hint } : {}) };
    case 'remote-cache':
      return {
        message: `remote cache ${f.ref}: ${f.message}${f.status ? ` (HTTP ${f.status})` : ''}`,
        details: [],
        hint: 'check the registry address, its credentials (~/.docker/config.json, REGISTRY_AUTH_FILE) and --insecure-registry for plain HTTP on loopback',
      };
    default:
      return unreachable(f);
  }
}
