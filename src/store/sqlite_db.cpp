// sqlite_db.cpp - RAII connection, statement cache and fault classing over the sqlite3 C API.
#include "store/sqlite_db.h"

#include <sqlite3.h>

namespace outpost::store {

Fault fault_of(int rc) {
    switch (rc & 0xff) {
    case SQLITE_FULL: return Fault::disk_full;
    case SQLITE_READONLY: return Fault::read_only;
    case SQLITE_IOERR: return Fault::io_error;
    case SQLITE_CANTOPEN: return Fault::cant_open;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Fault::corrupt;
    default: return Fault::none;
    }
}

std::string fault_reason(Fault f, int rc, std::string_view detail) {
    std::string d = detail.empty() ? std::string(sqlite3_errstr(rc)) : std::string(detail);
    switch (f) {
    case Fault::disk_full: return "disk full";
    case Fault::read_only: return "database is read-only";
    case Fault::io_error: return "I/O error (" + d + ", code " + std::to_string(rc) + ")";
    case Fault::cant_open: return "cannot open database file (" + d + ")";
    case Fault::corrupt: return "database corrupt (" + d + ")";
    case Fault::none: break;
    }
    return "storage error (" + d + ")";
}

Stmt::~Stmt() { sqlite3_finalize(s_); }

Query::~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
}

Query& Query::bind(int i, int64_t v) {
    int rc = sqlite3_bind_int64(s_, i, v);
    if (rc != SQLITE_OK) rc_ = rc;
    return *this;
}

Query& Query::bind(int i, std::string_view v) {
    int rc = sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) rc_ = rc;
    return *this;
}

bool Query::step() {
    if (failed()) return false;
    rc_ = sqlite3_step(s_);
    return rc_ == SQLITE_ROW;
}

int64_t Query::int64(int col) const { return sqlite3_column_int64(s_, col); }

std::string Query::text(int col) const {
    const unsigned char* p = sqlite3_column_text(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Db::~Db() { close(); }

int Db::open(const std::string& path, int flags) {
    close();
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return rc;
    sqlite3_extended_result_codes(db_, 1);
    return SQLITE_OK;
}

void Db::close() {
    stmts_.clear(); // finalize before close
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

int Db::exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

int64_t Db::query_int(const char* sql, int& rc) {
    sqlite3_stmt* raw = nullptr;
    rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
    if (rc != SQLITE_OK) return 0;
    Stmt s(raw);
    rc = sqlite3_step(raw);
    if (rc == SQLITE_ROW) {
        rc = SQLITE_OK;
        return sqlite3_column_int64(raw, 0);
    }
    return 0;
}

Stmt* Db::cached(const char* sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return it->second.get();
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) return nullptr;
    auto s = std::make_unique<Stmt>(raw);
    Stmt* out = s.get();
    stmts_.emplace(sql, std::move(s));
    return out;
}

std::string Db::last_error() const { return db_ ? sqlite3_errmsg(db_) : "database not open"; }
int Db::last_rc() const { return db_ ? sqlite3_extended_errcode(db_) : SQLITE_CANTOPEN; }
bool Db::in_transaction() const { return db_ && sqlite3_get_autocommit(db_) == 0; }
int64_t Db::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }

} // namespace outpost::store
