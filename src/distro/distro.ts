// The typed description of a distribution (distros/<name>/distro.yaml): how
// to bootstrap its base root tree and what it provides to the element graph.

/** One more archive, as a one-line apt source without `deb`: `[trusted=yes] http://host/repo local main`. */
export interface ExtraSource {
  mirror: string;
  suite: string;
  components: string[];
  /** What goes between `[` and `]` (`trusted=yes`, `signed-by=/path`), or null. */
  options: string | null;
}

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
  /** Archives installed from besides Debian's (`extra-sources`, `--apt-source`): in the bootstrap's sources.list and in the archive state. */
  extraSources: ExtraSource[];
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
