// The CLI's words for failures that carry numbers: they read as a sentence,
// with sizes a person can take in.
import { describe, expect, it } from 'vitest';
import { renderFailure } from '../../../src/cli/render-failure.js';
import { exitCodeOf } from '../../../src/failure.js';
import { WEB_DOWNLOAD_STEP } from '../../../src/glance/images.js';

describe('renderFailure', () => {
  it('says what does not fit, how much is needed and how much there is', () => {
    const r = renderFailure({ reason: 'image-too-small', what: 'efi: the fixed-size partitions do not fit on a 1 GiB disk', needed: 1_288_490_189, available: 1_073_741_824 });
    expect(r.message).toBe('efi: the fixed-size partitions do not fit on a 1 GiB disk: 1.2 GiB needed, 1.0 GiB available (1288490189 and 1073741824 bytes)');
    expect(r.hint).toBe('raise --image-size or --image-extra-size');
  });

  it("names the tree's file and line it cannot read, and is the user's to fix (exit 2)", () => {
    const f = { reason: 'tree-config' as const, file: '/etc/default/grub.d/50-site.cfg', line: 3, message: 'cannot read GRUB_CMDLINE_LINUX here: it runs a command', hint: 'assign it plainly' };
    expect(renderFailure(f).message).toBe("/etc/default/grub.d/50-site.cfg, line 3, in the image's root tree: cannot read GRUB_CMDLINE_LINUX here: it runs a command");
    expect(exitCodeOf(f)).toBe(exitCodeOf({ reason: 'tree-missing', what: 'x', hint: 'y' }));
  });

  it('says which filesystem is full, what the build keeps there, what it was doing and what it needed', () => {
    const r = renderFailure({ reason: 'no-space', mountPoint: '/srv/small', role: 'cache', free: 12_288, during: 'storing the layer of a/install.d/10-a', needed: 104_857_600 });
    expect(r.message).toBe('no space left on /srv/small (the cache, 12.0 KiB free) while storing the layer of a/install.d/10-a; needed about 100 MiB');
    expect(r.hint).toMatch(/--cache-dir/);
  });

  it('says what an interruption stopped, and its exit code is the signal\'s', () => {
    const f = { reason: 'interrupted' as const, signal: 'SIGINT', during: 'assembling the disk image' };
    expect(renderFailure(f).message).toBe('interrupted by SIGINT while assembling the disk image; its processes, mounts and temporary files were cleaned up');
    expect(exitCodeOf(f)).toBe(130);
    expect(exitCodeOf({ ...f, signal: 'SIGTERM' })).toBe(143);
  });

  it('names the archive URL it could not read and offers the offline mode; a build failure', () => {
    const f = { reason: 'archive-unreachable' as const, url: 'http://deb.debian.org/debian/dists/bookworm/InRelease', message: 'ENOTFOUND' };
    expect(renderFailure(f).message).toBe("cannot read the archive's state from http://deb.debian.org/debian/dists/bookworm/InRelease: ENOTFOUND");
    expect(renderFailure(f).hint).toMatch(/--archive-state cached/);
    expect(exitCodeOf(f)).toBe(1);
  });

  it('says which step installed from which other state of the archive, with a hint for a live and for a pinned state; a build failure', () => {
    const f = { reason: 'archive-moved' as const, step: 'base', from: 'file' as const, suites: [{ suite: 'bookworm', keyed: 'Sat, 11 Jul 2026 10:16:37 UTC', found: 'Sun, 12 Jul 2026 08:00:00 UTC' }] };
    expect(renderFailure(f).message).toBe('base installed from another state of the archive than its key holds; its layer was not stored');
    expect(renderFailure(f).details).toEqual(['bookworm: keyed with the state of Sat, 11 Jul 2026 10:16:37 UTC, the mirror served the state of Sun, 12 Jul 2026 08:00:00 UTC']);
    expect(renderFailure(f).hint).toMatch(/--archive-state live.*--snapshot/);
    expect(renderFailure({ ...f, from: 'archive' }).hint).toMatch(/published while this build ran: build again/);
    expect(exitCodeOf(f)).toBe(1);
  });

  it('says which clouds a publish failed in, each with its own reason, and which it reached; a publish failure', () => {
    const f = {
      reason: 'clouds-incomplete' as const,
      action: 'publish' as const,
      failed: [{ cloud: 'ceph', failure: { reason: 'publish-failed' as const, step: 'uploading the image data', status: 413, message: 'quota', leftBehind: 'image 42' } }],
      succeeded: ['east', 'west'],
    };
    const r = renderFailure(f);
    expect(r.message).toBe('publish failed in 1 of 3 clouds (ceph); done in east, west');
    expect(r.details).toEqual(['  ceph: publish failed at uploading the image data (HTTP 413): quota', '    left behind: image 42']);
    expect(exitCodeOf(f)).toBe(4);
  });

  it('says why Glance refused a web-download URL and what to do; refuses a URL that does not serve the output before any cloud, a usage failure', () => {
    const refused = renderFailure({ reason: 'publish-failed', step: WEB_DOWNLOAD_STEP, status: 400, message: 'URI for web-download does not pass filtering: http://10.0.0.1:8080/x.qcow2' });
    expect(refused.hint).toMatch(/import_filtering_opts.*without --image-url/);
    const f = { reason: 'image-url-refused' as const, url: 'https://rel/x.qcow2', output: 'x.qcow2', problem: 'it answers HTTP 404' };
    expect(renderFailure(f).message).toBe('--image-url https://rel/x.qcow2 does not serve x.qcow2: it answers HTTP 404; nothing was published and nothing was created in any cloud');
    expect(exitCodeOf(f)).toBe(2);
  });

    it('says where a boot stopped: the firmware, the time, the console\'s last lines; a build failure (exit 1)', () => {
    const f = {
      reason: 'boot-failed' as const,
      image: 'out/x.qcow2',
      firmware: 'secure-boot',
      accel: 'tcg',
      seconds: 300,
      timeoutSeconds: 300,
      ended: 'timeout' as const,
      expected: 'a login prompt',
      consoleTail: ['BdsDxe: failed to load Boot0002 "UEFI Misc Device": Access Denied'],
    };
    const r = renderFailure(f);
    expect(r.message).toBe('out/x.qcow2 did not boot to a login prompt (secure-boot, tcg): nothing within 300 s');
    expect(r.details).toEqual(["the console's last lines:", '  | BdsDxe: failed to load Boot0002 "UEFI Misc Device": Access Denied']);
    expect(exitCodeOf(f)).toBe(1);
    expect(renderFailure({ ...f, ended: 'qemu-exited', seconds: 42 }).message).toMatch(/: qemu ended after 42 s$/);
  });

  it('refuses to publish an untested manifest, saying nothing was uploaded; a publish failure (exit 4)', () => {
    const f = { reason: 'test-not-passed' as const, manifest: 'out/x.manifest.json', message: 'no test addendum (x.manifest.test.json)', hint: 'run `imgfactory test out/x.manifest.json` first' };
    expect(renderFailure(f)).toEqual({ message: 'refusing to publish out/x.manifest.json: no test addendum (x.manifest.test.json)', details: ['nothing was uploaded'], hint: f.hint });
    expect(exitCodeOf(f)).toBe(4);
  });
});
