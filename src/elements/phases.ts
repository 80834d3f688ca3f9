// diskimage-builder's phases, in the order a build runs them, and where each
// runs: `inside` the image's root tree (chrooted) or `outside` on the host with
// TARGET_ROOT pointing at the tree. One list, used by element loading (hook
// directories) and by the build plan (order and place).

export const PHASES = [
  { name: 'root.d', place: 'outside' },
  { name: 'extra-data.d', place: 'outside' },
  { name: 'pre-install.d', place: 'inside' },
  { name: 'install.d', place: 'inside' },
  { name: 'post-install.d', place: 'inside' },
  { name: 'post-root.d', place: 'outside' },
  { name: 'block-device.d', place: 'outside' },
  { name: 'pre-finalise.d', place: 'outside' },
  { name: 'finalise.d', place: 'inside' },
  { name: 'cleanup.d', place: 'outside' },
] as const;

export type PhaseName = (typeof PHASES)[number]['name'];
export type Place = 'inside' | 'outside';

export const PHASE_NAMES: readonly PhaseName[] = PHASES.map((p) => p.name);

export function isPhaseName(name: string): name is PhaseName {
  return (PHASE_NAMES as readonly string[]).includes(name);
}
