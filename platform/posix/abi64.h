// abi64.h - 64-bit time_t and file offsets for the platform code on 32-bit glibc (armhf, i386).
// Owns: the two feature macros, set here whatever the build flags, so that clock_gettime keeps
// working past 2038 and stat() answers for files past 2 GiB or with 64-bit inode numbers instead of
// failing with EOVERFLOW; common.cpp asserts the result. Include first, before any system header
// (platform.h included). Never: changes a type that crosses platform.h (it uses int64_t and
// uint64_t only), so src/ and the libraries keep their own ABI. Harmless on 64-bit systems, on musl
// (time_t and off_t always 64 bits) and on the BSDs.
#pragma once

#if !defined(_FILE_OFFSET_BITS)
#define _FILE_OFFSET_BITS 64 // glibc: required with _TIME_BITS=64
#endif
#if !defined(_TIME_BITS)
#define _TIME_BITS 64
#endif
