// `--forward [host:]guest`: a TCP port of the host's loopback forwarded to
// the booted node's (the same port on both sides when only one is given).
import { FailureError } from '../failure.js';
import type { PortForward } from '../boot/qemu-boot.js';

export function parseForwards(values: readonly string[]): PortForward[] {
  const forwards = values.map(parseForward);
  const seen = new Set<number>();
  for (const f of forwards) {
    if (seen.has(f.host)) throw new FailureError({ reason: 'usage', message: `--forward: host port ${f.host} is forwarded twice` });
    seen.add(f.host);
  }
  return forwards;
}

function parseForward(value: string): PortForward {
  const m = /^(?:(\d+):)?(\d+)$/.exec(value.trim());
  const host = Number(m?.[1] ?? m?.[2]);
  const guest = Number(m?.[2]);
  if (!m || !validPort(host) || !validPort(guest)) {
    throw new FailureError({ reason: 'usage', message: `--forward ${value}: expected [HOST_PORT:]GUEST_PORT, ports 1-65535 (e.g. 5000 or 15000:5000)` });
  }
  return { host, guest };
}

function validPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}
