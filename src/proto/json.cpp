// json.cpp - Compaction and spans of JSON text (see json.h).
#include "proto/json.h"

#include <cstring>

#include "core/utf8.h"

namespace outpost::proto::json {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xc0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += char(0xe0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    } else {
        out += char(0xf0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3f));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    }
}

// One pass over JSON text. `strict`: RFC 8259 (compact); otherwise as lenient as cJSON, which
// parsed the same text before (elements, members). Copies what it reads to `out` when set.
struct Scanner {
    const char* begin;
    const char* p;
    const char* end;
    bool strict;
    std::string* out = nullptr;
    bool nul = false; // a NUL character was read in a string since the caller last cleared it
    std::string why;

    Scanner(std::string_view text, bool strict_) : begin(text.data()), p(text.data()), end(text.data() + text.size()), strict(strict_) {}

    bool fail(const char* what) {
        why = "offset " + std::to_string(p - begin) + ": " + what;
        return false;
    }
    void ws() {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
    }
    void emit(const char* from) {
        if (out) out->append(from, size_t(p - from));
    }
    bool at(char c) const { return p < end && *p == c; }

    // A string; with `key`, its decoded value too.
    bool string(std::string* key) {
        if (!at('"')) return fail("expected a string");
        const char* start = p++;
        for (;;) {
            if (p >= end) return fail("unterminated string");
            unsigned char c = static_cast<unsigned char>(*p);
            if (c == '"') break;
            if (c == '\\') {
                if (end - p < 2) return fail("unterminated escape");
                char e = p[1];
                if (e == 'u') {
                    unsigned cp = 0;
                    if (end - p < 6 || !hex4(p + 2, cp)) return fail("bad \\u escape");
                    p += 6;
                    if (cp == 0) nul = true;
                    if (key) {
                        unsigned lo = 0;
                        if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, lo) &&
                            lo >= 0xdc00 && lo <= 0xdfff) {
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            p += 6;
                        }
                        append_utf8(*key, cp);
                    }
                    continue;
                }
                static constexpr char kEscapes[] = "\"\\/bfnrt";
                const char* hit = e ? std::strchr(kEscapes, e) : nullptr;
                if (!hit) return fail("bad escape");
                if (key) *key += "\"\\/\b\f\n\r\t"[hit - kEscapes];
                p += 2;
                continue;
            }
            if (c < 0x20) {
                if (c == 0) nul = true;
                if (strict) return fail("raw control character in a string (JSON requires a \\u escape)");
            } else if (c >= 0x80 && strict) {
                size_t n = core::utf8_sequence(std::string_view(p, size_t(end - p)), 0);
                if (n == 0) return fail("invalid UTF-8 in a string");
                if (key) key->append(p, n);
                p += n;
                continue;
            }
            if (key) *key += char(c);
            ++p;
        }
        ++p;
        emit(start);
        return true;
    }
    static bool hex4(const char* h, unsigned& cp) {
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            int v = hex_value(h[i]);
            if (v < 0) return false;
            cp = cp * 16 + unsigned(v);
        }
        return true;
    }
    bool digits() {
        if (p >= end || !is_digit(*p)) return false;
        while (p < end && is_digit(*p)) ++p;
        return true;
    }
    bool number() {
        const char* start = p;
        if (!strict) { // the characters strtod may read in a cJSON number
            while (p < end && *p && std::strchr("+-0123456789.eE", *p)) ++p;
            if (p == start) return fail("expected a value");
            emit(start);
            return true;
        }
        if (at('-')) ++p;
        if (at('0')) ++p;
        else if (!digits()) return fail("bad number");
        if (at('.')) {
            ++p;
            if (!digits()) return fail("bad number: digits must follow '.'");
        }
        if (at('e') || at('E')) {
            ++p;
            if (at('+') || at('-')) ++p;
            if (!digits()) return fail("bad number: digits must follow the exponent");
        }
        if (p < end && (is_digit(*p) || *p == '.')) return fail("bad number");
        emit(start);
        return true;
    }
    bool literal() {
        for (std::string_view word : {"true", "false", "null"}) {
            if (size_t(end - p) >= word.size() && std::string_view(p, word.size()) == word) {
                const char* start = p;
                p += word.size();
                emit(start);
                return true;
            }
        }
        return fail("expected a value");
    }
    bool key_colon() {
        ws();
        if (!string(nullptr)) return false;
        ws();
        if (!at(':')) return fail("expected ':'");
        const char* start = p++;
        emit(start);
        return true;
    }
    // One value; containers are followed with an explicit stack of their opening brackets.
    bool value() {
        std::string open; // '[' or '{' per level
        for (;;) {
            ws();
            if (p >= end) return fail("expected a value");
            char c = *p;
            if (c == '[' || c == '{') {
                if (open.size() >= kMaxDepth) return fail("nested too deep");
                const char* start = p++;
                emit(start);
                ws();
                if (at(c == '[' ? ']' : '}')) {
                    start = p++;
                    emit(start);
                } else {
                    open += c;
                    if (c == '{' && !key_colon()) return false;
                    continue;
                }
            } else if (c == '"') {
                if (!string(nullptr)) return false;
            } else if (c == '-' || is_digit(c)) {
                if (!number()) return false;
            } else if (!literal()) {
                return false;
            }
            // After a value: close containers until one continues with ','.
            for (;;) {
                if (open.empty()) return true;
                ws();
                char top = open.back();
                if (at(',')) {
                    const char* start = p++;
                    emit(start);
                    if (top == '{' && !key_colon()) return false;
                    break;
                }
                if (at(top == '[' ? ']' : '}')) {
                    const char* start = p++;
                    emit(start);
                    open.pop_back();
                    continue;
                }
                return fail(top == '[' ? "expected ',' or ']'" : "expected ',' or '}'");
            }
        }
    }
};

} // namespace

bool compact(std::string_view text, std::string& out, std::string& why) {
    size_t was = out.size();
    Scanner s(text, true);
    s.out = &out;
    s.ws();
    bool ok = s.value();
    if (ok) {
        s.ws();
        if (s.p != s.end) ok = s.fail("characters after the value");
    }
    if (!ok) {
        out.resize(was);
        why = s.why;
    }
    return ok;
}

bool elements(std::string_view array_text, std::vector<Span>& out) {
    Scanner s(array_text, false);
    s.ws();
    if (!s.at('[')) return false;
    ++s.p;
    s.ws();
    if (s.at(']')) {
        ++s.p;
    } else {
        for (;;) {
            s.ws();
            const char* start = s.p;
            s.nul = false;
            if (!s.value()) return false;
            out.push_back(Span{std::string_view(start, size_t(s.p - start)), s.nul});
            s.ws();
            if (s.at(',')) {
                ++s.p;
                continue;
            }
            if (!s.at(']')) return false;
            ++s.p;
            break;
        }
    }
    s.ws();
    return s.p == s.end;
}

bool members(std::string_view object_text, std::vector<Member>& out) {
    Scanner s(object_text, false);
    s.ws();
    if (!s.at('{')) return false;
    ++s.p;
    s.ws();
    if (s.at('}')) {
        ++s.p;
    } else {
        for (;;) {
            Member m;
            s.ws();
            s.nul = false;
            if (!s.string(&m.key)) return false;
            m.key_nul = s.nul;
            s.ws();
            if (!s.at(':')) return false;
            ++s.p;
            s.ws();
            const char* start = s.p;
            s.nul = false;
            if (!s.value()) return false;
            m.value = Span{std::string_view(start, size_t(s.p - start)), s.nul};
            out.push_back(std::move(m));
            s.ws();
            if (s.at(',')) {
                ++s.p;
                continue;
            }
            if (!s.at('}')) return false;
            ++s.p;
            break;
        }
    }
    s.ws();
    return s.p == s.end;
}

bool may_hold_nul(std::string_view text) {
    return text.find("\\u0000") != std::string_view::npos || text.find('\0') != std::string_view::npos;
}

} // namespace outpost::proto::json
