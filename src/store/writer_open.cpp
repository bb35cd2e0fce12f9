// writer_open.cpp - Opening the writer's connection and keeping it honest: the open (schema,
// seqs, file identities), the acked-seq marks reconciled against the database at every open,
// noticing the database or WAL deleted or replaced under the open handle, and the probe that
// makes an unwritable store writable again.
#include <sqlite3.h>

#include <algorithm>

#include "core/log.h"
#include "platform/platform.h"
#include "store/schema.h"
#include "store/writer.h"

namespace outpost::store {
namespace {

constexpr const char* kAllRoomSeqs = "SELECT name, latest_seq FROM rooms";
constexpr const char* kProbe = "INSERT OR REPLACE INTO probe(id, at) VALUES(1, ?1)";
constexpr const char* kInsertLost = "INSERT OR REPLACE INTO lost_ranges(room, from_seq, to_seq, at) VALUES(?1, ?2, ?3, ?4)";
constexpr const char* kMessageSeqs = "SELECT room, max(seq) FROM messages GROUP BY room";
constexpr const char* kAllLost = "SELECT room, from_seq, to_seq FROM lost_ranges ORDER BY room, from_seq";

} // namespace

int Writer::load_seqs() {
    Stmt* s = db_.cached(kAllRoomSeqs);
    if (!s) return db_.last_rc();
    SeqMap loaded;
    Query q(*s);
    while (q.step()) loaded[q.text(0)] = q.int64(1);
    if (q.rc() != SQLITE_DONE) return q.rc();
    seqs_ = loaded;
    std::lock_guard lk(mu_);
    committed_ = std::move(loaded);
    return SQLITE_OK;
}

// Opens db_ and loads what the writer keeps in memory; on failure db_ is closed again and
// `fault` says whether it is a storage fault (worth probing) or not.
Done Writer::open_db(Fault& fault) {
    fault = Fault::none;
    Done r = open_writer(db_, opt_.path, opt_.synchronous_full);
    if (r.ok()) {
        int rc = SQLITE_OK;
        page_size_ = db_.query_int("PRAGMA page_size", rc);
        if (rc == SQLITE_OK) rc = load_seqs();
        if (rc != SQLITE_OK) r = Done::fail(Status::unavailable, "loading room seqs: " + db_.last_error());
    }
    if (r.ok() && !platform::file_id(opt_.path, db_id_)) {
        fault = Fault::cant_open;
        r = Done::fail(Status::unavailable, "cannot examine " + opt_.path + ": " + platform::last_error());
    }
    if (r.ok()) r = reconcile_marks(fault);
    if (!r.ok()) {
        if (fault == Fault::none) fault = fault_of(db_.last_rc());
        db_.close();
        return r;
    }
    wal_known_ = platform::file_id(opt_.path + "-wal", wal_id_);
    open_ = true;
    refresh_db_bytes();
    opens_.fetch_add(1, std::memory_order_release);
    return done();
}

// Start-up (and every later open): the marks file against the database. A room whose mark is
// above its stored seq lost acknowledged messages (a WAL damaged after a crash, a database
// replaced): log storage_rollback with the range, record the range (devices get sync:gap for
// it), and continue the room's seq above the mark so no seq is handed out twice. Then the marks
// file is rewritten as one record per room and kept open for appending.
Done Writer::reconcile_marks(Fault& fault) {
    Result<SeqMarks::Map> marks = marks_.load();
    if (!marks.ok()) {
        fault = Fault::io_error;
        return marks.error();
    }
    Done r = raise_seqs_to_messages(fault);
    if (!r.ok()) return r;
    std::vector<LostRange> lost;
    for (const auto& [room, mark] : *marks) {
        auto it = seqs_.find(room);
        int64_t have = it == seqs_.end() ? 0 : it->second;
        if (mark > have) lost.push_back(LostRange{room, have + 1, mark});
    }
    std::sort(lost.begin(), lost.end(), [](const LostRange& x, const LostRange& y) { return x.room < y.room; });
    if (!lost.empty() && !(r = record_lost(lost, fault)).ok()) return r;
    {
        std::lock_guard lk(mu_);
        for (const auto& [room, seq] : seqs_) committed_[room] = seq;
    }
    if (!(r = load_lost_ranges(fault)).ok()) return r;
    SeqMarks::Map snapshot(seqs_.begin(), seqs_.end());
    if (!(r = marks_.rewrite(snapshot)).ok()) {
        fault = Fault::io_error;
        return r;
    }
    marks_snapshot_ = snapshot_bytes(snapshot);
    marks_appended_ = 0;
    marks_failed_ = false;
    return done();
}

// A damaged WAL can also leave the rooms table older than the messages it describes.
Done Writer::raise_seqs_to_messages(Fault& fault) {
    Stmt* top = db_.cached(kMessageSeqs);
    if (!top) {
        fault = fault_of(db_.last_rc());
        return Done::fail(Status::unavailable, "reading message seqs: " + db_.last_error());
    }
    Query q(*top);
    while (q.step()) {
        int64_t& slot = seqs_[q.text(0)];
        slot = std::max(slot, q.int64(1));
    }
    if (q.rc() != SQLITE_DONE) {
        fault = fault_of(q.rc());
        return Done::fail(Status::unavailable, "reading message seqs: " + db_.last_error());
    }
    return done();
}

// One transaction: each lost range recorded and its room's seq raised to the mark; then logged.
Done Writer::record_lost(const std::vector<LostRange>& lost, Fault& fault) {
    const int64_t now = platform::wall_ms();
    SeqMap rooms;
    for (const LostRange& l : lost) rooms[l.room] = l.to;
    for (const auto& [room, to] : rooms) seqs_[room] = to; // reloaded by the next open if this fails
    int rc = db_.exec("BEGIN IMMEDIATE");
    if (rc == SQLITE_OK) rc = store_room_seqs(rooms);
    Stmt* ins = rc == SQLITE_OK ? db_.cached(kInsertLost) : nullptr;
    if (rc == SQLITE_OK && !ins) rc = db_.last_rc();
    for (size_t i = 0; rc == SQLITE_OK && i < lost.size(); ++i) {
        Query q(*ins);
        q.bind(1, lost[i].room).bind(2, lost[i].from).bind(3, lost[i].to).bind(4, now);
        q.step();
        rc = q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
    }
    if (rc == SQLITE_OK) rc = db_.exec("COMMIT");
    if (rc != SQLITE_OK) {
        Done r = Done::fail(Status::unavailable, "recording lost seqs: " + db_.last_error());
        rollback();
        fault = fault_of(rc) == Fault::none ? Fault::io_error : fault_of(rc);
        return r;
    }
    int64_t total = 0;
    for (const LostRange& l : lost) {
        total += l.to - l.from + 1;
        OUTPOST_LOG(error, "storage_rollback",
                    "room=%s from=%lld to=%lld lost=%lld detail=\"acknowledged messages are missing from the database "
                    "(WAL or database damaged, replaced or deleted); the room continues above them and devices get sync:gap\"",
                    l.room.c_str(), (long long)l.from, (long long)l.to, (long long)(l.to - l.from + 1));
    }
    OUTPOST_LOG(error, "storage_rollback_summary", "rooms=%zu lost=%lld marks=%s", lost.size(), (long long)total,
                marks_.path().c_str());
    return done();
}

uint64_t Writer::snapshot_bytes(const SeqMarks::Map& snapshot) {
    uint64_t bytes = 0;
    for (const auto& [room, seq] : snapshot) bytes += room.size() + 22;
    return bytes;
}

Done Writer::load_lost_ranges(Fault& fault) {
    Stmt* all = db_.cached(kAllLost);
    if (!all) {
        fault = fault_of(db_.last_rc());
        return Done::fail(Status::unavailable, "loading lost ranges: " + db_.last_error());
    }
    LostMap ranges;
    Query q(*all);
    while (q.step()) ranges[q.text(0)].emplace_back(q.int64(1), q.int64(2));
    if (q.rc() != SQLITE_DONE) {
        fault = fault_of(q.rc());
        return Done::fail(Status::unavailable, "loading lost ranges: " + db_.last_error());
    }
    std::lock_guard lk(mu_);
    lost_ = std::move(ranges);
    return done();
}

// A file deleted or renamed under an open SQLite handle keeps taking writes that no restart will
// see: compare what the paths name now with what they named at open.
bool Writer::files_moved(std::string& why) {
    platform::FileId now;
    if (!platform::file_id(opt_.path, now) || !(now == db_id_)) {
        why = "database file " + opt_.path + " was deleted or replaced while open (put it back, or restart Outpost to start a new one)";
        return true;
    }
    const std::string wal = opt_.path + "-wal";
    if (!wal_known_) {
        wal_known_ = platform::file_id(wal, wal_id_);
        return false;
    }
    if (!platform::file_id(wal, now) || !(now == wal_id_)) {
        why = "write-ahead log " + wal + " was deleted or replaced while open (put it back, or restart Outpost)";
        return true;
    }
    return false;
}

// Also called on the syncer thread: the writer may be asleep until its next retention pass, so it
// is woken to schedule the probe.
void Writer::note_moved(const std::string& why) {
    {
        std::lock_guard lk(mu_);
        if (health_.writable) OUTPOST_LOG(error, "store_unwritable", "reason=\"%s\"", why.c_str());
        health_.writable = false;
        health_.reason = why;
        next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
    }
    cv_.notify_one();
}

// While unwritable: open the database if it never opened; otherwise, once the files are the ones
// opened, a tiny write transaction; success flips the store back to writable.
void Writer::probe() {
    if (!open_) {
        probe_open();
        return;
    }
    std::string why;
    if (files_moved(why)) {
        std::lock_guard lk(mu_);
        health_.reason = why;
        next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
        return;
    }
    Stmt* s = nullptr;
    int rc = db_.exec("BEGIN IMMEDIATE");
    if (rc == SQLITE_OK) {
        s = db_.cached(kProbe);
        rc = s ? SQLITE_OK : db_.last_rc();
    }
    if (rc == SQLITE_OK) {
        Query q(*s);
        q.bind(1, static_cast<int64_t>(Clock::now().time_since_epoch().count()));
        q.step();
        rc = q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
    }
    if (rc == SQLITE_OK) rc = db_.exec("COMMIT");
    if (rc != SQLITE_OK) rollback();
    if (rc == SQLITE_OK) rc = load_seqs();
    if (rc == SQLITE_OK) refresh_db_bytes();
    std::lock_guard lk(mu_);
    if (rc != SQLITE_OK) {
        next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
        return;
    }
    health_.writable = true;
    health_.reason.clear();
    OUTPOST_LOG(info, "store_writable", "after=probe");
}

// The probe while the file has never opened: try the whole open again.
void Writer::probe_open() {
    Fault fault = Fault::none;
    Done r = open_db(fault);
    std::lock_guard lk(mu_);
    if (!r.ok()) {
        health_.reason = "cannot open the database: " + r.error().message;
        next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
        return;
    }
    health_.writable = true;
    health_.reason.clear();
    OUTPOST_LOG(info, "store_writable", "after=open path=%s", opt_.path.c_str());
    if (wake_) wake_(); // the loop loads what the file holds (memberships) now
}

void Writer::rollback() {
    if (db_.in_transaction()) (void)db_.exec("ROLLBACK");
}

void Writer::refresh_db_bytes() {
    if (!open_) return;
    int rc = 0;
    int64_t pages = db_.query_int("PRAGMA page_count", rc);
    if (rc != SQLITE_OK) return;
    std::lock_guard lk(mu_);
    health_.db_bytes = pages * page_size_;
}

} // namespace outpost::store
