// `imgfactory boot <manifest|image> [--metadata file.json] [--forward ...]`:
// boots an image as a node that configures itself from the metadata, with
// the node's ports on the host's loopback, and keeps it running until
// Ctrl-C (or --timeout, or the console showing --expect). Editing the
// metadata file while it runs hands the node the new metadata. The image
// file is never changed (qemu's -snapshot). What the node does with the
// metadata: README ("Booting an image with your own metadata"), docs/booting.md.
import type { Argv, CommandModule } from 'yargs';
import { bootNode } from '../boot/boot-node.js';
import { BOOT_FIRMWARES, type BootFirmware } from '../boot/firmware.js';
import type { Accel } from '../boot/qemu-boot.js';
import { FailureError } from '../failure.js';
import { catchInterrupts } from '../process/interrupt.js';
import { parseForwards } from './forward-arg.js';
import type { Handler } from './main.js';

/** Seconds a boot with --expect may take by default; without --expect there is no limit. */
export const DEFAULT_EXPECT_TIMEOUT_S = 1800;

interface BootArgs {
  target: string;
  metadata?: string;
  forward: string[];
  memory: number;
  cpus: number;
  disk: number;
  hostname?: string;
  expect?: string;
  timeout?: number;
  console: boolean;
  firmware?: BootFirmware;
  format?: string;
  accel?: Accel;
  qemu?: string;
  firmwareDir?: string;
  json?: boolean;
}

export function bootCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, BootArgs> {
  return {
    command: 'boot <target>',
    describe: 'boot an image as a node configured by your metadata (os-collect-config), with its ports forwarded to the host; runs until Ctrl-C',
    builder: (y: Argv) =>
      y
        .positional('target', { type: 'string', describe: 'an <image>.manifest.json, or a disk image file (.qcow2, .raw, ...)' })
        .option('metadata', { type: 'string', describe: 'the node\'s metadata (JSON object, docs/metadata.md): on a config drive at boot and served to the running node; edit the file to change it' })
        .option('forward', { type: 'string', array: true, default: [], describe: '[HOST_PORT:]GUEST_PORT: forward 127.0.0.1:HOST_PORT to the node (repeatable)' })
        .option('memory', { type: 'number', default: 4096, describe: 'guest memory in MiB' })
        .option('cpus', { type: 'number', default: 2, describe: 'guest CPUs' })
        .option('disk', { type: 'number', default: 20, describe: 'the node\'s disk in GiB, as a flavor gives it (at least the image\'s size; 0: the image\'s size): cloud-init grows the root filesystem into it at first boot; writes stay out of the image' })
        .option('hostname', { type: 'string', describe: 'the node\'s name (default: the image\'s file name)' })
        .option('expect', { type: 'string', describe: 'stop (exit 0) once the console shows this regular expression; exit 1 if it does not in --timeout' })
        .option('timeout', { type: 'number', describe: `seconds to run (default: until Ctrl-C; ${DEFAULT_EXPECT_TIMEOUT_S} with --expect)` })
        .option('console', { type: 'boolean', default: false, describe: 'copy the node\'s serial console to stdout' })
        .option('firmware', { choices: BOOT_FIRMWARES, describe: 'bios, uefi or secure-boot; default: what the manifest\'s layout needs, bios for a bare image' })
        .option('format', { type: 'string', describe: 'which of the manifest\'s outputs to boot (default qcow2, else the first disk output)' })
        .option('accel', { choices: ['kvm', 'tcg'], describe: 'default: KVM when /dev/kvm works, else TCG' })
        .option('qemu', { type: 'string', describe: 'the qemu program (default qemu-system-x86_64)' })
        .option('firmware-dir', { type: 'string', describe: 'where OVMF\'s files are (default /usr/share/OVMF)' })
        .option('json', { type: 'boolean', describe: 'print JSON on stdout at the end' }) as never,
    handler: run<BootArgs>(async (a, out) => {
      for (const [name, v] of [['--memory', a.memory], ['--cpus', a.cpus]] as const) {
        if (!(Number.isInteger(v) && v > 0)) throw new FailureError({ reason: 'usage', message: `${name} must be a positive whole number, got ${v}` });
      }
      if (!(Number.isInteger(a.disk) && a.disk >= 0)) throw new FailureError({ reason: 'usage', message: `--disk must be a whole number of GiB (0: the image's size), got ${a.disk}` });
      if (a.timeout !== undefined && !(a.timeout > 0)) throw new FailureError({ reason: 'usage', message: `--timeout must be a positive number of seconds, got ${a.timeout}` });
      const forwards = parseForwards(a.forward);
      const timeoutSeconds = a.timeout ?? (a.expect !== undefined ? DEFAULT_EXPECT_TIMEOUT_S : Infinity);
      const release = catchInterrupts();
      const r = await bootNode({
        target: a.target,
        forwards,
        memoryMiB: a.memory,
        cpus: a.cpus,
        diskGiB: a.disk,
        timeoutSeconds,
        hostname: a.hostname ?? defaultHostname(a.target),
        ...(a.metadata !== undefined ? { metadata: a.metadata } : {}),
        ...(a.expect !== undefined ? { expect: a.expect } : {}),
        ...(a.firmware ? { firmware: a.firmware } : {}),
        ...(a.format ? { format: a.format } : {}),
        ...(a.accel ? { accel: a.accel } : {}),
        ...(a.qemu ? { qemu: a.qemu } : {}),
        ...(a.firmwareDir ? { firmwareDir: a.firmwareDir } : {}),
        onLog: (line) => out.info(line),
        ...(a.console ? { onConsole: (text: string) => void process.stdout.write(text) } : {}),
        onStarting: (s) => {
          out.info(`booting ${s.image} (${s.firmware}, ${a.memory} MiB, ${a.cpus} CPUs)${timeoutSeconds === Infinity ? '; Ctrl-C stops it' : ` for at most ${timeoutSeconds} s`}`);
          if (s.metadata) out.info(`metadata: ${s.metadata.file}, served at ${s.metadata.hostUrl} (the node polls ${s.metadata.guestUrl}); edit the file to change the node`);
          else out.info('metadata: none (--metadata file.json hands the node its configuration)');
          for (const f of forwards) out.info(`forward: 127.0.0.1:${f.host} -> node:${f.guest}`);
        },
      }).finally(release);
      if (!r.ok) throw new FailureError(r.error);
      const t = r.value;
      if (a.json) out.json({ image: t.image, firmware: t.firmware, accel: t.outcome.accel, seconds: t.outcome.seconds, ended: t.outcome.ended });
      else out.info(`${t.image}: ${t.outcome.ended === 'shown' ? `console showed /${a.expect}/` : 'ran its time'} after ${t.outcome.seconds} s (${t.outcome.accel})`);
      return 0;
    }),
  };
}

/** `overcloud-control` for `out/overcloud-control.qcow2` or `out/overcloud-control.manifest.json`. */
function defaultHostname(target: string): string {
  const base = target.split('/').pop()!.replace(/\.manifest\.json$|\.[^.]+$/, '');
  return base.replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'imgfactory-node';
}
