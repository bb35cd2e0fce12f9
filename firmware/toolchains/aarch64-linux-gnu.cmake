# aarch64-linux-gnu.cmake - cross-build Outpost for 64-bit ARM Linux on a Debian amd64 host.
#
# Uses Debian's cross compiler (g++-aarch64-linux-gnu) and multiarch :arm64 libraries in
# /usr/lib/aarch64-linux-gnu. libwebsockets-dev:arm64 cannot be installed beside the amd64 one,
# so its headers and libwebsockets.so come from a folder it was unpacked into (OUTPOST_SYSROOT,
# default <build dir>/sysroot; tools/lib/common.sh ensure_arm64_sysroot makes it), searched first.
# Tests run under qemu-aarch64 against the arm64 libc installed at / (libc6:arm64).
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=firmware/toolchains/aarch64-linux-gnu.cmake

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(OUTPOST_SYSROOT "${CMAKE_BINARY_DIR}/sysroot" CACHE PATH "Where libwebsockets-dev:arm64 is unpacked")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES OUTPOST_SYSROOT)
if(NOT EXISTS "${OUTPOST_SYSROOT}/usr/include/libwebsockets.h" AND NOT CMAKE_PROJECT_NAME STREQUAL "CMAKE_TRY_COMPILE")
  message(FATAL_ERROR "No arm64 libwebsockets headers in ${OUTPOST_SYSROOT}: run tools/test (arm64 step) "
    "or unpack 'apt-get download libwebsockets-dev:arm64' there with dpkg -x")
endif()

# Headers and libraries: the sysroot first, then / (CMAKE_LIBRARY_ARCHITECTURE makes that
# /usr/lib/aarch64-linux-gnu, never the host's x86_64 folder). /usr/include is the cross
# compiler's own last include directory, so headers found there (cjson, sqlite3, mbedtls)
# add no -isystem flag and cannot shadow the cross libc's.
set(CMAKE_FIND_ROOT_PATH "${OUTPOST_SYSROOT}" /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs every test through this, so the unit tests run as they would on the gateway.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
