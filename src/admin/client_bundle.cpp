// client_bundle.cpp - Serving the embedded socket.io-client bundle (see client_bundle.h).
#include "admin/client_bundle.h"

#include <array>

#include "admin/http_api.h"
#include "core/gunzip.h"

namespace outpost::admin {
namespace {

constexpr size_t kMaxAssets = 8;

struct Assets {
    std::array<ClientAsset, kMaxAssets> list{};
    size_t count = 0;
    Assets() {
        const char* base = reinterpret_cast<const char*>(bundle::kClientGzip);
        for (size_t i = 0; i < bundle::kClientAssetCount && i < kMaxAssets; ++i) {
            const bundle::ClientAssetRecord& r = bundle::kClientAssets[i];
            list[count++] = ClientAsset{r.name, std::string_view(base + r.offset, r.gzip_size), r.etag, r.size};
        }
    }
};

const Assets& assets() {
    static const Assets a;
    return a;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Calls f(element) for each comma-separated element of a header value, trimmed, empty ones skipped.
template <class F>
void each_element(std::string_view value, F f) {
    while (!value.empty()) {
        size_t comma = value.find(',');
        std::string_view item = trim(value.substr(0, comma));
        if (!item.empty()) f(item);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
}

} // namespace

const ClientAsset* find_client_asset(std::string_view name) {
    const Assets& a = assets();
    for (size_t i = 0; i < a.count; ++i)
        if (a.list[i].name == name) return &a.list[i];
    return nullptr;
}

std::string_view client_bundle_version() { return bundle::kClientVersion; }

bool accepts_gzip(std::string_view accept_encoding) {
    bool yes = false;
    each_element(accept_encoding, [&](std::string_view item) {
        size_t semi = item.find(';');
        std::string_view coding = trim(item.substr(0, semi));
        if (!iequals(coding, "gzip") && !iequals(coding, "x-gzip") && coding != "*") return;
        bool refused = false; // ";q=0", "; q=0.0", "q=0.000": not acceptable (RFC 9110 §12.4.2)
        if (semi != std::string_view::npos) {
            std::string_view params = trim(item.substr(semi + 1));
            if (params.size() >= 3 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
                std::string_view q = params.substr(2);
                refused = q.front() == '0' && q.find_first_not_of("0.", 0) == std::string_view::npos;
            }
        }
        if (!refused) yes = true;
    });
    return yes;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    auto opaque = [](std::string_view t) { return t.substr(0, 2) == "W/" ? t.substr(2) : t; };
    bool match = false;
    each_element(if_none_match, [&](std::string_view tag) {
        if (tag == "*" || opaque(tag) == opaque(etag)) match = true;
    });
    return match;
}

net::HttpResponse serve_client_file(std::string_view name, std::string_view if_none_match, std::string_view accept_encoding) {
    const ClientAsset* a = find_client_asset(name);
    if (!a) return error_answer(404, "not_found", "no such file");
    bool map = name.size() > 4 && name.substr(name.size() - 4) == ".map";
    net::HttpResponse r{200, map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8", {}};
    // max-age=0: the page revalidates each load and gets a 304 while the bundle is unchanged.
    r.headers = {{"etag", std::string(a->etag)}, {"cache-control", "public, max-age=0"}, {"vary", "Accept-Encoding"}};
    if (!if_none_match.empty() && etag_matches(if_none_match, a->etag)) {
        r.status = 304;
        return r;
    }
    if (accepts_gzip(accept_encoding)) {
        r.headers.emplace_back("content-encoding", "gzip");
        r.body.assign(a->gzip);
        return r;
    }
    Result<std::string> plain = core::gunzip(a->gzip, a->size);
    if (!plain.ok()) return error_answer(500, "internal", "embedded bundle is corrupt");
    r.body = std::move(plain).value();
    return r;
}

} // namespace outpost::admin
