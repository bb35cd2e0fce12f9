// event_loop.h - The loop lws runs on, behind one small interface (as redis' ae.c picks a backend).
// Owns: creating the lws context on the loop, one wake-up timer, one turn of the loop. Never:
// knows sessions, HTTP or WebSocket (server.cpp drives it). Backends: loop_poll.cpp (lws' own
// poll()) and loop_libev.cpp (epoll through libev and lws' libev event-lib plugin).
#pragma once

#include <libwebsockets.h>

#include <cstdint>
#include <memory>

namespace outpost::net {

class EventLoop {
public:
    using TimerFn = void (*)(void* arg);
    virtual ~EventLoop() = default;
    // Creates the lws context on this loop; null when lws cannot run on it. Destroy the context
    // (lws_context_destroy) before the loop.
    virtual struct lws_context* create_context(const struct lws_context_creation_info& info) = 0;
    // The timer function runs once `delay_ms` from now (a pending wake-up is replaced).
    virtual void arm(int64_t delay_ms) = 0;
    // One batch of socket events: `wait` until there are some (or the wake-up is due), else only
    // those ready now. False once lws has stopped.
    virtual bool run(bool wait) = 0;
    virtual const char* name() const = 0; // "poll" or "libev"
};

// lws' default poll() loop.
std::unique_ptr<EventLoop> make_poll_loop(EventLoop::TimerFn on_timer, void* arg);
// libev (epoll): null when this build has no libev or no libev loop can be made.
std::unique_ptr<EventLoop> make_libev_loop(EventLoop::TimerFn on_timer, void* arg);

} // namespace outpost::net
