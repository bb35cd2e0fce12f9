// gunzip.cpp - gzip member + DEFLATE decoder (see gunzip.h). Canonical Huffman codes are decoded
// one bit at a time from per-length counts, which needs no tables beyond the code lengths: slower
// than zlib's lookup tables, but a few hundred bytes of code for a path that is rarely taken.
#include "core/gunzip.h"

#include <array>

namespace outpost::core {
namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
        uint32_t c = n;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[n] = c;
    }
    return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

constexpr int kMaxBits = 15;     // longest DEFLATE code
constexpr int kLitLenCodes = 288; // 0-255 literals, 256 end of block, 257-285 lengths (286-287 unused)
constexpr int kDistCodes = 30;

// RFC 1951 §3.2.5: base value and extra bits of length codes 257..285 and distance codes 0..29.
constexpr uint16_t kLenBase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
                                    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// §3.2.7: the order in which code length code lengths are sent.
constexpr uint8_t kClenOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    std::array<uint16_t, kMaxBits + 1> count{};
    std::array<uint16_t, kLitLenCodes> symbol{};
};

// Builds `h` from the code length of each of `n` symbols (0 = unused). False when the lengths
// over-subscribe the code space (no prefix code has them); an incomplete code is accepted and a
// bit pattern outside it fails in decode().
bool build(Huffman& h, const uint8_t* lengths, int n) {
    h.count.fill(0);
    for (int s = 0; s < n; ++s) ++h.count[lengths[s]];
    h.count[0] = 0;
    int left = 1;
    for (int len = 1; len <= kMaxBits; ++len) {
        left = (left << 1) - h.count[len];
        if (left < 0) return false;
    }
    std::array<uint16_t, kMaxBits + 1> next{};
    for (int len = 1; len < kMaxBits; ++len) next[len + 1] = uint16_t(next[len] + h.count[len]);
    for (int s = 0; s < n; ++s)
        if (lengths[s]) h.symbol[next[lengths[s]]++] = uint16_t(s);
    return true;
}

class Inflater {
public:
    Inflater(std::string_view in, size_t pos, std::string& out, size_t max_out) : in_(in), pos_(pos), out_(out), max_out_(max_out) {}

    // Decodes blocks until the final one; Status::ok, malformed or too_large.
    Status run() {
        bool last = false;
        while (!last) {
            last = bits(1) == 1;
            uint32_t type = bits(2);
            Status s = Status::malformed;
            if (type == 0) s = stored();
            else if (type == 1) s = fixed();
            else if (type == 2) s = dynamic();
            if (overrun_) return Status::malformed;
            if (s != Status::ok) return s;
        }
        return Status::ok;
    }
    // The first byte after the DEFLATE stream (the unused bits of its last byte are dropped).
    size_t end() const { return pos_; }

private:
    // The next `need` bits (LSB first); zeros and overrun_ once the input is exhausted.
    uint32_t bits(int need) {
        while (bitcnt_ < need) {
            if (pos_ >= in_.size()) {
                overrun_ = true;
                return 0;
            }
            bitbuf_ |= uint32_t(uint8_t(in_[pos_++])) << bitcnt_;
            bitcnt_ += 8;
        }
        uint32_t v = bitbuf_ & ((1u << need) - 1);
        bitbuf_ >>= need;
        bitcnt_ -= need;
        return v;
    }

    // The next symbol of `h`, or -1 for a bit pattern that is no code (or the input ran out).
    int decode(const Huffman& h) {
        int code = 0, first = 0, index = 0;
        for (int len = 1; len <= kMaxBits; ++len) {
            code |= int(bits(1));
            if (overrun_) return -1;
            int count = h.count[len];
            if (code - first < count) return h.symbol[size_t(index + code - first)];
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        return -1;
    }

    Status stored() {
        bitbuf_ = 0; // the rest of the current byte is padding
        bitcnt_ = 0;
        if (in_.size() - pos_ < 4) return Status::malformed;
        auto byte = [&](size_t i) { return uint32_t(uint8_t(in_[pos_ + i])); };
        uint32_t len = byte(0) | byte(1) << 8, nlen = byte(2) | byte(3) << 8;
        pos_ += 4;
        if (len != (~nlen & 0xFFFFu)) return Status::malformed;
        if (in_.size() - pos_ < len) return Status::malformed;
        if (out_.size() + len > max_out_) return Status::too_large;
        out_.append(in_.data() + pos_, len);
        pos_ += len;
        return Status::ok;
    }

    // Literals and <length, distance> pairs until end of block (symbol 256).
    Status codes(const Huffman& lit, const Huffman& dist) {
        for (;;) {
            int sym = decode(lit);
            if (sym < 0) return Status::malformed;
            if (sym < 256) {
                if (out_.size() >= max_out_) return Status::too_large;
                out_.push_back(char(sym));
                continue;
            }
            if (sym == 256) return Status::ok;
            sym -= 257;
            if (sym >= 29) return Status::malformed;
            size_t len = kLenBase[sym] + bits(kLenExtra[sym]);
            int ds = decode(dist);
            if (ds < 0 || ds >= kDistCodes) return Status::malformed;
            size_t d = kDistBase[ds] + bits(kDistExtra[ds]);
            if (overrun_ || d > out_.size()) return Status::malformed;
            if (out_.size() + len > max_out_) return Status::too_large;
            size_t from = out_.size() - d;
            for (size_t i = 0; i < len; ++i) out_.push_back(out_[from + i]); // may overlap what it appends
        }
    }

    Status fixed() {
        if (!fixed_built_) {
            uint8_t lengths[kLitLenCodes];
            int s = 0;
            for (; s < 144; ++s) lengths[s] = 8;
            for (; s < 256; ++s) lengths[s] = 9;
            for (; s < 280; ++s) lengths[s] = 7;
            for (; s < kLitLenCodes; ++s) lengths[s] = 8;
            build(fixed_lit_, lengths, kLitLenCodes);
            for (s = 0; s < kDistCodes; ++s) lengths[s] = 5;
            build(fixed_dist_, lengths, kDistCodes);
            fixed_built_ = true;
        }
        return codes(fixed_lit_, fixed_dist_);
    }

    Status dynamic() {
        int nlen = int(bits(5)) + 257, ndist = int(bits(5)) + 1, nclen = int(bits(4)) + 4;
        if (overrun_ || nlen > 286 || ndist > kDistCodes) return Status::malformed;
        uint8_t lengths[286 + kDistCodes] = {};
        for (int i = 0; i < nclen; ++i) lengths[kClenOrder[i]] = uint8_t(bits(3));
        Huffman clen;
        if (overrun_ || !build(clen, lengths, 19)) return Status::malformed;
        int i = 0;
        while (i < nlen + ndist) {
            int sym = decode(clen);
            if (sym < 0) return Status::malformed;
            if (sym < 16) {
                lengths[i++] = uint8_t(sym);
                continue;
            }
            uint8_t value = 0;
            int repeat = 0;
            if (sym == 16) {
                if (i == 0) return Status::malformed; // nothing to repeat
                value = lengths[i - 1];
                repeat = 3 + int(bits(2));
            } else if (sym == 17) {
                repeat = 3 + int(bits(3));
            } else {
                repeat = 11 + int(bits(7));
            }
            if (overrun_ || i + repeat > nlen + ndist) return Status::malformed;
            while (repeat--) lengths[i++] = value;
        }
        if (lengths[256] == 0) return Status::malformed; // no end-of-block code
        Huffman lit, dist;
        if (!build(lit, lengths, nlen) || !build(dist, lengths + nlen, ndist)) return Status::malformed;
        return codes(lit, dist);
    }

    std::string_view in_;
    size_t pos_;
    std::string& out_;
    size_t max_out_;
    uint32_t bitbuf_ = 0;
    int bitcnt_ = 0;
    bool overrun_ = false;
    bool fixed_built_ = false;
    Huffman fixed_lit_, fixed_dist_;
};

uint32_t le32(std::string_view s, size_t at) {
    return uint32_t(uint8_t(s[at])) | uint32_t(uint8_t(s[at + 1])) << 8 | uint32_t(uint8_t(s[at + 2])) << 16 |
           uint32_t(uint8_t(s[at + 3])) << 24;
}

} // namespace

uint32_t crc32(std::string_view data, uint32_t crc) {
    crc = ~crc;
    for (char ch : data) crc = kCrcTable[(crc ^ uint8_t(ch)) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

Result<std::string> gunzip(std::string_view gz, size_t max_out) {
    using R = Result<std::string>;
    // RFC 1952 §2.3: ID1 ID2 CM FLG MTIME(4) XFL OS [FEXTRA] [FNAME] [FCOMMENT] [FHCRC] data CRC32 ISIZE
    enum : uint8_t { kFhcrc = 2, kFextra = 4, kFname = 8, kFcomment = 16, kReserved = 0xE0 };
    if (gz.size() < 18 || uint8_t(gz[0]) != 0x1f || uint8_t(gz[1]) != 0x8b)
        return R::fail(Status::malformed, "gzip: not a gzip stream");
    if (gz[2] != 8) return R::fail(Status::malformed, "gzip: compression method is not DEFLATE");
    uint8_t flags = uint8_t(gz[3]);
    if (flags & kReserved) return R::fail(Status::malformed, "gzip: reserved header flags set");
    const std::string_view head = gz.substr(0, gz.size() - 8); // the header and data: never the trailer
    size_t pos = 10;
    if (flags & kFextra) {
        if (head.size() - pos < 2) return R::fail(Status::malformed, "gzip: truncated header");
        size_t xlen = size_t(uint8_t(head[pos])) | size_t(uint8_t(head[pos + 1])) << 8;
        pos += 2;
        if (head.size() - pos < xlen) return R::fail(Status::malformed, "gzip: truncated header");
        pos += xlen;
    }
    for (uint8_t zero_terminated : {kFname, kFcomment}) {
        if (!(flags & zero_terminated)) continue;
        size_t nul = head.find('\0', pos);
        if (nul == std::string_view::npos) return R::fail(Status::malformed, "gzip: truncated header");
        pos = nul + 1;
    }
    if (flags & kFhcrc) pos += 2;
    if (pos > head.size()) return R::fail(Status::malformed, "gzip: truncated header");

    std::string out;
    uint32_t expected_size = le32(gz, gz.size() - 4); // a hint only until checked below
    if (expected_size <= max_out) out.reserve(expected_size);
    Inflater inflater(head, pos, out, max_out); // pos <= head.size(): the inflater never starts past its input
    Status s = inflater.run();
    if (s == Status::too_large) return R::fail(s, "gzip: decompressed size over " + std::to_string(max_out) + " bytes");
    if (s != Status::ok) return R::fail(s, "gzip: invalid DEFLATE data");
    if (inflater.end() != head.size()) return R::fail(Status::malformed, "gzip: data after the compressed stream");
    if (le32(gz, gz.size() - 8) != crc32(out)) return R::fail(Status::malformed, "gzip: CRC-32 mismatch");
    if (expected_size != uint32_t(out.size())) return R::fail(Status::malformed, "gzip: length mismatch");
    return out;
}

} // namespace outpost::core
