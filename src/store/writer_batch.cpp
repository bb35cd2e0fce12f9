// writer_batch.cpp - One batch of writes on the writer thread: a single transaction whose
// completions are published only after COMMIT returned; each write kind's statements; the per-room
// seqs inside the transaction and after it; what a failed batch answers and what a fault marks.
#include <sqlite3.h>

#include <algorithm>
#include <type_traits>

#include "core/log.h"
#include "store/writer.h"

namespace outpost::store {
namespace {

constexpr const char* kFindKey =
    "SELECT id, room, seq, sender, client_id, body, ts, sender_device FROM messages WHERE sender=?1 AND client_id=?2";
constexpr const char* kInsertMessage =
    "INSERT INTO messages(room, seq, sender, client_id, body, ts, sender_device) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kUpsertRoom =
    "INSERT INTO rooms(name, latest_seq) VALUES(?1, ?2) "
    "ON CONFLICT(name) DO UPDATE SET latest_seq = excluded.latest_seq";
constexpr const char* kInsertMember =
    "INSERT INTO memberships(room, user, joined_seq) VALUES(?1, ?2, ?3) ON CONFLICT(room, user) DO NOTHING";
constexpr const char* kDeleteMember = "DELETE FROM memberships WHERE room=?1 AND user=?2";
constexpr const char* kDeleteCursors = "DELETE FROM cursors WHERE room=?1 AND user=?2";
constexpr const char* kUpsertCursor =
    "INSERT INTO cursors(user, device, room, delivered, read) VALUES(?1, ?2, ?3, max(?4, 0), max(?5, 0)) "
    "ON CONFLICT(user, device, room) DO UPDATE SET delivered = max(delivered, excluded.delivered), "
    "read = max(read, excluded.read) RETURNING delivered, read";
constexpr const char* kRoomSeq = "SELECT latest_seq FROM rooms WHERE name=?1";

bool valid_fields(const MessageWrite& w) { return !w.client_id.empty() && !w.body.empty(); }
bool valid_fields(const JoinWrite&) { return true; }
bool valid_fields(const LeaveWrite&) { return true; }
bool valid_fields(const CursorWrite& w) { return !w.device.empty() && w.delivered >= -1 && w.read >= -1; }

bool valid(const Op& op) {
    if (room_of(op.write).empty() || user_of(op.write).empty()) return false;
    return std::visit([](const auto& w) { return valid_fields(w); }, op.write);
}

// The current seq of a room inside this batch, remembering its value before the batch.
int64_t& seq_slot(SeqMap& seqs, SeqMap& undo, const std::string& room) {
    auto it = seqs.try_emplace(room, 0).first;
    undo.try_emplace(room, it->second);
    return it->second;
}

int64_t micros_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

} // namespace

// The variant's order is OpKind's.
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<size_t>(OpKind::message), Write>, MessageWrite>);
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<size_t>(OpKind::join), Write>, JoinWrite>);
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<size_t>(OpKind::leave), Write>, LeaveWrite>);
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<size_t>(OpKind::cursor), Write>, CursorWrite>);

OpKind kind_of(const Write& w) { return static_cast<OpKind>(w.index()); }

const std::string& room_of(const Write& w) {
    return std::visit([](const auto& v) -> const std::string& { return v.room; }, w);
}

const std::string& user_of(const Write& w) {
    return std::visit(
        [](const auto& v) -> const std::string& {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, MessageWrite>) return v.sender;
            else return v.user;
        },
        w);
}

void Writer::process_batch(std::vector<Op>& batch) {
    std::vector<Completion> out(batch.size());
    bool writable;
    std::string reason;
    {
        std::lock_guard lk(mu_);
        writable = health_.writable;
        reason = health_.reason;
    }
    if (!writable) {
        fail_batch(batch, out, reason);
        publish(std::move(out));
        return;
    }
    auto t0 = Clock::now();
    SeqMap undo; // rooms touched -> their seq before this batch
    int rc = db_.exec("BEGIN IMMEDIATE");
    for (size_t i = 0; rc == SQLITE_OK && i < batch.size(); ++i) rc = apply(batch[i], out[i], undo);
    if (rc == SQLITE_OK) rc = store_room_seqs(undo);
    if (rc == SQLITE_OK) rc = db_.exec("COMMIT");
    std::string moved;
    if (rc == SQLITE_OK && files_moved(moved)) {
        // Committed into a file the path no longer names: not acknowledged. If the file is put
        // back these rows are in it and resends find them by their (sender, clientId).
        note_moved(moved);
        fail_batch(batch, out, moved);
        {
            std::lock_guard lk(mu_);
            ++health_.failed_commits;
        }
        publish(std::move(out));
        return;
    }
    if (rc != SQLITE_OK) {
        fail_batch(batch, out, after_failed_commit(rc, undo));
        publish(std::move(out));
        return;
    }
    int64_t micros = micros_since(t0);
    last_commit_ = std::chrono::microseconds(micros);
    note_commit(micros, undo);
    publish_marked(std::move(out), undo);
}

// A batch that did not commit: roll back, take each touched room's seq from the database, note a
// fault; returns the reason its writes answer.
std::string Writer::after_failed_commit(int rc, const SeqMap& undo) {
    std::string detail = db_.last_error();
    rollback();
    restore_seqs(undo);
    note_fault(rc, detail);
    std::lock_guard lk(mu_);
    ++health_.failed_commits;
    return health_.writable ? fault_reason(Fault::none, rc, detail) : health_.reason;
}

// Every valid write of the batch completes unavailable; invalid ones keep their own answer.
void Writer::fail_batch(const std::vector<Op>& batch, std::vector<Completion>& out, const std::string& reason) {
    out.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
        Completion& c = out[i];
        c.token = batch[i].token;
        c.kind = kind_of(batch[i].write);
        if (c.status == Status::invalid_argument) continue;
        if (!valid(batch[i])) {
            c.status = Status::invalid_argument;
            c.error = "empty name or out-of-range value";
            continue;
        }
        Message keep;
        keep.room = room_of(batch[i].write);
        keep.sender = user_of(batch[i].write);
        c.message = std::move(keep);
        c.cursor = Cursor{};
        c.duplicate = false;
        c.status = Status::unavailable;
        c.error = reason;
    }
}

int Writer::apply(const Op& op, Completion& c, SeqMap& undo) {
    c.token = op.token;
    c.kind = kind_of(op.write);
    c.message.room = room_of(op.write);
    c.message.sender = user_of(op.write);
    if (!valid(op)) {
        c.status = Status::invalid_argument;
        c.error = "empty name or out-of-range value";
        return SQLITE_OK;
    }
    return std::visit([&](const auto& w) { return apply_write(w, c, undo); }, op.write);
}

int Writer::apply_write(const MessageWrite& w, Completion& c, SeqMap& undo) {
    Stmt* find = db_.cached(kFindKey);
    if (!find) return db_.last_rc();
    {
        Query q(*find);
        q.bind(1, w.sender).bind(2, w.client_id);
        if (q.step()) {
            c.message = Message{q.int64(0), q.text(1), q.int64(2), q.text(3), q.text(4), q.text(5), q.int64(6), q.text(7)};
            c.duplicate = true;
            return SQLITE_OK;
        }
        if (q.rc() != SQLITE_DONE) return q.rc();
    }
    Stmt* ins = db_.cached(kInsertMessage);
    if (!ins) return db_.last_rc();
    int64_t& slot = seq_slot(seqs_, undo, w.room);
    Query q(*ins);
    q.bind(1, w.room).bind(2, slot + 1).bind(3, w.sender).bind(4, w.client_id).bind(5, w.body).bind(6, w.ts).bind(7, w.device);
    q.step();
    if (q.rc() != SQLITE_DONE) return q.rc();
    ++slot;
    // copies: a failed batch still needs its ops to answer
    c.message = Message{db_.last_insert_id(), w.room, slot, w.sender, w.client_id, w.body, w.ts, w.device};
    return SQLITE_OK;
}

int Writer::apply_write(const JoinWrite& w, Completion& c, SeqMap& undo) {
    Stmt* s = db_.cached(kInsertMember);
    if (!s) return db_.last_rc();
    int64_t seq = seq_slot(seqs_, undo, w.room); // also makes sure the room row exists
    Query q(*s);
    q.bind(1, w.room).bind(2, w.user).bind(3, seq);
    q.step();
    if (q.rc() != SQLITE_DONE) return q.rc();
    c.duplicate = db_.changes() == 0;
    c.message.seq = seq;
    return SQLITE_OK;
}

int Writer::apply_write(const LeaveWrite& w, Completion& c, SeqMap&) {
    Stmt* del = db_.cached(kDeleteMember);
    Stmt* cur = db_.cached(kDeleteCursors);
    if (!del || !cur) return db_.last_rc();
    {
        Query q(*del);
        q.bind(1, w.room).bind(2, w.user);
        q.step();
        if (q.rc() != SQLITE_DONE) return q.rc();
        c.duplicate = db_.changes() == 0;
    }
    Query q(*cur);
    q.bind(1, w.room).bind(2, w.user);
    q.step();
    return q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
}

int Writer::apply_write(const CursorWrite& w, Completion& c, SeqMap&) {
    Stmt* s = db_.cached(kUpsertCursor);
    if (!s) return db_.last_rc();
    Query q(*s);
    q.bind(1, w.user).bind(2, w.device).bind(3, w.room).bind(4, w.delivered).bind(5, w.read);
    if (!q.step()) return q.rc() == SQLITE_DONE ? SQLITE_INTERNAL : q.rc();
    c.cursor = Cursor{w.user, w.device, w.room, q.int64(0), q.int64(1)};
    while (q.step()) {
    }
    return q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
}

int Writer::store_room_seqs(const SeqMap& touched) {
    Stmt* s = db_.cached(kUpsertRoom);
    if (!s) return db_.last_rc();
    for (const auto& [room, before] : touched) {
        Query q(*s);
        q.bind(1, room).bind(2, seqs_[room]);
        q.step();
        if (q.rc() != SQLITE_DONE) return q.rc();
    }
    return SQLITE_OK;
}

// After a failed batch: what the database holds wins (a COMMIT that reported an I/O error may
// still have reached the disk); the pre-batch value when even that read fails.
void Writer::restore_seqs(const SeqMap& undo) {
    Stmt* s = db_.cached(kRoomSeq);
    for (const auto& [room, before] : undo) {
        int64_t value = before;
        if (s) {
            Query q(*s);
            q.bind(1, room);
            if (q.step()) value = q.int64(0);
            else if (q.rc() == SQLITE_DONE) value = 0;
        }
        seqs_[room] = value;
        std::lock_guard lk(mu_);
        if (value > 0) committed_[room] = value;
    }
}

void Writer::note_commit(int64_t micros, const SeqMap& touched) {
    refresh_db_bytes();
    std::lock_guard lk(mu_);
    for (const auto& [room, before] : touched) committed_[room] = seqs_[room];
    ++health_.commits;
    size_t b = 0;
    while (b < kCommitLatencyBoundsUs.size() && static_cast<uint64_t>(micros) > kCommitLatencyBoundsUs[b]) ++b;
    ++health_.commit_latency_buckets_us_counts[b];
}

void Writer::note_fault(int rc, const std::string& detail) {
    Fault f = fault_of(rc);
    if (f == Fault::none) {
        OUTPOST_LOG(warn, "store_batch_failed", "rc=%d error=\"%s\"", rc, detail.c_str());
        return;
    }
    std::string reason = fault_reason(f, rc, detail);
    std::lock_guard lk(mu_);
    if (health_.writable) OUTPOST_LOG(error, "store_unwritable", "reason=\"%s\"", reason.c_str());
    health_.writable = false;
    health_.reason = reason;
    next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
}

} // namespace outpost::store
