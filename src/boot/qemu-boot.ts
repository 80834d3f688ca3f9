// Boots a disk image under qemu until its serial console shows the login
// prompt (or the caller's marker), the time is up, or qemu ends; qemu is
// stopped either way. The one place that boots images: `imgfactory test`
// (src/cli/cmd-test.ts) and the boot tests use it.
//
//   workDir/
//     OVMF_CODE*.fd, OVMF_VARS*.fd   copies: the guest writes its variables, and a
//                                    qemu run elsewhere (a wrapper) sees them here
//     console-<accel>.log            the serial console, polled once a second
//
// The image is opened with -snapshot: booting never changes its bytes.
import { copyFile, mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fail, ok, type Result } from '../failure.js';
import { interruptedFailure, interruption } from '../process/interrupt.js';
import { run, type LogFn, type RunOutput } from '../process/run.js';
import { consoleShows, consoleTail, LOGIN_PROMPT } from './console.js';
import { requireTool } from '../sandbox/host-tools.js';
import { DEFAULT_FIRMWARE_DIR, FIRMWARES, type BootFirmware } from './firmware.js';

export const DEFAULT_QEMU = 'qemu-system-x86_64';

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  image: string;
  /** qemu's name of the image's format (qcow2, raw, vmdk, vpc, vhdx). */
  format: string;
  firmware: BootFirmware;
  timeoutSeconds: number;
  /**
   * What the console must show; default the login prompt. `null`: nothing
   * the console shows ends the boot (`imgfactory boot` without --expect runs
   * until the time is up, qemu ends, or imgfactory is interrupted).
   */
  expect?: RegExp | null;
  /** A second disk, read-only (a cloud-init seed or config drive: seed-drive.ts, config-drive.ts). */
  seedImage?: string;
  /**
   * A user-mode network (the guest reaches the host's loopback at 10.0.2.2)
   * with these TCP ports of the host's loopback forwarded to the guest's.
   * Without it the guest has no network.
   */
  network?: { forwards: PortForward[] };
  /** The qemu program (default qemu-system-x86_64 on the PATH). */
  qemu?: string;
  /** Where OVMF's files are (default /usr/share/OVMF). */
  firmwareDir?: string;
  /** Default: kvm when /dev/kvm can be opened, else tcg. */
  accel?: Accel;
  memoryMiB?: number;
  /** Virtual CPUs (default 1). */
  cpus?: number;
  /** Called with what the console printed since the last call (once a second). */
  onConsole?: (text: string) => void;
  /** Scratch directory for the firmware copies and the console log (made if missing). */
  workDir: string;
  onLog?: LogFn;
}

/** `127.0.0.1:host` on the host forwarded to `guest` in the guest. */
export interface PortForward {
  host: number;
  guest: number;
}

export interface BootOutcome {
  passed: boolean;
  /**
   * Why it ended: the console showed what was expected, the time ran out,
   * qemu ended by itself, or (trying KVM) the guest's kernel stayed silent.
   */
  ended: 'shown' | 'timeout' | 'qemu-exited' | 'silent';
  seconds: number;
  accel: Accel;
  /** The console's last lines (and qemu's stderr when it ended by itself). */
  consoleTail: string[];
  consoleLog: string;
}

/**
 * Boots `o.image`; a failure only when qemu cannot be started at all or
 * imgfactory is interrupted. Without `o.accel`, KVM is tried when /dev/kvm
 * opens; a KVM that runs no guest (qemu ends, or the kernel prints nothing
 * within KVM_SILENCE_S, as under some nested hypervisors) gives way to TCG,
 * which then has the whole time limit.
 */
export async function bootImage(o: BootOptions): Promise<Result<BootOutcome>> {
  // Booting is not building: scripts/setup installs qemu and OVMF only when asked (--boot).
  if (o.qemu === undefined) await requireTool(DEFAULT_QEMU, 'qemu-system-x86 ovmf', 'scripts/setup --boot');
  await mkdir(o.workDir, { recursive: true });
  if (o.accel) return bootOnce(o, o.accel, o.timeoutSeconds);
  if (!(await kvmUsable())) return bootOnce(o, 'tcg', o.timeoutSeconds);
  const kvm = await bootOnce(o, 'kvm', o.timeoutSeconds, KVM_SILENCE_S);
  if (!kvm.ok || kvm.value.ended !== 'silent') return kvm;
  o.onLog?.(`KVM ran no guest (${kvm.value.consoleTail.join(' ') || 'no console output'}): booting with TCG`);
  return bootOnce(o, 'tcg', o.timeoutSeconds);
}

/** Seconds a KVM boot may go without the kernel printing before KVM is taken for unusable. */
const KVM_SILENCE_S = 45;

/**
 * Whether the console shows the kernel running (its banner or a timestamped
 * line): what a working accelerator shows within seconds. GRUB's menu is not
 * enough: on hosts where /dev/kvm opens but KVM cannot run the guest, GRUB
 * draws its menu and the kernel never prints (a controller's boot waited
 * there for its whole time limit).
 */
export function kernelStarted(console: string): boolean {
  return /Linux version \d|^\[\s*\d+\.\d+\] /m.test(console);
}

async function bootOnce(o: BootOptions, accel: Accel, timeoutSeconds: number, silenceSeconds?: number): Promise<Result<BootOutcome>> {
  const consoleLog = path.join(o.workDir, `console-${accel}.log`);
  const args = [...(await firmwareArgs(o.firmware, o.firmwareDir ?? DEFAULT_FIRMWARE_DIR, o.workDir)), ...machineArgs(o, accel, consoleLog)];
  const stop = new AbortController();
  const start = Date.now();
  let ended: Result<RunOutput> | null = null;
  const qemu = run(o.qemu ?? DEFAULT_QEMU, args, { signal: stop.signal, check: false, ...(o.onLog ? { onLog: o.onLog } : {}) }).then((r) => (ended = r));
  const seconds = (): number => Math.round((Date.now() - start) / 1000);
  let text = '';
  let outcome: BootOutcome['ended'] = 'timeout';
  while (seconds() < timeoutSeconds) {
    await Promise.race([qemu, new Promise((r) => setTimeout(r, 1000))]);
    const now = await readFile(consoleLog, 'latin1').catch(() => '');
    if (o.onConsole && now.length > text.length) o.onConsole(now.slice(text.length));
    text = now;
    const expect = o.expect === undefined ? LOGIN_PROMPT : o.expect;
    if (expect && consoleShows(text, expect)) {
      outcome = 'shown';
      break;
    }
    if (silenceSeconds !== undefined && !kernelStarted(text) && (ended !== null || seconds() >= silenceSeconds)) {
      outcome = 'silent';
      break;
    }
    if (ended !== null || interruption.aborted) {
      outcome = 'qemu-exited';
      break;
    }
  }
  const took = seconds();
  stop.abort('SIGTERM');
  const last = await qemu;
  if (interruption.aborted) return fail(interruptedFailure(`booting ${o.image}`));
  // A failure other than the stop: qemu could not be started.
  if (!last.ok && last.error.reason !== 'interrupted') return last;
  const stderr = last.ok ? last.value.stderr.trim().split('\n').filter(Boolean).map((l) => `qemu: ${l}`) : [];
  return ok({ passed: outcome === 'shown', ended: outcome, seconds: took, accel, consoleTail: [...consoleTail(text), ...stderr], consoleLog });
}

/** `qemu --version`'s first line, for the record of a test. */
export async function qemuVersion(qemu = DEFAULT_QEMU): Promise<Result<string>> {
  const r = await run(qemu, ['--version']);
  return r.ok ? ok(r.value.stdout.split('\n')[0]!.trim()) : r;
}

/** True when this process may open /dev/kvm read-write: qemu can then use KVM. */
export async function kvmUsable(): Promise<boolean> {
  try {
    await (await open('/dev/kvm', 'r+')).close();
    return true;
  } catch {
    return false;
  }
}

/** The flash drives for OVMF: code read-only, a fresh copy of the variable store. Nothing for SeaBIOS. */
async function firmwareArgs(firmware: BootFirmware, dir: string, workDir: string): Promise<string[]> {
  const row = FIRMWARES[firmware];
  if (!row.ovmf) return [];
  const code = path.join(workDir, row.ovmf.code);
  const vars = path.join(workDir, row.ovmf.vars);
  await copyFile(path.join(dir, row.ovmf.code), code);
  await copyFile(path.join(dir, row.ovmf.vars), vars);
  return ['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${code}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`];
}

function machineArgs(o: BootOptions, accel: Accel, consoleLog: string): string[] {
  const row = FIRMWARES[o.firmware];
  return [
    '-machine', row.machine, ...row.args,
    '-accel', accel,
    '-m', String(o.memoryMiB ?? 1024), '-smp', String(o.cpus ?? 1),
    '-display', 'none', '-monitor', 'none', ...nicArgs(o.network), '-no-user-config', '-snapshot',
    '-drive', `file=${o.image},format=${o.format},if=virtio`,
    ...(o.seedImage ? ['-drive', `file=${o.seedImage},format=raw,if=virtio,readonly=on`] : []),
    '-serial', `file:${consoleLog}`,
  ];
}

/** qemu's user-mode network with the forwards, bound to the host's loopback only; or none. */
export function nicArgs(network: BootOptions['network']): string[] {
  if (!network) return ['-nic', 'none'];
  const forwards = network.forwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('');
  return ['-nic', `user,model=virtio-net-pci${forwards}`];
}
