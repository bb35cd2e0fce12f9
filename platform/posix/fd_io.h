// fd_io.h - Whole-buffer writes to a descriptor, shared by the POSIX backends (common.cpp and
// each backend's service.cpp). Owns: the one EINTR-retrying write loop. Never: part of
// platform.h (code above platform/ writes through platform.h's calls only).
#pragma once

#include <cstddef>

namespace outpost::platform::posix {

// Writes all `len` bytes, retrying on EINTR and after short writes. False (errno set) on an
// error or a write of 0 bytes.
bool write_fully(int fd, const char* p, size_t len);

} // namespace outpost::platform::posix
