// sio.cpp - Socket.IO packet codec, query-string helpers and placeholder checks (see sio.h).
// Owns: lexical decoding with views into the input. Never: parses JSON itself, except to
// walk a tree the caller already parsed.
#include "proto/sio.h"

#include <cjson/cJSON.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace outpost::proto {
namespace {

constexpr size_t kMaxIdDigits = 16;
constexpr size_t kMaxCountDigits = 10;
constexpr int kMaxJsonDepth = 64;

Result<SioPacket> fail(Status s, const char* why) { return Result<SioPacket>::fail(s, why); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_binary(SioType t) { return t == SioType::binary_event || t == SioType::binary_ack; }
bool needs_id(SioType t) { return t == SioType::ack || t == SioType::binary_ack; }

size_t digit_run(std::string_view s, size_t pos) {
    size_t end = pos;
    while (end < s.size() && is_digit(s[end])) ++end;
    return end - pos;
}

// Value of a run of at most `max_digits` decimal digits (the caller checked they are digits).
bool parse_run(std::string_view digits, size_t max_digits, uint64_t& value) {
    if (digits.empty() || digits.size() > max_digits) return false;
    value = 0;
    for (char c : digits) value = value * 10 + static_cast<uint64_t>(c - '0');
    return true;
}

// "<n>-" after the type: required for binary types, refused for the others.
Status read_attachments(std::string_view text, size_t& pos, SioPacket& p) {
    const size_t n = digit_run(text, pos);
    const bool has_count = n > 0 && pos + n < text.size() && text[pos + n] == '-';
    if (!is_binary(p.type)) return has_count ? Status::malformed : Status::ok;
    uint64_t count = 0;
    if (!has_count || !parse_run(text.substr(pos, n), kMaxCountDigits, count)) {
        return n > kMaxCountDigits && has_count ? Status::too_large : Status::malformed;
    }
    if (count == 0) return Status::malformed;
    if (count > kMaxAttachments) return Status::too_large;
    p.attachments = static_cast<uint32_t>(count);
    pos += n + 1;
    return Status::ok;
}

// "/nsp," or "/nsp" to the end of the input.
void read_nsp(std::string_view text, size_t& pos, SioPacket& p) {
    if (pos >= text.size() || text[pos] != '/') return;
    const size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) {
        p.nsp = text.substr(pos);
        pos = text.size();
        return;
    }
    p.nsp = text.substr(pos, comma - pos);
    pos = comma + 1;
}

Status read_id(std::string_view text, size_t& pos, SioPacket& p) {
    const size_t n = digit_run(text, pos);
    if (n == 0) return needs_id(p.type) ? Status::malformed : Status::ok;
    uint64_t id = 0;
    if (!parse_run(text.substr(pos, n), kMaxIdDigits, id) || id > static_cast<uint64_t>(kMaxAckId))
        return Status::malformed;
    p.id = static_cast<int64_t>(id);
    pos += n;
    return Status::ok;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// application/x-www-form-urlencoded decoding: %XX escapes and '+' as space.
bool percent_decode(std::string_view in, std::string& out) {
    out.clear();
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') { out += ' '; continue; }
        if (in[i] != '%') { out += in[i]; continue; }
        if (in.size() - i < 3) return false;
        const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return true;
}

bool is_integer_in(const cJSON* num, uint32_t limit) {
    if (!cJSON_IsNumber(num)) return false;
    const double v = num->valuedouble;
    return std::isfinite(v) && v >= 0 && v < static_cast<double>(limit) && std::floor(v) == v;
}

// Placeholder bookkeeping: which attachment indexes were seen, and how many placeholders.
struct PlaceholderScan {
    uint32_t attachments = 0;
    uint32_t found = 0;
    uint64_t seen = 0; // bit k: attachment k referenced
};

// `obj` has a "_placeholder" member: it must be exactly {"_placeholder":true,"num":k}.
Status check_one_placeholder(const cJSON* obj, PlaceholderScan& scan) {
    if (cJSON_GetArraySize(obj) != 2) return Status::malformed;
    const cJSON* flag = cJSON_GetObjectItemCaseSensitive(obj, "_placeholder");
    const cJSON* num = cJSON_GetObjectItemCaseSensitive(obj, "num");
    if (!cJSON_IsTrue(flag) || !is_integer_in(num, scan.attachments)) return Status::malformed;
    const uint64_t bit = uint64_t{1} << static_cast<uint32_t>(num->valuedouble);
    if (scan.seen & bit) return Status::malformed; // each attachment is referenced once
    scan.seen |= bit;
    ++scan.found;
    return Status::ok;
}

bool has_placeholder_key(const cJSON* obj) {
    for (const cJSON* c = obj->child; c != nullptr; c = c->next)
        if (c->string != nullptr && std::strcmp(c->string, "_placeholder") == 0) return true;
    return false;
}

// Containers (objects, arrays) nested deeper than kMaxJsonDepth are refused.
Status walk(const cJSON* node, int depth, PlaceholderScan& scan) {
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) return Status::ok;
    if (depth > kMaxJsonDepth) return Status::malformed;
    if (cJSON_IsObject(node) && has_placeholder_key(node)) return check_one_placeholder(node, scan);
    for (const cJSON* c = node->child; c != nullptr; c = c->next) {
        const Status s = walk(c, depth + 1, scan);
        if (s != Status::ok) return s;
    }
    return Status::ok;
}

} // namespace

Result<SioPacket> socket_io::decode_packet(std::string_view text) {
    SioPacket p;
    if (text.empty() || text[0] < '0' || text[0] > '6') return fail(Status::malformed, "bad socket.io packet type");
    p.type = static_cast<SioType>(text[0] - '0');
    size_t pos = 1;
    const Status s = read_attachments(text, pos, p);
    if (s != Status::ok) return fail(s, "bad socket.io attachment count");
    read_nsp(text, pos, p);
    if (read_id(text, pos, p) != Status::ok) return fail(Status::malformed, "bad socket.io ack id");
    if (pos < text.size()) {
        const char c = text[pos];
        if (c != '[' && c != '{' && c != '"') return fail(Status::malformed, "bad socket.io packet data");
        p.data = text.substr(pos);
    }
    return p;
}

void encode_packet(std::string& out, const SioPacket& p) {
    char buf[24];
    out += static_cast<char>('0' + static_cast<int>(p.type));
    if (is_binary(p.type)) {
        out.append(buf, std::to_chars(buf, buf + sizeof buf, p.attachments).ptr);
        out += '-';
    }
    if (!p.nsp.empty() && p.nsp != "/") {
        out += p.nsp;
        out += ',';
    }
    if (p.id >= 0) out.append(buf, std::to_chars(buf, buf + sizeof buf, p.id).ptr);
    out += p.data;
}

void split_nsp(std::string_view nsp, std::string_view& path, std::string_view& query) {
    const size_t q = nsp.find('?');
    path = nsp.substr(0, q);
    query = q == std::string_view::npos ? std::string_view{} : nsp.substr(q + 1);
}

bool query_param(std::string_view query, std::string_view key, std::string& out) {
    std::string name;
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const size_t eq = pair.find('=');
        if (!percent_decode(pair.substr(0, eq), name) || name != key) continue;
        const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        return percent_decode(value, out);
    }
    return false;
}

Status check_placeholders(const cJSON* root, uint32_t attachments) {
    if (attachments > kMaxAttachments) return Status::too_large;
    if (root == nullptr) return Status::malformed;
    PlaceholderScan scan;
    scan.attachments = attachments;
    const Status s = walk(root, 1, scan);
    if (s != Status::ok) return s;
    return scan.found == attachments ? Status::ok : Status::malformed;
}

} // namespace outpost::proto
