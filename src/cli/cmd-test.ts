// `imgfactory test <manifest|image>`: boots the image under qemu with the
// firmware its layout needs and passes when the serial console shows the
// login prompt (or --expect) within --timeout; for a manifest, records the
// result in the signed test addendum beside it (signed as `build` signs:
// --sign-key, IMGFACTORY_SIGN_KEY or the local key; --no-sign). A failed
// boot exits 1 with the console's last lines.
import type { Argv, CommandModule } from 'yargs';
import { BOOT_FIRMWARES, type BootFirmware } from '../boot/firmware.js';
import type { Accel } from '../boot/qemu-boot.js';
import { testImage } from '../boot/test-image.js';
import { FailureError } from '../failure.js';
import { catchInterrupts } from '../process/interrupt.js';
import type { Handler } from './main.js';
import { signingKeyFor } from './signing-key-arg.js';

/** Seconds a boot may take by default: enough for a Debian image under TCG on a loaded 2-core host. */
export const DEFAULT_TEST_TIMEOUT_S = 300;

interface TestArgs {
  target: string;
  firmware?: BootFirmware;
  timeout: number;
  expect?: string;
  userData?: string;
  format?: string;
  sign: boolean;
  signKey?: string;
  accel?: Accel;
  qemu?: string;
  firmwareDir?: string;
  json?: boolean;
}

export function testCommand(run: <A>(h: Handler<A>) => (a: A) => Promise<void>): CommandModule<object, TestArgs> {
  return {
    command: 'test <target>',
    describe: 'boot an image under qemu until its console shows the login prompt (exit 1 if it does not); records the result beside the manifest',
    builder: (y: Argv) =>
      y
        .positional('target', { type: 'string', describe: 'an <image>.manifest.json, or a disk image file (.qcow2, .raw, ...)' })
        .option('firmware', { choices: BOOT_FIRMWARES, describe: "bios, uefi, or secure-boot (UEFI, Microsoft's keys, enforced); default: what the manifest's layout needs, bios for a bare image" })
        .option('timeout', { type: 'number', default: DEFAULT_TEST_TIMEOUT_S, describe: 'seconds the boot may take' })
        .option('expect', { type: 'string', describe: 'a regular expression the console must show instead of the login prompt' })
        .option('user-data', { type: 'string', describe: 'cloud-init user-data file, handed to the guest on a NoCloud seed disk (CIDATA)' })
        .option('format', { type: 'string', describe: 'which of the manifest\'s outputs to boot (default qcow2, else the first disk output)' })
        .option('sign', { type: 'boolean', default: true, describe: 'sign the test addendum (--no-sign: leave it unsigned; publish --require-test then refuses it)' })
        .option('sign-key', { type: 'string', describe: 'private key that signs the addendum (default IMGFACTORY_SIGN_KEY, else the local key)' })
        .option('accel', { choices: ['kvm', 'tcg'], describe: 'default: KVM when /dev/kvm works, else TCG' })
        .option('qemu', { type: 'string', describe: 'the qemu program (default qemu-system-x86_64)' })
        .option('firmware-dir', { type: 'string', describe: 'where OVMF_CODE_4M*.fd and OVMF_VARS_4M*.fd are (default /usr/share/OVMF, Debian\'s ovmf)' })
        .option('json', { type: 'boolean', describe: 'print JSON on stdout' }) as never,
    handler: run<TestArgs>(async (a, out) => {
      if (!(a.timeout > 0)) throw new FailureError({ reason: 'usage', message: `--timeout must be a positive number of seconds, got ${a.timeout}` });
      const manifest = a.target.endsWith('.json');
      const signing = manifest ? await signingKeyFor(a, (message) => out.info(`note: ${message}`)) : null;
      const release = catchInterrupts();
      const r = await testImage({
        target: a.target,
        timeoutSeconds: a.timeout,
        signKey: signing?.spec ?? null,
        ...(a.firmware ? { firmware: a.firmware } : {}),
        ...(a.expect !== undefined ? { expect: a.expect } : {}),
        ...(a.userData ? { userData: a.userData } : {}),
        ...(a.format ? { format: a.format } : {}),
        ...(a.accel ? { accel: a.accel } : {}),
        ...(a.qemu ? { qemu: a.qemu } : {}),
        ...(a.firmwareDir ? { firmwareDir: a.firmwareDir } : {}),
        onLog: (line) => out.info(line),
      }).finally(release);
      if (!r.ok) throw new FailureError(r.error);
      const t = r.value;
      if (a.json) {
        out.json({ passed: true, image: t.image, firmware: t.firmware, accel: t.outcome.accel, seconds: t.outcome.seconds, timeoutSeconds: a.timeout, qemu: t.qemu, addendum: t.addendum });
      } else {
        out.info(`${t.image}: booted (${t.firmware}, ${t.outcome.accel}) in ${t.outcome.seconds} s of ${a.timeout} s allowed; ${t.qemu}`);
        if (t.addendum) out.info(`recorded in ${t.addendum.file}${t.addendum.signature ? ` (signed with ${signing!.label})` : ' (unsigned)'}`);
      }
      return 0;
    }),
  };
}
