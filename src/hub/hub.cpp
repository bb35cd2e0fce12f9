// hub.cpp - The Hub's wiring, start-up load and lookups of sockets, users and rooms (see hub.h).
#include "hub/hub.h"

#include <algorithm>

#include "core/log.h"
#include "hub/internal.h"

namespace outpost::hub {

std::vector<std::string> Hub::recent_disconnects() const { return {recent_disconnects_.begin(), recent_disconnects_.end()}; }

Hub::Hub(const settings::Settings& settings, size_t max_sessions)
    : settings_(settings), socket_table_(max_sessions, core::SlotMode::mirror) {}
Hub::~Hub() = default;

void Hub::attach(sio::SocketLayer* layer, store::Store* store) {
    layer_ = layer;
    store_ = store;
    adapter_ = std::make_unique<LocalAdapter>(*layer, *this);
}

// SIGHUP: new limits apply to live sockets too (their buckets start full at the new burst).
void Hub::set_settings(const settings::Settings& s) {
    bool limits_changed = !(s.rate_limits == settings_.rate_limits);
    settings_ = s;
    if (!limits_changed || !layer_) return;
    int64_t now = clock_mono_ms();
    socket_table_.for_each([&](Socket& socket) { reset_buckets(socket, now); });
}

// Every rate-limit class of a socket full at its configured burst.
void Hub::reset_buckets(Socket& socket, int64_t now) {
    const settings::RateLimits& rl = settings_.rate_limits;
    const settings::RateLimit* classes[] = {&rl.typing, &rl.room, &rl.presence, &rl.message, &rl.default_};
    for (size_t i = 0; i < size_t(RateClass::count); ++i) socket.buckets[i].reset(classes[i]->burst, classes[i]->per_ms, now);
}

int64_t Hub::clock_mono_ms() const { return layer_->transport().now_ms(); }
int64_t Hub::clock_wall_ms() const { return layer_->transport().wall_ms(); }

// At start-up, and again when a store that started unwritable opens its file: memberships, the
// rooms' seqs, and (reloaded on demand) the cursors.
Status Hub::load(std::string& error) {
    if (!store_) return Status::ok;
    loaded_opens_ = store_->opens();
    if (loaded_opens_ == 0) {
        OUTPOST_LOG(warn, "memberships_deferred", "reason=\"%s\"", store_->health().reason.c_str());
        return Status::ok;
    }
    Result<std::vector<store::Membership>> rows = store_->load_memberships();
    if (!rows.ok()) {
        error = rows.error().message;
        return rows.status();
    }
    for (const store::Membership& m : *rows) add_member(user(m.user), room(m.room), m.joined_seq);
    for (Room& r : rooms_)
        if (r.live) r.live_seq = std::max(r.live_seq, store_->latest_seq(r.name));
    for (User& u : users_) u.receipts.reset();
    OUTPOST_LOG(info, "memberships_loaded", "rooms=%zu memberships=%zu", live_rooms_, rows->size());
    return Status::ok;
}

void Hub::on_store_ready() {
    if (!store_) return;
    if (store_->opens() != loaded_opens_) {
        std::string error;
        if (load(error) != Status::ok) OUTPOST_LOG(error, "memberships_load_failed", "error=\"%s\"", error.c_str());
    }
    store_->drain([this](store::Completion&& c) { complete(std::move(c)); });
}

// ---------------------------------------------------------------- lookups

Hub::Socket* Hub::find_socket(sio::SocketId socket_id) { return socket_table_.find(socket_id.session); }

Hub::User& Hub::user(std::string_view id) {
    auto it = user_index_.find(id);
    if (it != user_index_.end()) return users_[it->second];
    User& u = users_.emplace_back();
    u.uid = uint32_t(users_.size() - 1);
    u.id = std::string(id);
    user_index_.emplace(u.id, u.uid);
    return u;
}

// The room named `name`, made when missing (callers that may refuse check rooms_full() first).
Hub::Room& Hub::room(std::string_view name) {
    if (Room* r = find_room(name)) return *r;
    if (free_rooms_.empty()) {
        Room& fresh = rooms_.emplace_back();
        fresh.rid = uint32_t(rooms_.size() - 1);
        free_rooms_.push_back(fresh.rid);
    }
    Room& r = rooms_[free_rooms_.back()];
    free_rooms_.pop_back();
    ++live_rooms_;
    r.live = true;
    r.gen = (r.gen + 1) & kRoomGenMask;
    r.name = std::string(name);
    r.live_seq = store_ ? store_->latest_seq(r.name) : 0;
    room_index_.emplace(r.name, r.rid);
    return r;
}

Hub::Room* Hub::find_room(std::string_view name) {
    auto it = room_index_.find(std::string(name));
    return it == room_index_.end() ? nullptr : &rooms_[it->second];
}

uint32_t Hub::room_key(const Room& r) const { return r.rid | r.gen << kRoomIndexBits; }

Hub::Room* Hub::room_by_key(uint32_t key) {
    uint32_t index = key & ((uint32_t(1) << kRoomIndexBits) - 1);
    if (index >= rooms_.size() || !rooms_[index].live || room_key(rooms_[index]) != key) return nullptr;
    return &rooms_[index];
}

bool Hub::rooms_full() const { return int64_t(live_rooms_) >= settings_.limits.max_rooms; }

// A room nobody is in, joining or typing in goes: its slot is reused for the next new room (its
// seq is the store's, read again when the room comes back).
void Hub::reclaim_if_empty(Room& r) {
    if (!r.live || !r.members.empty() || members_held(r) != 0 || !r.typing.empty()) return;
    room_index_.erase(r.name);
    r.live = false;
    std::string().swap(r.name);
    r.live_seq = 0;
    free_rooms_.push_back(r.rid);
    --live_rooms_;
}

} // namespace outpost::hub
