# aarch64-linux-gnu.cmake - cross-build Outpost for 64-bit ARM Linux on a Debian amd64 host.
#
# Uses Debian's cross compiler (g++-aarch64-linux-gnu). Two ways to find the libraries:
# - with -DOUTPOST_DEPS_PREFIX=<prefix> (printed by `firmware/deps aarch64`): only in that prefix,
#   the static dependency set; this is the firmware build (firmware/build aarch64).
# - without: Debian 12's multiarch :arm64 libraries in /usr/lib/aarch64-linux-gnu.
# libwebsockets-dev:arm64 cannot be installed beside the amd64 one, so its headers and libwebsockets.so come from a folder it was unpacked into (OUTPOST_SYSROOT,
# default <build dir>/sysroot: unpack libwebsockets-dev:arm64 there with dpkg -x), searched first.
# Tests run under qemu-aarch64 against the arm64 libc installed at / (libc6:arm64). tools/test
# no longer takes this route: it builds on the prefix (firmware/build aarch64).
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=firmware/toolchains/aarch64-linux-gnu.cmake

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# 64-bit off_t and time_t: the default on aarch64 already; stated so every target's flags agree
# with the dependency set (firmware/deps builds all of it with these).
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64")
set(CMAKE_CXX_FLAGS_INIT "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES OUTPOST_DEPS_PREFIX OUTPOST_SYSROOT)

if(OUTPOST_DEPS_PREFIX)
  set(CMAKE_FIND_ROOT_PATH "${OUTPOST_DEPS_PREFIX}")
  # ctest runs every test through qemu; the cross compiler's own libc (for a build that is not
  # OUTPOST_STATIC) is in /usr/aarch64-linux-gnu.
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
  return()
endif()

set(OUTPOST_SYSROOT "${CMAKE_BINARY_DIR}/sysroot" CACHE PATH "Where libwebsockets-dev:arm64 is unpacked")
if(NOT EXISTS "${OUTPOST_SYSROOT}/usr/include/libwebsockets.h" AND NOT CMAKE_PROJECT_NAME STREQUAL "CMAKE_TRY_COMPILE")
  message(FATAL_ERROR "No arm64 libwebsockets headers in ${OUTPOST_SYSROOT}: pass "
    "-DOUTPOST_DEPS_PREFIX=$(firmware/deps aarch64), or unpack 'apt-get download libwebsockets-dev:arm64' there with dpkg -x")
endif()

# Headers and libraries: the sysroot first, then / (CMAKE_LIBRARY_ARCHITECTURE makes that
# /usr/lib/aarch64-linux-gnu, never the host's x86_64 folder). /usr/include is the cross
# compiler's own last include directory, so headers found there (cjson, sqlite3, mbedtls)
# add no -isystem flag and cannot shadow the cross libc's.
set(CMAKE_FIND_ROOT_PATH "${OUTPOST_SYSROOT}" /)

# ctest runs every test through this, so the unit tests run as they would on the gateway.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
