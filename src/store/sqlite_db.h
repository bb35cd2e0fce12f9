// sqlite_db.h - Thin RAII over the sqlite3 C API: one connection, its cached statements, and a
// statement guard that always resets. Owns: sqlite3* and sqlite3_stmt* lifetimes, error classing.
// Never: knows the schema or threads; a Db is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace outpost::store {

// What a failed SQLite call means for the writer: a fault makes the store unwritable until a
// probe succeeds; anything else fails only the batch at hand.
enum class Fault : uint8_t { none, disk_full, read_only, io_error, cant_open, corrupt };

Fault fault_of(int rc);               // from a (possibly extended) result code
std::string fault_reason(Fault f, int rc, std::string_view detail);

class Db;

// A prepared statement owned by a Db's cache. Use it through Query.
class Stmt {
public:
    explicit Stmt(sqlite3_stmt* s) : s_(s) {}
    ~Stmt();
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_;
};

// One use of a cached statement: bind (1-based), step, read columns; resets and clears on scope exit.
class Query {
public:
    explicit Query(Stmt& s) : s_(s.get()) {}
    ~Query();
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    Query& bind(int i, int64_t v);
    Query& bind(int i, std::string_view v);
    // SQLITE_ROW -> true, SQLITE_DONE -> false; anything else stored in rc().
    bool step();
    int rc() const { return rc_; }
    bool failed() const { return rc_ != 0 && rc_ != 100 && rc_ != 101; }
    int64_t int64(int col) const;
    std::string text(int col) const;

private:
    sqlite3_stmt* s_;
    int rc_ = 0;
};

class Db {
public:
    Db() = default;
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    // flags: SQLITE_OPEN_* (read-write + create for the writer, read-write for the reader).
    int open(const std::string& path, int flags);
    void close();
    bool is_open() const { return db_ != nullptr; }
    sqlite3* raw() const { return db_; }

    // Runs one or more statements without results. Returns the SQLite result code.
    int exec(const char* sql);
    // A one-row, one-integer query (PRAGMAs, counts). rc receives the result code.
    int64_t query_int(const char* sql, int& rc);
    // The cached statement for `sql` (keyed by the literal's address); nullptr on a prepare error.
    Stmt* cached(const char* sql);
    std::string last_error() const;
    int last_rc() const;
    bool in_transaction() const;
    int64_t last_insert_id() const;
    int changes() const;

private:
    sqlite3* db_ = nullptr;
    std::unordered_map<const char*, std::unique_ptr<Stmt>> stmts_;
};

} // namespace outpost::store
