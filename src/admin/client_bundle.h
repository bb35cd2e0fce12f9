// client_bundle.h - The socket.io-client browser bundle served at /socket.io/ (PROTOCOL.md §10).
// Owns: the files embedded at build time (src/admin/client/embed.mjs writes their gzip bytes into
// client_bundle_data.cpp) and how one is answered: ETag / 304, gzip bytes as stored when the
// client accepts gzip, decompressed otherwise. Never: touches the file system at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/engine.h"

namespace outpost::admin {

namespace bundle { // written by embed.mjs
struct ClientAssetRecord {
    const char* name;    // "socket.io.min.js"
    uint32_t offset;     // into kClientGzip
    uint32_t gzip_size;  // one gzip member (RFC 1952, mtime 0)
    uint32_t size;       // bytes once decompressed
    const char* etag;    // W/"<version>-<sha-256 prefix of the file>"
};
extern const char* const kClientVersion;
extern const unsigned char kClientGzip[];
extern const ClientAssetRecord kClientAssets[];
extern const size_t kClientAssetCount;
} // namespace bundle

struct ClientAsset {
    std::string_view name, gzip, etag;
    size_t size = 0;
};

// The embedded file called `name` ("socket.io.js"), or nullptr.
const ClientAsset* find_client_asset(std::string_view name);
std::string_view client_bundle_version(); // "4.8.4"

// True when an Accept-Encoding value allows gzip (gzip, x-gzip or *, without q=0).
bool accepts_gzip(std::string_view accept_encoding);
// True when an If-None-Match value names `etag` (weak comparison, RFC 9110 §13.1.2) or is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// The answer to GET /socket.io/<name>: 404 for an unknown name, 304 when If-None-Match matches,
// else 200 with the file (Content-Encoding: gzip when accepted). Always ETag, Vary, Cache-Control.
net::HttpResponse serve_client_file(std::string_view name, std::string_view if_none_match, std::string_view accept_encoding);

} // namespace outpost::admin
