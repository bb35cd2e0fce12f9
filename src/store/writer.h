// writer.h - The store's writer thread: a queue of writes committed in groups, completions queued
// back in submission order, idle-time retention, and fault detection with a recovery probe; and
// its syncer thread, which writes each commit's acked-seq marks before handing its completions on.
// Owns: the write connection, the per-room next seq, the marks file, the health counters. Never:
// lets an exception or a sqlite3 handle cross to another thread, or completes a write ok before its
// COMMIT returned and its mark is written.
// Implemented by writer.cpp (queue and loop), writer_batch.cpp (one transaction per batch),
// writer_open.cpp (open, marks reconcile, moved files, probe), writer_sync.cpp (the marks syncer)
// and retention.cpp (pruning).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "platform/platform.h"
#include "store/done.h"
#include "store/marks.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace outpost::store {

using Clock = std::chrono::steady_clock;

inline constexpr int64_t kPruneBatch = 500; // rows per retention transaction
inline constexpr std::chrono::microseconds kQuiet{250}; // no new write for this long: commit now

// The write kinds, each with the fields it uses.
struct MessageWrite {
    std::string room, sender, client_id, body; // body: the client's JSON value, stored as written
    int64_t ts = 0;                            // ms since the epoch
    std::string device;                        // the sending device ("" for HTTP publishes)
};
struct JoinWrite {
    std::string room, user;
};
struct LeaveWrite {
    std::string room, user;
};
struct CursorWrite {
    std::string room, user, device;
    int64_t delivered = 0, read = 0; // -1: leave the stored value alone
};
using Write = std::variant<MessageWrite, JoinWrite, LeaveWrite, CursorWrite>;

OpKind kind_of(const Write& w);
const std::string& room_of(const Write& w);
const std::string& user_of(const Write& w); // the sender of a message

// One queued write.
struct Op {
    uint64_t token = 0;
    Write write;
    Clock::time_point at; // when submitted
};

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using SeqMap = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

class Writer {
public:
    Writer(const StoreOptions& opt, std::function<void()> wake);
    ~Writer(); // commits what is queued, then stops the thread
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Opens the database (integrity check, pragmas, migrations), loads the per-room seqs and the
    // health baseline, then starts the thread. A storage fault (disk full, read-only, cannot open)
    // does not stop the start: the store begins unwritable and the probe opens it once it can.
    // Other errors (a schema from a newer build) are returned.
    Done start();
    uint64_t opens() const { return opens_.load(std::memory_order_acquire); } // 0 until the file is open

    void submit(Op op);
    void drain(const std::function<void(Completion&&)>& fn);
    Health health() const;
    void flush();
    uint64_t prune_now();
    int64_t latest_seq(std::string_view room) const;
    // Seq ranges (inclusive) of a room that were acknowledged and then lost (storage_rollback).
    std::vector<std::pair<int64_t, int64_t>> lost_ranges(std::string_view room) const;

private:
    enum class Work : uint8_t { batch, probe, retention, prune_all, exit };

    void run();
    Work wait_for_work(std::vector<Op>& batch);
    void process_batch(std::vector<Op>& batch);
    std::string after_failed_commit(int rc, const SeqMap& undo);
    void recover_from_exception(const std::vector<Op>& batch, const char* what) noexcept;
    void fail_batch(const std::vector<Op>& batch, std::vector<Completion>& out, const std::string& reason);
    int apply(const Op& op, Completion& c, SeqMap& undo);
    int apply_write(const MessageWrite& w, Completion& c, SeqMap& undo);
    int apply_write(const JoinWrite& w, Completion& c, SeqMap& undo);
    int apply_write(const LeaveWrite& w, Completion& c, SeqMap& undo);
    int apply_write(const CursorWrite& w, Completion& c, SeqMap& undo);
    int store_room_seqs(const SeqMap& touched);
    void restore_seqs(const SeqMap& undo);
    int load_seqs();
    void publish(std::vector<Completion>&& out);
    void note_commit(int64_t micros, const SeqMap& touched);
    void note_fault(int rc, const std::string& detail);
    void probe();
    void probe_open();
    // The open and its steps; on failure `fault` says whether it is a storage fault (probe again).
    Done open_db(Fault& fault);
    bool files_moved(std::string& why);        // the path no longer names the open db or WAL
    void note_moved(const std::string& why);
    struct LostRange {
        std::string room;
        int64_t from, to; // inclusive
    };
    Done reconcile_marks(Fault& fault);
    Done raise_seqs_to_messages(Fault& fault);
    Done record_lost(const std::vector<LostRange>& lost, Fault& fault);
    Done load_lost_ranges(Fault& fault);
    static uint64_t snapshot_bytes(const SeqMarks::Map& snapshot); // about what rewrite() writes
    // The marks syncer thread: appends (and syncs) each committed batch's marks, then delivers its
    // completions. Every completion goes through it, in order, so acks never leave before their
    // marks and the writer can COMMIT the next batch while the marks reach the disk.
    struct SyncJob {
        std::string records;          // "<room> <seq>\n" for the rooms the batch advanced
        bool rewrite = false;         // replace the file by `snapshot` instead of appending
        SeqMarks::Map snapshot;
        std::vector<Completion> out;
    };
    void publish_marked(std::vector<Completion>&& out, const SeqMap& touched);
    void run_syncer();
    void deliver(std::vector<Completion>&& out);
    int64_t prune_step();     // rows pruned, -1 on error
    int prune_rows(const char* select_sql, int64_t arg, bool has_arg, int64_t& pruned, int64_t& unconfirmed);
    int64_t used_bytes(int& rc);
    void refresh_db_bytes();
    void rollback();

    StoreOptions opt_;
    std::function<void()> wake_;
    Db db_;
    bool open_ = false;                        // writer thread (after start): db_ is open and loaded
    std::atomic<uint64_t> opens_{0};
    platform::FileId db_id_, wal_id_;          // what the path named when the file was opened
    bool wal_known_ = false;
    SeqMarks marks_;                           // acked-seq marks beside the database: the syncer's, once it runs
    uint64_t marks_appended_ = 0, marks_snapshot_ = 0; // writer thread: bytes appended since the last snapshot, its size
    std::atomic<bool> marks_failed_{false};    // the syncer could not write: the next batch rewrites the file
    SeqMap seqs_;             // writer thread only: latest seq including the open transaction
    int64_t page_size_ = 4096;
    Clock::duration last_commit_ = Clock::duration::max(); // writer thread: the last commit's duration

    mutable std::mutex mu_;
    std::condition_variable cv_;      // wakes the writer
    std::condition_variable cv_done_; // wakes flush() / prune_now()
    std::deque<Op> queue_;
    std::vector<Completion> done_;
    SeqMap committed_;
    using LostMap = std::unordered_map<std::string, std::vector<std::pair<int64_t, int64_t>>, StringHash, std::equal_to<>>;
    LostMap lost_;
    Health health_;
    uint64_t submitted_ = 0, completed_ = 0, flush_target_ = 0;
    uint64_t prune_requests_ = 0, prune_done_ = 0, prune_last_ = 0;
    bool stop_ = false;
    Clock::time_point next_probe_{}, next_retention_{};
    std::thread thread_;

    std::mutex sync_mu_;
    std::condition_variable sync_cv_;
    std::deque<SyncJob> sync_queue_;
    bool sync_stop_ = false;
    std::thread syncer_;
};

} // namespace outpost::store
