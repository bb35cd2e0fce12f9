// client_bundle_test.cpp - The embedded socket.io-client bundle: every file is there and expands
// to its recorded size (CRC-32 checked), and how GET /socket.io/<file> is answered: ETag, 304,
// gzip only when accepted, 404 for other names.
#include "admin/client_bundle.h"

#include <gtest/gtest.h>

#include <string>

#include "core/gunzip.h"

namespace outpost::admin::test {
namespace {

constexpr const char* kFiles[] = {"socket.io.js",     "socket.io.js.map",     "socket.io.min.js",
                                  "socket.io.min.js.map", "socket.io.esm.min.js", "socket.io.esm.min.js.map"};

std::string header(const net::HttpResponse& r, std::string_view name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return "<absent>";
}

TEST(ClientBundle, EveryFileIsEmbeddedAndExpandsIntact) {
    EXPECT_EQ(client_bundle_version().substr(0, 4), "4.8.");
    for (const char* name : kFiles) {
        const ClientAsset* a = find_client_asset(name);
        ASSERT_NE(a, nullptr) << name;
        EXPECT_LT(a->gzip.size(), a->size) << name;
        auto plain = core::gunzip(a->gzip, a->size); // checks the CRC-32 and length of the trailer
        ASSERT_TRUE(plain.ok()) << name << ": " << plain.error().message;
        EXPECT_EQ(plain->size(), a->size);
        bool map = std::string_view(name).ends_with(".map");
        if (map) EXPECT_EQ(plain->substr(0, 12), "{\"version\":3") << name;
        else EXPECT_NE(plain->find("Socket.IO v" + std::string(client_bundle_version())), std::string::npos) << name;
        EXPECT_TRUE(a->etag.starts_with("W/\"" + std::string(client_bundle_version()) + "-")) << a->etag;
    }
    EXPECT_EQ(find_client_asset("socket.io.msgpack.min.js"), nullptr); // not served
    EXPECT_EQ(find_client_asset(""), nullptr);
    EXPECT_EQ(find_client_asset("../socket.io.js"), nullptr);
}

TEST(ClientBundle, AcceptsGzip) {
    for (const char* yes : {"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "GZIP", "x-gzip", "*", "deflate, *;q=0.1",
                            " gzip ; q=1", "identity, gzip;q=0.5"})
        EXPECT_TRUE(accepts_gzip(yes)) << yes;
    for (const char* no : {"", "identity", "deflate, br", "gzip;q=0", "gzip; q=0.0", "gzip;q=0.000, br", "gzipx", "*;q=0"})
        EXPECT_FALSE(accepts_gzip(no)) << no;
}

TEST(ClientBundle, EtagMatches) {
    EXPECT_TRUE(etag_matches("W/\"4.8.4-abc\"", "W/\"4.8.4-abc\""));
    EXPECT_TRUE(etag_matches("\"4.8.4-abc\"", "W/\"4.8.4-abc\"")); // weak comparison
    EXPECT_TRUE(etag_matches("\"x\", W/\"4.8.4-abc\"", "W/\"4.8.4-abc\""));
    EXPECT_TRUE(etag_matches("*", "W/\"4.8.4-abc\""));
    EXPECT_FALSE(etag_matches("W/\"4.8.4-abd\"", "W/\"4.8.4-abc\""));
    EXPECT_FALSE(etag_matches("", "W/\"4.8.4-abc\""));
    EXPECT_FALSE(etag_matches("4.8.4-abc", "W/\"4.8.4-abc\""));
}

TEST(ClientBundle, ServeGzipPlainAnd304) {
    const ClientAsset* a = find_client_asset("socket.io.min.js");
    ASSERT_NE(a, nullptr);
    net::HttpResponse gz = serve_client_file("socket.io.min.js", "", "gzip, deflate");
    EXPECT_EQ(gz.status, 200);
    EXPECT_EQ(gz.content_type, "application/javascript; charset=utf-8");
    EXPECT_EQ(header(gz, "content-encoding"), "gzip");
    EXPECT_EQ(header(gz, "etag"), a->etag);
    EXPECT_EQ(header(gz, "vary"), "Accept-Encoding");
    EXPECT_EQ(header(gz, "cache-control"), "public, max-age=0");
    EXPECT_EQ(gz.body, a->gzip); // the stored bytes as they are

    net::HttpResponse plain = serve_client_file("socket.io.min.js", "", "");
    EXPECT_EQ(plain.status, 200);
    EXPECT_EQ(header(plain, "content-encoding"), "<absent>");
    EXPECT_EQ(plain.body.size(), a->size);
    EXPECT_EQ(plain.body, *core::gunzip(a->gzip, a->size));

    net::HttpResponse not_modified = serve_client_file("socket.io.min.js", std::string(a->etag), "gzip");
    EXPECT_EQ(not_modified.status, 304);
    EXPECT_TRUE(not_modified.body.empty());
    EXPECT_EQ(header(not_modified, "etag"), a->etag);

    net::HttpResponse other = serve_client_file("socket.io.min.js", "W/\"4.8.4-0000000000000000\"", "gzip");
    EXPECT_EQ(other.status, 200);

    net::HttpResponse map = serve_client_file("socket.io.js.map", "", "gzip");
    EXPECT_EQ(map.content_type, "application/json; charset=utf-8");

    EXPECT_EQ(serve_client_file("nope.js", "", "gzip").status, 404);
}

} // namespace
} // namespace outpost::admin::test
