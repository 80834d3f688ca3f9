// Who holds a lock, and whether that process still lives. A holder is named
// by host, boot, PID namespace, pid and the process's start time, so a pid
// reused after the holder died, a reboot, or a holder in another container is
// not mistaken for a live holder. For a holder on another host (a shared
// network cache) liveness cannot be asked of the kernel: the holder refreshes
// its lock's mtime (a heartbeat) and is live while that is recent.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { pidExists } from '../util/pid-exists.js';

export interface LockHolder {
  /** Random id of this acquisition; also the name of the holder's file in the lock dir. */
  token: string;
  pid: number;
  hostname: string;
  /** /proc/sys/kernel/random/boot_id: pids of another boot mean nothing. */
  bootId: string;
  /** readlink /proc/self/ns/pid: pids of another PID namespace mean nothing here. */
  pidNamespace: string;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): tells a reused pid apart. */
  startTime: string;
  /** When the lock was taken (ms since the epoch). */
  acquiredAt: number;
}

/** This process as a lock holder. */
export function currentHolder(token: string): LockHolder {
  return {
    token,
    pid: process.pid,
    hostname: hostname(),
    bootId: bootId(),
    pidNamespace: pidNamespace(),
    startTime: processStartTime(process.pid) ?? '',
    acquiredAt: Date.now(),
  };
}

/**
 * Whether `holder` still holds its lock: for a process this kernel can see,
 * whether it lives (same pid and start time); otherwise whether its heartbeat
 * (`heartbeatMs`, the mtime of its lock file) is younger than `staleMs`.
 */
export function holderIsAlive(holder: LockHolder, heartbeatMs: number, staleMs: number, now = Date.now()): boolean {
  const sameKernel = holder.hostname === hostname() && holder.bootId === bootId();
  if (sameKernel && holder.pidNamespace === pidNamespace()) {
    if (!pidExists(holder.pid)) return false;
    return processStartTime(holder.pid) === holder.startTime;
  }
  // Same host name, other boot: the holder died with that boot.
  if (holder.hostname === hostname() && holder.bootId !== bootId()) return false;
  return now - heartbeatMs < staleMs;
}

export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.hostname} since ${new Date(holder.acquiredAt).toISOString()}`;
}

export function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.token !== 'string' || typeof v.pid !== 'number' || typeof v.hostname !== 'string') return null;
    return {
      token: v.token,
      pid: v.pid,
      hostname: v.hostname,
      bootId: String(v.bootId ?? ''),
      pidNamespace: String(v.pidNamespace ?? ''),
      startTime: String(v.startTime ?? ''),
      acquiredAt: Number(v.acquiredAt ?? 0),
    };
  } catch {
    return null;
  }
}

/** Start time of a process in clock ticks since boot, or null if it is gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

let cachedBootId: string | undefined;
function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
  }
  return cachedBootId;
}

let cachedPidNs: string | undefined;
function pidNamespace(): string {
  if (cachedPidNs === undefined) {
    try {
      cachedPidNs = readlinkSync('/proc/self/ns/pid');
    } catch {
      cachedPidNs = '';
    }
  }
  return cachedPidNs;
}
