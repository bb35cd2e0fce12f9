// fuzz_json.cpp - libFuzzer target: proto::json (the compactor that keeps message bodies as sent,
// and the spans of an event's elements and members). Oracles: a compacted value compacts to
// itself; a compacted array's elements and a compacted object's members can be read back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/json.h"

using namespace outpost;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string out, why, again;
    if (proto::json::compact(text, out, why)) {
        check(out.size() <= text.size());
        check(proto::json::compact(out, again, why) && again == out);
        std::vector<proto::json::Span> items;
        std::vector<proto::json::Member> members;
        if (out[0] == '[') check(proto::json::elements(out, items));
        if (out[0] == '{') check(proto::json::members(out, members));
        for (const proto::json::Span& s : items) check(proto::json::compact(s.text, again, why));
        for (const proto::json::Member& m : members) check(proto::json::compact(m.value.text, again, why));
    } else {
        check(!why.empty() && out.empty());
    }
    std::vector<proto::json::Span> items;
    std::vector<proto::json::Member> members;
    (void)proto::json::elements(text, items);
    (void)proto::json::members(text, members);
    (void)proto::json::may_hold_nul(text);
    return 0;
}
