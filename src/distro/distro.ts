// The typed description of a distribution (distros/<name>/distro.yaml): how
// to bootstrap its base root tree and what it provides to the element graph.

export interface Distro {
  name: string;
  /** The distro.yaml it was read from. */
  file: string;
  description: string;
  family: 'debian';
  release: string;
  arch: string;
  bootstrap: { tool: 'mmdebstrap'; variant: string };
  mirror: string;
  components: string[];
  /** Add `<release>-updates`. */
  updates: boolean;
  security: { mirror: string; suite: string } | null;
  /** The snapshot.debian.org-style timestamp the mirrors were pinned to (`--snapshot`), if any: its Release files are past their Valid-Until. */
  snapshot?: string;
  keyring: string;
  /** Extra packages in the base tree. */
  packages: string[];
  packageManager: 'apt';
  initSystem: 'systemd';
  /** Virtual element names the distro satisfies; always includes operating-system. */
  provides: string[];
}
