// json.h - JSON text read as text: compaction and the spans of an array's elements and of an
// object's members, without building a tree.
// Owns: what a client's JSON said byte for byte (a message body is stored and delivered as sent,
// compacted, never re-printed through doubles: PROTOCOL.md §6) and where a NUL character sits
// (cJSON ends strings at one: "a\u0000b" reads as "a").
// Never: allocates per value, or recurses (nesting is followed with an explicit stack).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::proto::json {

constexpr size_t kMaxDepth = 1000; // cJSON's own nesting limit

// Appends `text` (one JSON value, optionally surrounded by whitespace) to `out` without its
// insignificant whitespace; everything else is kept byte for byte (numbers as written, string
// escapes as written). Strict RFC 8259: numbers by the grammar (no "01", "1.", "+1"), strings
// without raw control characters and in valid UTF-8, literals true/false/null, nesting at most
// kMaxDepth. On failure returns false and sets `why` ("offset 12: ...").
bool compact(std::string_view text, std::string& out, std::string& why);

// A value inside a larger text, as received.
struct Span {
    std::string_view text;
    bool nul = false; // a string in it (or a member name) holds a NUL: \u0000 or a raw 0 byte
};
struct Member {
    std::string key;  // the member name, escapes decoded (UTF-8)
    bool key_nul = false;
    Span value;
};

// The elements of a JSON array text. Lenient where cJSON is (raw control characters in strings,
// numbers as strtod reads them), so it accepts what the event parser accepted. False when the
// text is not an array.
bool elements(std::string_view array_text, std::vector<Span>& out);
// The members of a JSON object text, in order (duplicates kept). False when not an object.
bool members(std::string_view object_text, std::vector<Member>& out);

// True when `text` may hold a NUL character (a "\u0000" escape or a raw 0 byte): a quick test
// before the exact answer from elements()/members().
bool may_hold_nul(std::string_view text);

} // namespace outpost::proto::json
