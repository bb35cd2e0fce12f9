// adapter.cpp - The in-process adapter: room subscriptions and one-frame-many-sockets delivery.
#include "hub/adapter.h"

#include <algorithm>

namespace outpost::hub {

void LocalAdapter::join(std::string_view room, sio::SocketId s) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) it = rooms_.emplace(std::string(room), SocketList{}).first;
    auto& v = it->second;
    if (std::find(v.begin(), v.end(), s) != v.end()) return;
    v.push_back(s);
    // A socket joins exactly one user room (its own user's): all_ gets it once, with no search.
    if (room.rfind("user:", 0) == 0) all_.push_back(s);
}

void LocalAdapter::leave(std::string_view room, sio::SocketId s) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    auto& v = it->second;
    auto pos = std::find(v.begin(), v.end(), s);
    if (pos != v.end()) {
        *pos = v.back();
        v.pop_back();
    }
    if (v.empty()) rooms_.erase(it);
}

void LocalAdapter::leave_all(sio::SocketId s, const std::vector<std::string>& rooms) {
    for (const std::string& r : rooms) leave(r, s);
    auto pos = std::find(all_.begin(), all_.end(), s);
    if (pos != all_.end()) {
        *pos = all_.back();
        all_.pop_back();
    }
}

void LocalAdapter::deliver(sio::SocketId s, const pool::FrameRef& frame, const sio::AckTag* ack) {
    if (!layer_.send_frame(s, frame, false, ack)) slow_list_.push_back(s);
}

// Slow consumers are cut after the loop: cutting changes the subscription lists being walked.
void LocalAdapter::flush_slow() {
    if (slow_list_.empty()) return;
    std::vector<sio::SocketId> slow;
    slow.swap(slow_list_);
    for (sio::SocketId s : slow) slow_.on_slow_consumer(s);
    slow.clear();
    if (slow_list_.empty()) slow_list_.swap(slow); // keep the capacity
}

void LocalAdapter::to_room(std::string_view room, const pool::FrameRef& frame, sio::SocketId except, std::string_view except_room,
                           const sio::AckTag* ack) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    const SocketList* skip = except_room.empty() ? nullptr : sockets(except_room);
    for (sio::SocketId s : it->second) {
        if (s == except) continue;
        if (skip && std::find(skip->begin(), skip->end(), s) != skip->end()) continue;
        deliver(s, frame, ack);
    }
    flush_slow();
}

void LocalAdapter::to_all(const pool::FrameRef& frame, std::string_view except_room) {
    const SocketList* skip = except_room.empty() ? nullptr : sockets(except_room);
    for (sio::SocketId s : all_) {
        if (skip && std::find(skip->begin(), skip->end(), s) != skip->end()) continue;
        deliver(s, frame);
    }
    flush_slow();
}

size_t LocalAdapter::room_size(std::string_view room) const {
    auto it = rooms_.find(room);
    return it == rooms_.end() ? 0 : it->second.size();
}

const SocketList* LocalAdapter::sockets(std::string_view room) const {
    auto it = rooms_.find(room);
    return it == rooms_.end() ? nullptr : &it->second;
}

} // namespace outpost::hub
