// retention.cpp - The writer's idle-time pruning: per-room count, age, and database size, in small
// transactions, never touching the newest message of a room (so a room's seq never restarts).
#include <sqlite3.h>

#include "core/log.h"
#include "platform/platform.h"
#include "store/writer.h"

namespace outpost::store {
namespace {

// Each selects (id, room, seq, approximate row bytes) of at most ?2 prunable rows, oldest first.
// kOverCount's CROSS JOIN pins rooms as the outer loop: one index probe per room, not a log scan.
#define OUTPOST_STORE_ROW_BYTES "length(m.body) + length(m.room) + length(m.sender) + length(m.client_id) + 32"
constexpr const char* kOverCount =
    "SELECT m.id, m.room, m.seq, " OUTPOST_STORE_ROW_BYTES " FROM rooms r CROSS JOIN messages m ON m.room = r.name "
    "AND m.seq <= r.latest_seq - ?1 LIMIT ?2";
constexpr const char* kTooOld =
    "SELECT m.id, m.room, m.seq, " OUTPOST_STORE_ROW_BYTES " FROM messages m JOIN rooms r ON r.name = m.room "
    "WHERE m.ts < ?1 AND m.seq < r.latest_seq ORDER BY m.ts LIMIT ?2";
constexpr const char* kOldestAnywhere =
    "SELECT m.id, m.room, m.seq, " OUTPOST_STORE_ROW_BYTES " FROM messages m JOIN rooms r ON r.name = m.room "
    "WHERE m.seq < r.latest_seq ORDER BY m.id LIMIT ?2";
#undef OUTPOST_STORE_ROW_BYTES
constexpr const char* kUnconfirmed = "SELECT EXISTS(SELECT 1 FROM cursors WHERE room=?1 AND delivered < ?2)";
constexpr const char* kDeleteById = "DELETE FROM messages WHERE id=?1";

struct Victim {
    int64_t id;
    std::string room;
    int64_t seq;
};

} // namespace

int64_t Writer::used_bytes(int& rc) {
    int64_t pages = db_.query_int("PRAGMA page_count", rc);
    if (rc != SQLITE_OK) return 0;
    int64_t free_pages = db_.query_int("PRAGMA freelist_count", rc);
    return (pages - free_pages) * page_size_;
}

// One retention transaction: the first rule that finds something prunes up to kPruneBatch rows.
int64_t Writer::prune_step() {
    int64_t pruned = 0, unconfirmed = 0;
    int rc = SQLITE_OK;
    if (opt_.max_messages_per_room > 0)
        rc = prune_rows(kOverCount, opt_.max_messages_per_room, true, pruned, unconfirmed);
    if (rc == SQLITE_OK && pruned == 0 && opt_.max_age_s > 0)
        rc = prune_rows(kTooOld, platform::wall_ms() - opt_.max_age_s * 1000, true, pruned, unconfirmed);
    bool by_bytes = false;
    if (rc == SQLITE_OK && pruned == 0 && opt_.max_db_bytes > 0) {
        int64_t used = used_bytes(rc);
        by_bytes = rc == SQLITE_OK && used > opt_.max_db_bytes;
        if (by_bytes) rc = prune_rows(kOldestAnywhere, used - opt_.max_db_bytes, false, pruned, unconfirmed);
    }
    if (rc != SQLITE_OK) {
        std::string detail = db_.last_error();
        rollback();
        note_fault(rc, detail);
        return -1;
    }
    if (pruned == 0) return 0;
    int frc = SQLITE_OK;
    if (by_bytes || db_.query_int("PRAGMA freelist_count", frc) > 256) (void)db_.exec("PRAGMA incremental_vacuum(512)");
    refresh_db_bytes();
    std::lock_guard lk(mu_);
    health_.pruned_total += static_cast<uint64_t>(pruned);
    health_.pruned_unconfirmed += static_cast<uint64_t>(unconfirmed);
    return pruned;
}

// Selects victims with select_sql (?1 = arg when has_arg, ?2 = batch size; without ?1, arg is the
// number of bytes to free and the list stops once their rows add up to it), counts those some
// device has not confirmed, deletes them, commits. pruned/unconfirmed are set only on success.
int Writer::prune_rows(const char* select_sql, int64_t arg, bool has_arg, int64_t& pruned, int64_t& unconfirmed) {
    Stmt* sel = db_.cached(select_sql);
    Stmt* unc = db_.cached(kUnconfirmed);
    Stmt* del = db_.cached(kDeleteById);
    if (!sel || !unc || !del) return db_.last_rc();
    int rc = db_.exec("BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) return rc;
    std::vector<Victim> victims;
    {
        Query q(*sel);
        if (has_arg) q.bind(1, arg);
        q.bind(2, kPruneBatch);
        int64_t bytes = 0;
        while ((has_arg || bytes < arg) && q.step()) {
            victims.push_back(Victim{q.int64(0), q.text(1), q.int64(2)});
            bytes += q.int64(3);
        }
        if (q.failed()) return q.rc();
    }
    int64_t n_unconfirmed = 0;
    for (const Victim& v : victims) {
        Query u(*unc);
        u.bind(1, v.room).bind(2, v.seq);
        if (!u.step()) return u.rc();
        n_unconfirmed += u.int64(0);
        Query d(*del);
        d.bind(1, v.id);
        d.step();
        if (d.rc() != SQLITE_DONE) return d.rc();
    }
    rc = db_.exec(victims.empty() ? "ROLLBACK" : "COMMIT");
    if (rc != SQLITE_OK) return rc;
    pruned = static_cast<int64_t>(victims.size());
    unconfirmed = n_unconfirmed;
    if (pruned > 0)
        OUTPOST_LOG(debug, "store_pruned", "rows=%lld unconfirmed=%lld", static_cast<long long>(pruned),
                    static_cast<long long>(n_unconfirmed));
    return SQLITE_OK;
}

} // namespace outpost::store
