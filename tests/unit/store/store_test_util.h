// store_test_util.h - Shared helpers for the store tests: a temp directory per test, opening a
// Store with test-friendly options, and collecting completions.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace outpost::store::test {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/outpost-store-XXXXXX";
        const char* p = mkdtemp(tmpl);
        path = p ? p : "";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

inline StoreOptions test_options(const std::string& path) {
    StoreOptions o;
    o.path = path;
    o.synchronous_full = false; // most tests do not measure durability against power loss
    o.commit_interval_ms = 2;
    o.retention_interval_ms = 3600 * 1000; // after the pass at open, only when a test asks (prune_now)
    o.max_age_s = 0;                       // tests use small timestamps; age retention is tested on its own
    o.probe_interval_ms = 50;
    return o;
}

inline std::unique_ptr<Store> open_store(const StoreOptions& o, std::atomic<int>* wakes = nullptr) {
    auto r = Store::open(o, [wakes] {
        if (wakes) wakes->fetch_add(1);
    });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : nullptr;
}

inline std::vector<Completion> settle(Store& s) {
    s.flush();
    std::vector<Completion> out;
    s.drain([&](Completion&& c) { out.push_back(std::move(c)); });
    return out;
}

// Runs one SQL query on its own connection and returns the first column of the first row as text.
inline std::string sql_text(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    std::string out = "<error>";
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                const unsigned char* t = sqlite3_column_text(st, 0);
                out = t ? reinterpret_cast<const char*>(t) : "<null>";
            } else if (rc == SQLITE_DONE) {
                out = "<none>";
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

} // namespace outpost::store::test
