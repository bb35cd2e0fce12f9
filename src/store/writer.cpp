// writer.cpp - The writer thread: queue, group commit, completions, fault handling and probe.
// Retention (prune_step and friends) lives in retention.cpp.
#include "store/writer.h"

#include <sqlite3.h>

#include <algorithm>
#include <exception>
#include <iterator>

#include "core/log.h"
#include "store/schema.h"

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
constexpr const char* kAllRoomSeqs = "SELECT name, latest_seq FROM rooms";
constexpr const char* kProbe = "INSERT OR REPLACE INTO probe(id, at) VALUES(1, ?1)";
constexpr const char* kInsertLost = "INSERT OR REPLACE INTO lost_ranges(room, from_seq, to_seq, at) VALUES(?1, ?2, ?3, ?4)";
constexpr const char* kMessageSeqs = "SELECT room, max(seq) FROM messages GROUP BY room";
constexpr const char* kAllLost = "SELECT room, from_seq, to_seq FROM lost_ranges ORDER BY room, from_seq";

bool valid(const Op& op) {
    if (op.room.empty() || op.user.empty()) return false;
    switch (op.kind) {
    case OpKind::message: return !op.key.empty() && !op.body.empty();
    case OpKind::join:
    case OpKind::leave: return true;
    case OpKind::cursor: return !op.key.empty() && op.a >= -1 && op.b >= -1;
    }
    return false;
}

int64_t micros_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

} // namespace

Writer::Writer(const StoreOptions& opt, std::function<void()> wake)
    : opt_(opt), wake_(std::move(wake)), marks_(opt.path + "-marks") {
    opt_.commit_batch = std::max<int64_t>(1, opt_.commit_batch);
    opt_.commit_interval_ms = std::max<int64_t>(0, opt_.commit_interval_ms);
    opt_.probe_interval_ms = std::max<int64_t>(10, opt_.probe_interval_ms);
    opt_.retention_interval_ms = std::max<int64_t>(10, opt_.retention_interval_ms);
    health_.commit_latency_buckets_us_counts.assign(kCommitLatencyBoundsUs.size() + 1, 0);
}

Writer::~Writer() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    {
        std::lock_guard lk(sync_mu_);
        sync_stop_ = true;
    }
    sync_cv_.notify_all();
    if (syncer_.joinable()) syncer_.join();
}

Status Writer::start(std::string& error) {
    Fault fault = Fault::none;
    if (open_db(error, fault) != Status::ok) {
        if (fault == Fault::none) return Status::unavailable;
        std::lock_guard lk(mu_);
        health_.writable = false;
        health_.reason = "cannot open the database: " + error;
        next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
        OUTPOST_LOG(error, "store_unwritable", "reason=\"%s\" detail=\"serving; writes are refused until the database opens\"",
                    health_.reason.c_str());
    }
    next_retention_ = Clock::now() + std::chrono::milliseconds(opt_.retention_interval_ms);
    syncer_ = std::thread([this] { run_syncer(); });
    thread_ = std::thread([this] { run(); });
    return Status::ok;
}

void Writer::submit(Op op) {
    op.at = Clock::now();
    bool now_ready;
    {
        std::lock_guard lk(mu_);
        queue_.push_back(std::move(op));
        ++submitted_;
        now_ready = !health_.writable || queue_.size() == 1 ||
                    queue_.size() >= static_cast<size_t>(opt_.commit_batch);
    }
    if (now_ready) cv_.notify_one();
}

void Writer::drain(const std::function<void(Completion&&)>& fn) {
    std::vector<Completion> ready;
    {
        std::lock_guard lk(mu_);
        ready.swap(done_);
    }
    for (auto& c : ready) fn(std::move(c));
}

Health Writer::health() const {
    std::lock_guard lk(mu_);
    Health h = health_;
    h.queue_depth = submitted_ - completed_;
    return h;
}

void Writer::flush() {
    std::unique_lock lk(mu_);
    uint64_t target = submitted_;
    flush_target_ = std::max(flush_target_, target);
    cv_.notify_one();
    cv_done_.wait(lk, [&] { return completed_ >= target; });
}

uint64_t Writer::prune_now() {
    std::unique_lock lk(mu_);
    uint64_t ticket = ++prune_requests_;
    cv_.notify_one();
    cv_done_.wait(lk, [&] { return prune_done_ >= ticket; });
    return prune_last_;
}

int64_t Writer::latest_seq(std::string_view room) const {
    std::lock_guard lk(mu_);
    auto it = committed_.find(room);
    return it == committed_.end() ? 0 : it->second;
}

std::vector<std::pair<int64_t, int64_t>> Writer::lost_ranges(std::string_view room) const {
    std::lock_guard lk(mu_);
    auto it = lost_.find(room);
    return it == lost_.end() ? std::vector<std::pair<int64_t, int64_t>>{} : it->second;
}

void Writer::run() {
    for (;;) {
        std::vector<Op> batch;
        Work w = wait_for_work(batch);
        try {
            switch (w) {
            case Work::exit: return;
            case Work::batch: process_batch(batch); break;
            case Work::probe: probe(); break;
            case Work::retention: {
                std::string why;
                if (files_moved(why)) {
                    note_moved(why);
                    break;
                }
                int64_t n = prune_step();
                std::lock_guard lk(mu_);
                next_retention_ = Clock::now() + (n >= kPruneBatch ? std::chrono::milliseconds(0)
                                                           : std::chrono::milliseconds(opt_.retention_interval_ms));
                break;
            }
            case Work::prune_all: {
                uint64_t total = 0;
                for (int64_t n = prune_step(); n > 0; n = prune_step()) total += static_cast<uint64_t>(n);
                std::lock_guard lk(mu_);
                prune_last_ = total;
                prune_done_ = prune_requests_;
                cv_done_.notify_all();
                break;
            }
            }
        } catch (const std::exception& e) {
            recover_from_exception(batch, e.what());
        } catch (...) {
            recover_from_exception(batch, "unknown");
        }
    }
}

// Nothing thrown inside the writer reaches std::thread: the batch at hand fails unavailable and
// any prune_now() waiter is released. (An allocation failure is the only expected source.)
void Writer::recover_from_exception(const std::vector<Op>& batch, const char* what) noexcept {
    OUTPOST_LOG(error, "store_writer_exception", "what=\"%s\"", what);
    try {
        rollback();
        std::vector<Completion> out;
        fail_batch(batch, out, "internal error in the storage writer");
        publish(std::move(out));
    } catch (...) {
        OUTPOST_LOG(error, "store_writer_exception", "what=\"%s\"", "while failing the batch");
    }
    std::lock_guard lk(mu_);
    prune_done_ = prune_requests_;
    cv_done_.notify_all();
}

Writer::Work Writer::wait_for_work(std::vector<Op>& batch) {
    std::unique_lock lk(mu_);
    for (;;) {
        auto now = Clock::now();
        if (!queue_.empty()) {
            // Group commit. The oldest queued write waits for company at most as long as the
            // last commit took (a longer wait costs more latency than the commit it saves) and
            // never longer than commit_interval_ms. It commits at once when commit_batch writes
            // wait, and also when writes have gone quiet (none for kQuiet): the senders are
            // waiting for this commit, so waiting longer groups nothing. Writes that arrive while
            // a commit runs form the next group, so a slow disk batches more by itself.
            auto wait = std::min<Clock::duration>(std::chrono::milliseconds(opt_.commit_interval_ms), last_commit_);
            auto due = queue_.front().at + wait;
            auto quiet = std::min(due, queue_.back().at + kQuiet);
            bool ready = stop_ || !health_.writable || now >= quiet ||
                         queue_.size() >= static_cast<size_t>(opt_.commit_batch) || flush_target_ > completed_;
            if (!ready) {
                cv_.wait_until(lk, quiet);
                continue;
            }
            size_t n = std::min(queue_.size(), static_cast<size_t>(opt_.commit_batch));
            batch.reserve(n);
            for (size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            return Work::batch;
        }
        if (stop_) return Work::exit;
        if (!health_.writable) {
            if (prune_done_ < prune_requests_) {
                prune_last_ = 0;
                prune_done_ = prune_requests_;
                cv_done_.notify_all();
            }
            if (now >= next_probe_) return Work::probe;
            cv_.wait_until(lk, next_probe_);
            continue;
        }
        if (prune_done_ < prune_requests_) return Work::prune_all;
        if (now >= next_retention_) return Work::retention;
        cv_.wait_until(lk, next_retention_);
    }
}

// ---- One batch: a single transaction; completions only after COMMIT returned.

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
        std::string detail = db_.last_error();
        rollback();
        restore_seqs(undo);
        note_fault(rc, detail);
        std::lock_guard lk(mu_);
        reason = health_.writable ? fault_reason(Fault::none, rc, detail) : health_.reason;
        ++health_.failed_commits;
    }
    if (rc != SQLITE_OK) {
        fail_batch(batch, out, reason);
        publish(std::move(out));
        return;
    }
    int64_t micros = micros_since(t0);
    last_commit_ = std::chrono::microseconds(micros);
    note_commit(micros, undo);
    publish_marked(std::move(out), undo);
}

// Every valid write of the batch completes unavailable; invalid ones keep their own answer.
void Writer::fail_batch(const std::vector<Op>& batch, std::vector<Completion>& out, const std::string& reason) {
    out.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
        Completion& c = out[i];
        c.token = batch[i].token;
        c.kind = batch[i].kind;
        if (c.status == Status::invalid_argument) continue;
        if (!valid(batch[i])) {
            c.status = Status::invalid_argument;
            c.error = "empty name or out-of-range value";
            continue;
        }
        Message keep;
        keep.room = batch[i].room;
        keep.sender = batch[i].user;
        c.message = std::move(keep);
        c.cursor = Cursor{};
        c.duplicate = false;
        c.status = Status::unavailable;
        c.error = reason;
    }
}

int Writer::apply(Op& op, Completion& c, SeqMap& undo) {
    c.token = op.token;
    c.kind = op.kind;
    c.message.room = op.room;
    c.message.sender = op.user;
    if (!valid(op)) {
        c.status = Status::invalid_argument;
        c.error = "empty name or out-of-range value";
        return SQLITE_OK;
    }
    switch (op.kind) {
    case OpKind::message: return apply_message(op, c, undo);
    case OpKind::join: return apply_join(op, c, undo);
    case OpKind::leave: return apply_leave(op, c);
    case OpKind::cursor: return apply_cursor(op, c);
    }
    return SQLITE_MISUSE;
}

// The current seq of a room inside this batch, remembering its value before the batch.
static int64_t& seq_slot(SeqMap& seqs, SeqMap& undo, const std::string& room) {
    auto [it, fresh] = seqs.try_emplace(room, 0);
    undo.try_emplace(room, it->second);
    (void)fresh;
    return it->second;
}

int Writer::apply_message(Op& op, Completion& c, SeqMap& undo) {
    Stmt* find = db_.cached(kFindKey);
    if (!find) return db_.last_rc();
    {
        Query q(*find);
        q.bind(1, op.user).bind(2, op.key);
        if (q.step()) {
            c.message = Message{q.int64(0), q.text(1), q.int64(2), q.text(3), q.text(4), q.text(5), q.int64(6), q.text(7)};
            c.duplicate = true;
            return SQLITE_OK;
        }
        if (q.rc() != SQLITE_DONE) return q.rc();
    }
    Stmt* ins = db_.cached(kInsertMessage);
    if (!ins) return db_.last_rc();
    int64_t& slot = seq_slot(seqs_, undo, op.room);
    Query q(*ins);
    q.bind(1, op.room).bind(2, slot + 1).bind(3, op.user).bind(4, op.key).bind(5, op.body).bind(6, op.a).bind(7, op.device);
    q.step();
    if (q.rc() != SQLITE_DONE) return q.rc();
    ++slot;
    // copies: a failed batch still needs its ops to answer
    c.message = Message{db_.last_insert_id(), op.room, slot, op.user, op.key, op.body, op.a, op.device};
    return SQLITE_OK;
}

int Writer::apply_join(Op& op, Completion& c, SeqMap& undo) {
    Stmt* s = db_.cached(kInsertMember);
    if (!s) return db_.last_rc();
    int64_t seq = seq_slot(seqs_, undo, op.room); // also makes sure the room row exists
    Query q(*s);
    q.bind(1, op.room).bind(2, op.user).bind(3, seq);
    q.step();
    if (q.rc() != SQLITE_DONE) return q.rc();
    c.duplicate = db_.changes() == 0;
    c.message.seq = seq;
    return SQLITE_OK;
}

int Writer::apply_leave(Op& op, Completion& c) {
    Stmt* del = db_.cached(kDeleteMember);
    Stmt* cur = db_.cached(kDeleteCursors);
    if (!del || !cur) return db_.last_rc();
    {
        Query q(*del);
        q.bind(1, op.room).bind(2, op.user);
        q.step();
        if (q.rc() != SQLITE_DONE) return q.rc();
        c.duplicate = db_.changes() == 0;
    }
    Query q(*cur);
    q.bind(1, op.room).bind(2, op.user);
    q.step();
    return q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
}

int Writer::apply_cursor(Op& op, Completion& c) {
    Stmt* s = db_.cached(kUpsertCursor);
    if (!s) return db_.last_rc();
    Query q(*s);
    q.bind(1, op.user).bind(2, op.key).bind(3, op.room).bind(4, op.a).bind(5, op.b);
    if (!q.step()) return q.rc() == SQLITE_DONE ? SQLITE_INTERNAL : q.rc();
    c.cursor = Cursor{op.user, op.key, op.room, q.int64(0), q.int64(1)};
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

void Writer::publish(std::vector<Completion>&& out) {
    if (out.empty()) return;
    {
        std::lock_guard lk(sync_mu_);
        sync_queue_.push_back(SyncJob{{}, false, {}, std::move(out)});
    }
    sync_cv_.notify_one();
}

// On the syncer thread: completions become visible to drain(), flush() and the loop.
void Writer::deliver(std::vector<Completion>&& out) {
    if (out.empty()) return;
    {
        std::lock_guard lk(mu_);
        completed_ += out.size();
        if (done_.empty()) done_ = std::move(out);
        else std::move(out.begin(), out.end(), std::back_inserter(done_));
    }
    cv_done_.notify_all();
    if (!wake_) return;
    try {
        wake_();
    } catch (...) {
        OUTPOST_LOG(error, "store_wake_threw", "%s", "the wake callback must not throw");
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

// Opens db_ and loads what the writer keeps in memory; on failure db_ is closed again and
// `fault` says whether it is a storage fault (worth probing) or not.
Status Writer::open_db(std::string& error, Fault& fault) {
    fault = Fault::none;
    Status st = open_writer(db_, opt_.path, opt_.synchronous_full, error);
    int rc = SQLITE_OK;
    if (st == Status::ok) {
        page_size_ = db_.query_int("PRAGMA page_size", rc);
        if (rc == SQLITE_OK) rc = load_seqs();
        if (rc != SQLITE_OK) {
            error = "loading room seqs: " + db_.last_error();
            st = Status::unavailable;
        }
    }
    if (st == Status::ok && !platform::file_id(opt_.path, db_id_)) {
        error = "cannot examine " + opt_.path + ": " + platform::last_error();
        fault = Fault::cant_open;
        st = Status::unavailable;
    }
    if (st == Status::ok) st = reconcile_marks(error, fault);
    if (st != Status::ok) {
        if (fault == Fault::none) fault = fault_of(db_.last_rc());
        db_.close();
        return st;
    }
    wal_known_ = platform::file_id(opt_.path + "-wal", wal_id_);
    open_ = true;
    refresh_db_bytes();
    opens_.fetch_add(1, std::memory_order_release);
    return Status::ok;
}

// Start-up (and every later open): the marks file against the database. A room whose mark is
// above its stored seq lost acknowledged messages (a WAL damaged after a crash, a database
// replaced): log storage_rollback with the range, record the range (devices get sync:gap for
// it), and continue the room's seq above the mark so no seq is handed out twice. Then the marks
// file is rewritten as one record per room and kept open for appending.
Status Writer::reconcile_marks(std::string& error, Fault& fault) {
    SeqMarks::Map marks;
    if (!marks_.load(marks, error)) {
        fault = Fault::io_error;
        return Status::unavailable;
    }
    struct Lost {
        std::string room;
        int64_t from, to;
    };
    // A damaged WAL can also leave the rooms table older than the messages it describes.
    Stmt* top = db_.cached(kMessageSeqs);
    if (!top) {
        error = "reading message seqs: " + db_.last_error();
        fault = fault_of(db_.last_rc());
        return Status::unavailable;
    }
    {
        Query q(*top);
        while (q.step()) {
            int64_t& slot = seqs_[q.text(0)];
            slot = std::max(slot, q.int64(1));
        }
        if (q.rc() != SQLITE_DONE) {
            error = "reading message seqs: " + db_.last_error();
            fault = fault_of(q.rc());
            return Status::unavailable;
        }
    }
    std::vector<Lost> lost;
    for (const auto& [room, mark] : marks) {
        auto it = seqs_.find(room);
        int64_t have = it == seqs_.end() ? 0 : it->second;
        if (mark > have) lost.push_back(Lost{room, have + 1, mark});
    }
    std::sort(lost.begin(), lost.end(), [](const Lost& a, const Lost& b) { return a.room < b.room; });
    if (!lost.empty()) {
        int64_t now = platform::wall_ms();
        int rc = db_.exec("BEGIN IMMEDIATE");
        Stmt* up = rc == SQLITE_OK ? db_.cached(kUpsertRoom) : nullptr;
        Stmt* ins = up ? db_.cached(kInsertLost) : nullptr;
        if (rc == SQLITE_OK && !ins) rc = db_.last_rc();
        for (size_t i = 0; rc == SQLITE_OK && i < lost.size(); ++i) {
            {
                Query q(*up);
                q.bind(1, lost[i].room).bind(2, lost[i].to);
                q.step();
                rc = q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
            }
            if (rc != SQLITE_OK) break;
            Query q(*ins);
            q.bind(1, lost[i].room).bind(2, lost[i].from).bind(3, lost[i].to).bind(4, now);
            q.step();
            rc = q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
        }
        if (rc == SQLITE_OK) rc = db_.exec("COMMIT");
        if (rc != SQLITE_OK) {
            error = "recording lost seqs: " + db_.last_error();
            rollback();
            fault = fault_of(rc) == Fault::none ? Fault::io_error : fault_of(rc);
            return Status::unavailable;
        }
        int64_t total = 0;
        for (const Lost& l : lost) {
            total += l.to - l.from + 1;
            seqs_[l.room] = l.to;
            OUTPOST_LOG(error, "storage_rollback",
                        "room=%s from=%lld to=%lld lost=%lld detail=\"acknowledged messages are missing from the database "
                        "(WAL or database damaged, replaced or deleted); the room continues above them and devices get sync:gap\"",
                        l.room.c_str(), (long long)l.from, (long long)l.to, (long long)(l.to - l.from + 1));
        }
        OUTPOST_LOG(error, "storage_rollback_summary", "rooms=%zu lost=%lld marks=%s", lost.size(), (long long)total,
                    marks_.path().c_str());
    }
    {
        std::lock_guard lk(mu_);
        for (const auto& [room, seq] : seqs_) committed_[room] = seq;
    }
    Stmt* all = db_.cached(kAllLost);
    if (!all) {
        error = "loading lost ranges: " + db_.last_error();
        fault = fault_of(db_.last_rc());
        return Status::unavailable;
    }
    decltype(lost_) ranges;
    {
        Query q(*all);
        while (q.step()) ranges[q.text(0)].emplace_back(q.int64(1), q.int64(2));
        if (q.rc() != SQLITE_DONE) {
            error = "loading lost ranges: " + db_.last_error();
            fault = fault_of(q.rc());
            return Status::unavailable;
        }
    }
    {
        std::lock_guard lk(mu_);
        lost_ = std::move(ranges);
    }
    SeqMarks::Map snapshot(seqs_.begin(), seqs_.end());
    if (!marks_.rewrite(snapshot, error)) {
        fault = Fault::io_error;
        return Status::unavailable;
    }
    marks_snapshot_ = 0;
    for (const auto& [room, seq] : snapshot) marks_snapshot_ += room.size() + 22;
    marks_appended_ = 0;
    marks_failed_ = false;
    return Status::ok;
}

// After a COMMIT: the new seq of every room the batch advanced goes to the syncer with the
// batch's completions; a snapshot of every room instead when the appended records outgrew the
// last one, or after the syncer failed to write.
void Writer::publish_marked(std::vector<Completion>&& out, const SeqMap& touched) {
    SyncJob job;
    for (const auto& [room, before] : touched) {
        int64_t now = seqs_[room];
        if (now != before) SeqMarks::add_record(job.records, room, now);
    }
    bool outgrown = marks_appended_ > (64u << 10) && marks_appended_ > 8 * marks_snapshot_;
    if (marks_failed_.exchange(false) || (!job.records.empty() && outgrown)) {
        job.rewrite = true;
        job.snapshot = SeqMarks::Map(seqs_.begin(), seqs_.end());
        marks_snapshot_ = 0;
        for (const auto& [room, seq] : job.snapshot) marks_snapshot_ += room.size() + 22;
        marks_appended_ = 0;
    } else {
        marks_appended_ += job.records.size();
    }
    job.out = std::move(out);
    {
        std::lock_guard lk(sync_mu_);
        sync_queue_.push_back(std::move(job));
    }
    sync_cv_.notify_one();
}

void Writer::run_syncer() {
    for (;;) {
        SyncJob job;
        {
            std::unique_lock lk(sync_mu_);
            sync_cv_.wait(lk, [&] { return sync_stop_ || !sync_queue_.empty(); });
            if (sync_queue_.empty()) return;
            job = std::move(sync_queue_.front());
            sync_queue_.pop_front();
        }
        try {
            std::string error;
            bool ok = true;
            if (job.rewrite) ok = marks_.rewrite(job.snapshot, error);
            else if (!job.records.empty()) ok = marks_.append(job.records, opt_.synchronous_full, error);
            if (!ok) {
                // Committed, but without its mark a later rollback could hand these seqs out
                // again: not acknowledged (resends find the rows by their (sender, clientId)).
                std::string reason = "cannot record acknowledged seqs: " + error;
                marks_failed_ = true;
                note_moved(reason);
                for (Completion& c : job.out) {
                    if (c.kind != OpKind::message || c.status != Status::ok || c.duplicate) continue;
                    c.status = Status::unavailable;
                    c.error = reason;
                }
                std::lock_guard lk(mu_);
                ++health_.failed_commits;
            }
            deliver(std::move(job.out));
        } catch (...) {
            OUTPOST_LOG(error, "store_syncer_exception", "what=\"%s\"", "while writing marks; the batch is delivered as it is");
            try {
                deliver(std::move(job.out));
            } catch (...) {
            }
        }
    }
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

void Writer::note_moved(const std::string& why) {
    std::lock_guard lk(mu_);
    if (health_.writable) OUTPOST_LOG(error, "store_unwritable", "reason=\"%s\"", why.c_str());
    health_.writable = false;
    health_.reason = why;
    next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
}

// While unwritable: open the database if it never opened; otherwise, once the files are the ones
// opened, a tiny write transaction; success flips the store back to writable.
void Writer::probe() {
    if (!open_) {
        std::string error;
        Fault fault = Fault::none;
        Status st = open_db(error, fault);
        std::lock_guard lk(mu_);
        if (st != Status::ok) {
            health_.reason = "cannot open the database: " + error;
            next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
            return;
        }
        health_.writable = true;
        health_.reason.clear();
        OUTPOST_LOG(info, "store_writable", "after=open path=%s", opt_.path.c_str());
        if (wake_) wake_(); // the loop loads what the file holds (memberships) now
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
