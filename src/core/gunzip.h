// gunzip.h - Decompressing one gzip member (RFC 1952 around RFC 1951 DEFLATE) into memory.
// Owns: a small, self-contained inflate (no zlib) for the embedded browser bundle, which is stored
// gzip-compressed and expanded only for the rare client that does not accept gzip. Never: reads
// past its input or writes more than `max_out` bytes; every malformed stream is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace outpost::core {

// CRC-32 (ISO-HDLC, the gzip and PNG one) of `data`, continuing from `crc` (0 to start).
uint32_t crc32(std::string_view data, uint32_t crc = 0);

// Decompresses the single gzip member in `gz` (header flags FEXTRA, FNAME, FCOMMENT and FHCRC
// are skipped; the CRC-32 and length in the trailer are checked). Fails with malformed on a
// bad header, a bad DEFLATE stream, a trailer mismatch or bytes after the member, and with
// too_large when the output would exceed `max_out`.
Result<std::string> gunzip(std::string_view gz, size_t max_out);

} // namespace outpost::core
