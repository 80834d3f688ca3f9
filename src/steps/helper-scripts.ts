// imgfactory's own scripts, written into the merged hooks tree under
// `imgfactory/` so that every step runs through the same sandbox path as an
// element hook. Their bytes are part of the keys of the steps that run them.
//
//   run-hook <phase> <script>      sources environment.d, then runs one hook
//   package-installs <action> <package=element>...   apt install / purge
//   finalise-tree                  what no golden image may keep
//   environment-vars <name>...     prints variables as environment.d leaves them

export const HELPER_DIR = 'imgfactory';

/**
 * Sources every environment.d snippet of the image, in name order, as
 * dib-run-parts does before a hook: under `set -eu -o pipefail`, so a snippet
 * that reads an unset variable or runs a failing command fails the hook there.
 */
const SOURCE_ENVIRONMENT_D = `set -eu -o pipefail
for env_file in "$TMP_HOOKS_PATH"/environment.d/*; do
  [ -f "$env_file" ] || continue
  # shellcheck disable=SC1090
  source "$env_file"
done
`;

export const RUN_HOOK = `#!/bin/bash
# Runs one diskimage-builder hook the way dib-run-parts does: every
# environment.d snippet of the image is sourced first, in name order.
set -e
phase=$1 script=$2
${SOURCE_ENVIRONMENT_D}exec "$TMP_HOOKS_PATH/$phase/$script"
`;

/**
 * Bash functions that byte-compile Python packages beside dpkg instead of
 * inside it (part of PACKAGE_INSTALLS, so of its steps' keys). Every python3
 * package's postinst runs `py3compile -p <package>`; one after the other they
 * held dpkg for ~110 s of the controller's apt run, on one core while the
 * other idled. py3compile_pool_start puts a py3compile shim in the shim
 * directory (ahead of /usr/bin in dpkg's PATH) and starts two workers; the
 * shim queues the call and returns at once, so dpkg goes on configuring.
 * py3compile_pool_close ends the queue; py3compile_pool_wait waits for the
 * last call and fails, naming every call that failed, as the postinst would
 * have. The queue is a FIFO kept open on fd 9: commands run while the pool
 * is open must close it (`9>&-`), or a daemon left behind would keep it open.
 * The .pyc files are the ones the postinsts would have written: py3compile
 * writes each atomically, whoever runs it.
 */
export const PY3COMPILE_POOL = `py3compile_pool_start() {
  local dir=$1
  mkfifo "$dir/py3compile.queue"
  : > "$dir/py3compile.failed"
  cat > "$dir/py3compile" <<SHIM
#!/bin/sh
# imgfactory: queued for the byte-compiling pool (runs beside dpkg).
printf '%s\\\\0' "\\$(printf '%s\\\\n' "\\$@")" > "$dir/py3compile.queue"
SHIM
  cat > "$dir/py3compile-run" <<RUN
#!/bin/bash
mapfile -t args <<< "\\$1"
/usr/bin/py3compile "\\\${args[@]}" || echo "py3compile \\\${args[*]}: exit \\$?" >> "$dir/py3compile.failed"
exit 0
RUN
  chmod 755 "$dir/py3compile" "$dir/py3compile-run"
  xargs -0 -r -n 1 -P 2 "$dir/py3compile-run" < "$dir/py3compile.queue" &
  py3compile_pool=$!
  exec 9> "$dir/py3compile.queue"
}
py3compile_pool_close() {
  exec 9>&-
}
py3compile_pool_wait() {
  local dir=$1
  wait "$py3compile_pool"
  if [ -s "$dir/py3compile.failed" ]; then
    echo "byte-compiling failed (what the packages' postinsts run):" >&2
    cat "$dir/py3compile.failed" >&2
    return 1
  fi
}
`;

export const UNKNOWN_PACKAGE_MARK = 'imgfactory: unknown package:';
export const UNKNOWN_PACKAGE_EXIT = 100;

export const PACKAGE_INSTALLS = `#!/bin/bash
# Installs or removes the packages a phase's package-installs data lists.
# Arguments: install|uninstall, then package=element pairs. Services are kept
# from starting by /usr/sbin/policy-rc.d (installed with the base tree).
# dpkg's --force-unsafe-io skips its fsyncs: the tree is a build artefact
# that is packed into a layer afterwards, never a running system that could
# lose power half-way (diskimage-builder builds in tmpfs for the same reason).
#
# The initramfs is made once, after apt is done. Left alone, a kernel's
# postinst makes it and initramfs-tools' trigger makes it again at the end of
# the same run (the controller's package set: two runs of ~30 s). A shim
# ahead of update-initramfs in the PATH apt gives dpkg (DPkg::Path; apt
# replaces the caller's PATH) notes the request; it lives under /tmp, which
# never reaches a layer. Removals (-d) go straight through. It is made while
# the byte-compiling pool (below) finishes: the two use a core each.
set -eu -o pipefail
action=$1; shift
export DEBIAN_FRONTEND=noninteractive
shims=/tmp/imgfactory-shims
rm -rf "$shims"; mkdir -p "$shims"
cat > "$shims/update-initramfs" <<SHIM
#!/bin/sh
case " \\$* " in *" -d "*) exec /usr/sbin/update-initramfs "\\$@" ;; esac
: > $shims/initramfs-wanted
SHIM
chmod 755 "$shims/update-initramfs"
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io -o APT::Install-Recommends=false
  -o "DPkg::Path=$shims:/usr/sbin:/usr/bin:/sbin:/bin")
if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
  apt-get "\${apt_opts[@]}" update
fi
packages=()
unknown=0
for pair in "$@"; do
  pkg=\${pair%%=*} element=\${pair#*=}
  if [ -z "$(apt-cache policy "$pkg" 2>/dev/null)" ]; then
    echo "${UNKNOWN_PACKAGE_MARK} $pkg (element $element)" >&2
    unknown=1
    continue
  fi
  packages+=("$pkg")
done
[ "$unknown" -eq 0 ] || exit ${UNKNOWN_PACKAGE_EXIT}
${PY3COMPILE_POOL}py3compile_pool_start "$shims"
case "$action" in
  install)
    apt-get "\${apt_opts[@]}" install "\${packages[@]}" 9>&-
    ;;
  uninstall)
    installed=()
    for pkg in "\${packages[@]}"; do
      if dpkg-query -W -f='\${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then installed+=("$pkg"); fi
    done
    if [ \${#installed[@]} -gt 0 ]; then
      apt-get "\${apt_opts[@]}" purge "\${installed[@]}" 9>&-
      apt-get "\${apt_opts[@]}" autoremove --purge 9>&-
    fi
    ;;
  *) echo "package-installs: unknown action $action" >&2; exit 2 ;;
esac
py3compile_pool_close
initramfs=
if [ -e "$shims/initramfs-wanted" ] && command -v update-initramfs >/dev/null && command -v linux-version >/dev/null; then
  # What the postinsts and the trigger would have left: an initramfs for every
  # kernel that has none, and the newest kernel's brought up to date.
  (
    newest=$(linux-version list | linux-version sort | tail -n 1)
    for v in $(linux-version list); do
      if [ ! -e "/boot/initrd.img-$v" ]; then
        update-initramfs -c -k "$v"
      elif [ "$v" = "$newest" ]; then
        update-initramfs -u -k "$v"
      fi
    done
  ) &
  initramfs=$!
fi
py3compile_pool_wait "$shims"
if [ -n "$initramfs" ]; then wait "$initramfs"; fi
rm -rf "$shims"
`;

export const FINALISE_TREE = `#!/bin/bash
# The last step of every build: what no golden image may keep. /tmp is
# emptied here, as diskimage-builder's finalise_base does (hooks pass files
# through it until then); /run and mount points never reach a layer
# (src/cache/layer-exclude.ts). The merged hooks tree is mounted in /tmp
# (TMP_HOOKS_PATH): it stays. Logs in root's home go too, as there; files
# under /var/log are emptied in every layer (src/engine/reproducible-layer.ts).
set -eu
find /tmp -mindepth 1 -maxdepth 1 ! -path "$TMP_HOOKS_PATH" -exec rm -rf {} +
if [ -d /root ]; then find /root -name '*.log' -type f -delete; fi
rm -f /usr/sbin/policy-rc.d
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
mkdir -p /var/lib/apt/lists/partial
if [ -e /etc/machine-id ]; then : > /etc/machine-id; fi
rm -f /var/lib/dbus/machine-id
`;

/**
 * diskimage-builder's hooks run as a user and call sudo for what needs root;
 * imgfactory's hooks already run as root. This stands in for sudo where the
 * tree (a minbase tree has none) or the host has none: it is last on PATH.
 *
 * Real sudo resets the environment unless told -E, and Debian's sudoers keeps
 * no TMPDIR: a root.d hook's \`sudo chroot $TARGET_ROOT apt-get ...\` runs
 * maintainer scripts without the hook's TMPDIR, a host path that does not
 * exist in the chroot (ca-certificates' postinst mktemp fails on it). The
 * stand-in drops TMPDIR as sudo does; the rest of the environment it keeps,
 * as the hooks written for imgfactory expect.
 */
export const SUDO_STAND_IN = `#!/bin/bash
# imgfactory: a stand-in for sudo; hooks already run as root.
preserve=
while [ $# -gt 0 ]; do
  case "$1" in
    -E|--preserve-env|--preserve-env=*) preserve=1; shift ;;
    -H|-n|-S|-k) shift ;;
    -u) [ "\${2:-}" = root ] || { echo "imgfactory's sudo stand-in runs commands as root only (asked for \${2:-nobody})" >&2; exit 1; }; shift 2 ;;
    --) shift; break ;;
    -*) echo "imgfactory's sudo stand-in does not know the option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
[ -n "$preserve" ] || unset TMPDIR
exec "$@"
`;

export const ENVIRONMENT_VAR_MARK = 'imgfactory-var';

/**
 * What package-installs' conditions are decided with (engine/condition-vars.ts):
 * the named variables as a hook sees them once environment.d is sourced, as
 * run-hook sources it. One line per set name: mark, name, base64 value.
 */
export const ENVIRONMENT_VARS = `#!/bin/bash
set -e
${SOURCE_ENVIRONMENT_D}for name in "$@"; do
  if [ -n "\${!name+set}" ]; then printf '${ENVIRONMENT_VAR_MARK} %s %s\\n' "$name" "$(printf %s "\${!name}" | base64 -w0)"; fi
done
`;

/** imgfactory's helpers by their path under the hooks tree's HELPER_DIR. */
export const HELPERS: Record<string, string> = {
  'run-hook': RUN_HOOK,
  'package-installs': PACKAGE_INSTALLS,
  'finalise-tree': FINALISE_TREE,
  'environment-vars': ENVIRONMENT_VARS,
  'bin/sudo': SUDO_STAND_IN,
};
