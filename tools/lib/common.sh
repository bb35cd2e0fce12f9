# tools/lib/common.sh - helpers shared by tools/run and tools/test: package installs, headers.
# Sourced, never executed. Installs only what is missing, so a second run makes no apt call.
# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts that source it

OUTPOST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive

# Packages every build needs: compiler, build tools and the libraries src/ links against.
OUTPOST_BUILD_PACKAGES=(cmake g++ ninja-build libwebsockets-dev libwebsockets-evlib-ev libev-dev libmbedtls-dev libcjson-dev libsqlite3-dev)

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

# ensure_arm64_packages: the arm64 half of the cross build. libwebsockets-dev:arm64 cannot be
# installed beside the amd64 one, so it is not here: see ensure_arm64_sysroot.
ensure_arm64_packages() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64 || return 1
  fi
  ensure_packages g++-aarch64-linux-gnu qemu-user \
    libstdc++6:arm64 libwebsockets17:arm64 libwebsockets-evlib-ev:arm64 libev-dev:arm64 libssl-dev:arm64 libmbedtls-dev:arm64 libcjson-dev:arm64 libsqlite3-dev:arm64
}

# ensure_arm64_sysroot DIR: unpacks libwebsockets-dev:arm64 (headers, libwebsockets.so) into DIR,
# matching the installed libwebsockets17:arm64. The toolchain file searches DIR first.
ensure_arm64_sysroot() {
  local dir=${1:?sysroot folder} version tmp
  version=$(dpkg-query -W -f='${Version}' libwebsockets17:arm64) || return 1
  [ -f "$dir/.libwebsockets-dev-$version" ] && return 0
  echo "unpacking libwebsockets-dev:arm64 $version into $dir"
  tmp=$(mktemp -d) || return 1
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi  # apt downloads as _apt
  (cd "$tmp" && { apt-get download -q "libwebsockets-dev:arm64=$version" 2>/dev/null ||
    { as_root apt-get update -qq && apt-get download -q "libwebsockets-dev:arm64=$version"; }; }) >/dev/null &&
    rm -rf "$dir" && mkdir -p "$dir" &&
    dpkg -x "$tmp"/libwebsockets-dev_*_arm64.deb "$dir" &&
    rm -rf "${dir:?}/usr/share" &&
    # The package's libwebsockets.so points at libwebsockets.so.17, which lives outside the sysroot.
    ln -sf /usr/lib/aarch64-linux-gnu/libwebsockets.so.17 "$dir/usr/lib/aarch64-linux-gnu/libwebsockets.so" &&
    touch "$dir/.libwebsockets-dev-$version"
  local rc=$?
  rm -rf "$tmp"
  return "$rc"
}

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
