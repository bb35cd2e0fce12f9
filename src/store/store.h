// store.h - Durable storage for Outpost: memberships, the per-room message log, cursors, retention.
// Owns: the SQLite file <data_dir>/outpost.db, the acked-seq marks beside it (outpost.db-marks),
// a writer thread (group commit) and a read connection for the event loop. Never: blocks the event loop on a disk write, acknowledges before COMMIT,
// or writes outside the database's directory.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace outpost::store {

struct StoreOptions {
    std::string path;                 // <data_dir>/outpost.db
    bool synchronous_full = true;     // storage.synchronous "full" | "normal"
    int64_t commit_interval_ms = 5;   // group commit: commit at most this long after the first queued write...
    int64_t commit_batch = 256;       // ...or when this many writes are queued, whichever first
                                      // (sooner when the last commit took less, and as soon as
                                      // no write has arrived for 250 us)
    int64_t max_messages_per_room = 10000, max_age_s = 2592000, max_db_bytes = 268435456; // retention
    int64_t probe_interval_ms = 500;  // while unwritable: how often the writer tries a tiny write
    int64_t retention_interval_ms = 1000; // how often an idle writer looks for something to prune
};

struct Message {
    int64_t id = 0;
    std::string room;
    int64_t seq = 0;
    std::string sender, client_id, body;
    int64_t ts = 0;
    std::string sender_device; // the deviceId the sender used ("" for HTTP publishes)
};
struct Membership {
    std::string room, user;
    int64_t joined_seq = 0;
};
struct Cursor {
    std::string user, device, room;
    int64_t delivered = 0, read = 0;
};

enum class OpKind : uint8_t { message, join, leave, cursor };

// What the writer thread reports back, in submission order.
struct Completion {
    uint64_t token = 0;               // the caller's token from submit_*
    OpKind kind = OpKind::message;
    Status status = Status::ok;       // ok | unavailable (disk full, read-only, I/O error: error says which) | invalid_argument
    std::string error;                // human reason when not ok
    // message: id, room, seq, sender, client_id, body, ts (the FIRST copy's fields on a duplicate).
    // join: room, sender = user, seq = the room's latest seq at commit (= joined_seq when new).
    // leave: room, sender = user. cursor: room, sender = user.
    Message message;
    // message: a resend of (sender, client_id). join: already a member (joined_seq unchanged).
    // leave: was not a member.
    bool duplicate = false;
    Cursor cursor;                    // cursor: the stored values after the (monotonic) update
};

// Upper bounds (microseconds) of the commit latency histogram; one more bucket counts the rest.
inline constexpr std::array<uint64_t, 12> kCommitLatencyBoundsUs = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};

struct Health {
    bool writable = true;
    // why not writable ("disk full", "database is read-only", "I/O error ...", "cannot open the
    // database: ...", "database file ... was deleted or replaced while open ...")
    std::string reason;
    int64_t db_bytes = 0;             // page_count * page_size of the main file, as of the last write
    uint64_t commits = 0;             // successful write transactions (batches)
    uint64_t failed_commits = 0;      // batches that failed (their writes completed unavailable)
    uint64_t pruned_unconfirmed = 0;  // pruned while some device's cursor had not reached them
    uint64_t pruned_total = 0;
    uint64_t queue_depth = 0;         // writes submitted and not yet completed
    // counts per kCommitLatencyBoundsUs bucket, plus a last one for slower commits
    std::vector<uint64_t> commit_latency_buckets_us_counts;
};

class Store {
public:
    // Opens (the directory must exist), runs PRAGMA quick_check: a corrupt file (and -wal/-shm) is
    // renamed to <name>.corrupt-<UTC timestamp> with a loud log line and a fresh one is started;
    // sets WAL, synchronous, busy_timeout, applies migrations, loads per-room latest seqs, starts
    // the writer thread. A storage fault while opening (disk full, read-only, cannot open) still
    // returns a Store: unwritable with the reason, reads failing, until the writer's probe opens
    // the file (opens() turns 1). Only other errors (e.g. a schema newer than this build) fail. `wake` is called FROM THE WRITER THREAD whenever completions are ready
    // (the loop then calls drain()); it may be called until the destructor returns.
    static Result<std::unique_ptr<Store>> open(const StoreOptions& opt, std::function<void()> wake);
    ~Store(); // commits queued writes, stops the thread, closes
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // ---- Reads: on the caller's (event loop) thread, through a separate connection.
    Result<std::vector<Membership>> load_memberships();              // everything, sorted (room, user)
    Result<std::vector<Cursor>> load_cursors(std::string_view user); // all rooms/devices of a user
    int64_t latest_seq(std::string_view room) const;                 // committed seq (0 when empty), from memory
    // Inclusive seq ranges of `room` that were acknowledged and later found missing at start-up
    // (storage_rollback), from memory; usually none.
    std::vector<std::pair<int64_t, int64_t>> lost_ranges(std::string_view room) const;
    int64_t oldest_seq(std::string_view room);                       // lowest retained seq, 0 when none
    // PROTOCOL §13 History: before/after are exclusive bounds (< 0: unset; 0 is a bound), ascending.
    // No bound: the newest page, has_more = older exist. before only: has_more = older exist.
    // after (with or without before): the oldest page above after (below before), has_more = newer
    // exist inside the bounds. limit must be > 0 (invalid_argument otherwise).
    Result<std::vector<Message>> history(std::string_view room, int64_t before, int64_t after, int limit,
                                         bool& has_more);
    // Messages with seq > after_seq in ascending order, at most `limit` (skipping the device's own
    // messages is the hub's job).
    Result<std::vector<Message>> replay(std::string_view room, int64_t after_seq, int limit);

    // ---- Writes: queued to the writer thread, completed in order through drain(). Thread-safe.
    void submit_message(uint64_t token, std::string room, std::string sender, std::string client_id,
                        std::string body_json, int64_t ts_ms, std::string sender_device = {});
    // joined_seq = the room's latest seq at commit; Completion.message.seq carries it.
    void submit_join(uint64_t token, std::string room, std::string user);
    // Removes the membership and the user's cursors in that room.
    void submit_leave(uint64_t token, std::string room, std::string user);
    // Monotonic: never lowers a stored value; -1 leaves a field alone (a new row starts at 0).
    void submit_cursor(uint64_t token, std::string user, std::string device, std::string room,
                       int64_t delivered, int64_t read);

    // Delivers ready completions on the caller's thread, in submission order. Call after wake().
    void drain(const std::function<void(Completion&&)>& fn);
    Health health() const;   // cheap (no disk access)
    uint64_t opens() const;  // times the file was opened: 0 while a start-up fault keeps it closed
    void flush();            // blocks until everything submitted so far has completed
    // Blocks until the writer has run retention to completion (tests, admin); returns rows pruned.
    uint64_t prune_now();

    struct Impl;

private:
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace outpost::store
