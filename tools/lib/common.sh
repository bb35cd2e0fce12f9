# tools/lib/common.sh - helpers shared by tools/run and tools/test: package installs, headers.
# Sourced, never executed. Installs only what is missing, so a second run makes no apt call.
# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts that source it

OUTPOST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive

# Packages every build needs: compiler and build tools, and what firmware/deps needs to build the
# pinned dependency set the libraries come from (curl, patch, xz, bzip2 for Debian's source
# tarballs; tcl for SQLite's amalgamation). No -dev package of a library src/ links against.
OUTPOST_BUILD_PACKAGES=(cmake g++ ninja-build make tcl curl patch xz-utils bzip2 file binutils)
# The cross builds (firmware/build aarch64|armhf) and qemu to run their tests.
OUTPOST_CROSS_PACKAGES=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)

header() { STEP_T0=$SECONDS; printf '\n==== %s ====\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

# as_root CMD...: runs CMD as root (directly, or through sudo for a non-root developer).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo -E "$@"
  else die "need root to run: $*"
  fi
}

# missing_packages PKG...: prints the packages (name or name:arch) dpkg does not have installed.
missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || echo "$pkg"
  done
}

# ensure_packages PKG...: apt-get update + install, only when something is missing.
# (Every helper here returns its failure explicitly: callers test them in `if`, where set -e is off.)
ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq || return 1
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
}

# ensure_node: node and npm; machines that come with node keep theirs, others get Debian's.
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  ensure_packages nodejs npm
}

# deps_prefix TARGET: builds the pinned dependency set for TARGET once (firmware/deps caches it in
# $OUTPOST_DEPS_CACHE, by default ~/.cache/outpost-deps) and prints its prefix.
deps_prefix() { "$OUTPOST_ROOT/firmware/deps" "$1"; }

# configure BUILD_DIR CMAKE_ARGS...: configures with Ninja unless BUILD_DIR was last configured
# with the same arguments (cmake --build re-runs CMake itself when a CMakeLists.txt changes).
configure() {
  local dir=$1; shift
  local args="$*"
  [ -f "$dir/CMakeCache.txt" ] && [ "$(cat "$dir/.outpost-configure-args" 2>/dev/null)" = "$args" ] && return 0
  local generator=(-G Ninja)
  [ -f "$dir/CMakeCache.txt" ] && generator=()
  cmake -S "$OUTPOST_ROOT" -B "$dir" "${generator[@]}" "$@" || return 1
  echo "$args" >"$dir/.outpost-configure-args"
}
