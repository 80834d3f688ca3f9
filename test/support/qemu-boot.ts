// The boot tests' way into src/boot (the one module that boots images):
// qemu and OVMF from the test tools tree (test-tools.ts), always TCG (as a
// CI runner without KVM would), 1 GiB, no network. The image and the work
// directory are under the run's scratch directory, which the tree sees.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { BootFirmware } from '../../src/boot/firmware.js';
import { bootImage } from '../../src/boot/qemu-boot.js';
import { unwrap } from '../../src/failure.js';
import { runDir, scratchDir } from './run-dir.js';
import { onceInRun } from './run-once.js';
import { scaled } from './slowdown.js';
import { TEST_TOOLS, testToolsRoot } from './test-tools.js';

/** How long a boot may take to show its login prompt: 240 s on the reference host, stretched here (slowdown.ts). */
export const BOOT_TIMEOUT_S = Math.round(scaled(240_000) / 1000);

export interface Boot {
  ok: boolean;
  seconds: number;
  /** The whole console. */
  log: string;
}

let wrapper: Promise<string> | undefined;

/** A qemu-system-x86_64 that runs in the test tools tree: what `--qemu` is given in the tests. */
export function testQemu(): Promise<string> {
  wrapper ??= (async () => {
    const file = path.join(runDir(), 'qemu-in-test-tools');
    await onceInRun('qemu-in-test-tools', async () => {
      await writeFile(file, `#!/bin/sh\nexec "${TEST_TOOLS}" run --bind "${runDir()}" -- qemu-system-x86_64 "$@"\n`);
      await chmod(file, 0o755);
    });
    return file;
  })();
  return wrapper;
}

/** OVMF's files in the test tools tree: what `--firmware-dir` is given in the tests. */
export async function testFirmwareDir(): Promise<string> {
  return path.join(await testToolsRoot(), 'usr/share/OVMF');
}

// TCG keeps one core busy per guest: more guests at once than cores only
// makes each slower, so concurrent boot tests wait for a slot.
const SLOTS = availableParallelism();
let busy = 0;
const waiting: (() => void)[] = [];

/** Runs `fn` (a boot, or a command that boots) when fewer than one guest per core is running. */
export async function inBootSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (busy >= SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  else busy++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  }
}

/** Boots `image` (qcow2) until the console shows `expect` (default the login prompt) or BOOT_TIMEOUT_S is up. */
export async function boot(image: string, firmware: BootFirmware, expect?: RegExp): Promise<Boot> {
  const workDir = await scratchDir('qemu');
  const booted = await inBootSlot(async () =>
    bootImage({
      image,
      format: 'qcow2',
      firmware,
      timeoutSeconds: BOOT_TIMEOUT_S,
      ...(expect ? { expect } : {}),
      qemu: await testQemu(),
      firmwareDir: await testFirmwareDir(),
      accel: 'tcg',
      workDir,
    }),
  );
  const r = unwrap(booted);
  return { ok: r.passed, seconds: r.seconds, log: await readFile(r.consoleLog, 'latin1').catch(() => '') };
}
