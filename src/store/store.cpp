// store.cpp - Store: opening, the event loop's reads (own connection), and the write front-end.
#include "store/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>

#include "core/log.h"
#include "store/schema.h"
#include "store/writer.h"

namespace outpost::store {
namespace {

constexpr int64_t kSoftHeapLimit = 16 << 20; // SQLite's page caches and scratch, process-wide

constexpr const char* kMemberships = "SELECT room, user, joined_seq FROM memberships ORDER BY room, user";
constexpr const char* kCursorsOf = "SELECT user, device, room, delivered, read FROM cursors WHERE user=?1";
constexpr const char* kOldest = "SELECT min(seq) FROM messages WHERE room=?1";
constexpr const char* kNewestBelow =
    "SELECT id, room, seq, sender, client_id, body, ts, sender_device FROM messages WHERE room=?1 AND seq<?2 "
    "ORDER BY seq DESC LIMIT ?3";
constexpr const char* kOldestAbove =
    "SELECT id, room, seq, sender, client_id, body, ts, sender_device FROM messages WHERE room=?1 AND seq>?2 AND seq<?3 "
    "ORDER BY seq ASC LIMIT ?4";

Message message_of(const Query& q) {
    return Message{q.int64(0), q.text(1), q.int64(2), q.text(3), q.text(4), q.text(5), q.int64(6), q.text(7)};
}

template <class T>
Result<T> read_error(Db& db, int rc, const char* what) {
    return Result<T>::fail(Status::unavailable, std::string(what) + ": " + db.last_error() + " (" +
                                                    std::to_string(rc) + ")");
}

} // namespace

struct Store::Impl {
    StoreOptions opt;
    Db reader;
    std::unique_ptr<Writer> writer;

    ~Impl() {
        reader.close(); // the writer's connection closes last and checkpoints the WAL
        writer.reset();
    }

    // The read connection opens once the writer has opened the file (at start, or later when the
    // store started unwritable).
    bool reader_ready() {
        if (reader.is_open()) return true;
        if (writer->opens() == 0) return false;
        Done r = open_reader(reader, opt.path);
        if (r.ok()) return true;
        OUTPOST_LOG(warn, "store_reader_failed", "path=%s error=\"%s\"", opt.path.c_str(), r.error().message.c_str());
        reader.close();
        return false;
    }

    // Runs a cached read with binds applied by `bind`, collecting rows with `row`.
    template <class Bind, class Row>
    int read(const char* sql, Bind&& bind, Row&& row) {
        if (!reader_ready()) return SQLITE_CANTOPEN;
        Stmt* s = reader.cached(sql);
        if (!s) return reader.last_rc();
        Query q(*s);
        bind(q);
        while (q.step()) row(q);
        return q.rc() == SQLITE_DONE ? SQLITE_OK : q.rc();
    }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& opt, std::function<void()> wake) {
    sqlite3_soft_heap_limit64(kSoftHeapLimit);
    auto impl = std::make_unique<Impl>();
    impl->opt = opt;
    impl->writer = std::make_unique<Writer>(opt, std::move(wake));
    if (Done r = impl->writer->start(); !r.ok()) {
        OUTPOST_LOG(error, "store_open_failed", "path=%s error=\"%s\"", opt.path.c_str(), r.error().message.c_str());
        return r.error();
    }
    if (impl->reader_ready())
        OUTPOST_LOG(info, "store_open", "path=%s synchronous=%s", opt.path.c_str(),
                    opt.synchronous_full ? "full" : "normal");
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Result<std::vector<Membership>> Store::load_memberships() {
    std::vector<Membership> out;
    int rc = impl_->read(
        kMemberships, [](Query&) {},
        [&](Query& q) { out.push_back(Membership{q.text(0), q.text(1), q.int64(2)}); });
    if (rc != SQLITE_OK) return read_error<std::vector<Membership>>(impl_->reader, rc, "load_memberships");
    return out;
}

Result<std::vector<Cursor>> Store::load_cursors(std::string_view user) {
    std::vector<Cursor> out;
    int rc = impl_->read(
        kCursorsOf, [&](Query& q) { q.bind(1, user); },
        [&](Query& q) { out.push_back(Cursor{q.text(0), q.text(1), q.text(2), q.int64(3), q.int64(4)}); });
    if (rc != SQLITE_OK) return read_error<std::vector<Cursor>>(impl_->reader, rc, "load_cursors");
    return out;
}

int64_t Store::latest_seq(std::string_view room) const { return impl_->writer->latest_seq(room); }
std::vector<std::pair<int64_t, int64_t>> Store::lost_ranges(std::string_view room) const {
    return impl_->writer->lost_ranges(room);
}

int64_t Store::oldest_seq(std::string_view room) {
    int64_t oldest = 0;
    int rc = impl_->read(
        kOldest, [&](Query& q) { q.bind(1, room); }, [&](Query& q) { oldest = q.int64(0); });
    return rc == SQLITE_OK ? oldest : 0;
}

Result<std::vector<Message>> Store::history(std::string_view room, int64_t before, int64_t after, int limit,
                                            bool& has_more) {
    has_more = false;
    if (limit <= 0) return Result<std::vector<Message>>::fail(Status::invalid_argument, "limit must be positive");
    const int64_t upper = before >= 0 ? before : std::numeric_limits<int64_t>::max();
    const int64_t fetch = static_cast<int64_t>(limit) + 1; // one extra row answers has_more
    std::vector<Message> out;
    auto row = [&](Query& q) { out.push_back(message_of(q)); };
    int rc;
    if (after >= 0) {
        rc = impl_->read(
            kOldestAbove, [&](Query& q) { q.bind(1, room).bind(2, after).bind(3, upper).bind(4, fetch); }, row);
    } else {
        rc = impl_->read(kNewestBelow, [&](Query& q) { q.bind(1, room).bind(2, upper).bind(3, fetch); }, row);
    }
    if (rc != SQLITE_OK) return read_error<std::vector<Message>>(impl_->reader, rc, "history");
    has_more = out.size() > static_cast<size_t>(limit);
    if (has_more) out.pop_back();
    if (after < 0) std::reverse(out.begin(), out.end());
    return out;
}

Result<std::vector<Message>> Store::replay(std::string_view room, int64_t after_seq, int limit) {
    if (limit <= 0) return std::vector<Message>{};
    std::vector<Message> out;
    int rc = impl_->read(
        kOldestAbove,
        [&](Query& q) {
            q.bind(1, room).bind(2, after_seq).bind(3, std::numeric_limits<int64_t>::max()).bind(4, int64_t{limit});
        },
        [&](Query& q) { out.push_back(message_of(q)); });
    if (rc != SQLITE_OK) return read_error<std::vector<Message>>(impl_->reader, rc, "replay");
    return out;
}

void Store::submit_message(uint64_t token, std::string room, std::string sender, std::string client_id,
                           std::string body_json, int64_t ts_ms, std::string sender_device) {
    impl_->writer->submit(Op{token,
                             MessageWrite{std::move(room), std::move(sender), std::move(client_id),
                                          std::move(body_json), ts_ms, std::move(sender_device)},
                             {}});
}

void Store::submit_join(uint64_t token, std::string room, std::string user) {
    impl_->writer->submit(Op{token, JoinWrite{std::move(room), std::move(user)}, {}});
}

void Store::submit_leave(uint64_t token, std::string room, std::string user) {
    impl_->writer->submit(Op{token, LeaveWrite{std::move(room), std::move(user)}, {}});
}

void Store::submit_cursor(uint64_t token, std::string user, std::string device, std::string room,
                          int64_t delivered, int64_t read) {
    impl_->writer->submit(Op{token, CursorWrite{std::move(room), std::move(user), std::move(device), delivered, read}, {}});
}

void Store::drain(const std::function<void(Completion&&)>& fn) { impl_->writer->drain(fn); }
Health Store::health() const { return impl_->writer->health(); }
uint64_t Store::opens() const { return impl_->writer->opens(); }
void Store::flush() { impl_->writer->flush(); }
uint64_t Store::prune_now() { return impl_->writer->prune_now(); }

} // namespace outpost::store
