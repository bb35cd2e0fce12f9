# arm-linux-gnueabihf.cmake - cross-build Outpost for 32-bit ARM Linux (armhf: ARMv7, hard float)
# on a Debian amd64 host, with Debian's cross compiler (g++-arm-linux-gnueabihf).
#
# Libraries come only from the static dependency set that `firmware/deps armhf` prints
# (OUTPOST_DEPS_PREFIX); there is no Debian-package route for armhf. firmware/build armhf does it all:
#   cmake -S . -B build/firmware-armhf -DCMAKE_TOOLCHAIN_FILE=firmware/toolchains/arm-linux-gnueabihf.cmake \
#         -DOUTPOST_DEPS_PREFIX=$(firmware/deps armhf) -DOUTPOST_STATIC=ON
# Tests run under qemu-arm.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)

# 64-bit time_t and off_t on 32-bit ARM (glibc >= 2.34): times past 2038 and files past 2 GiB.
# The dependency set is built with the same flags, so structs holding a time_t agree across it.
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64")
set(CMAKE_CXX_FLAGS_INIT "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES OUTPOST_DEPS_PREFIX)
if(OUTPOST_DEPS_PREFIX)
  set(CMAKE_FIND_ROOT_PATH "${OUTPOST_DEPS_PREFIX}")
elseif(NOT CMAKE_PROJECT_NAME STREQUAL "CMAKE_TRY_COMPILE")
  message(FATAL_ERROR "armhf builds need -DOUTPOST_DEPS_PREFIX=$(firmware/deps armhf)")
endif()

# ctest runs every test through qemu; the cross compiler's own libc (for a build that is not
# OUTPOST_STATIC) is in /usr/arm-linux-gnueabihf.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L /usr/arm-linux-gnueabihf)
