// loop_libev.cpp - The libev backend of EventLoop: lws on a libev (epoll) loop, its wake-up an ev_timer.
// Owns: the ev_loop and the timer. Never: anything beyond event_loop.h. Built without libev (lws'
// lws_config.h lacks LWS_WITH_LIBEV, or OUTPOST_LIBEV=OFF) it makes no loop, and the server runs
// on poll().
#include "net/event_loop.h"

// lws' own lws_config.h (through libwebsockets.h) says whether lws can run on libev at all;
// OUTPOST_HAVE_LIBEV (CMake, from the same lws_config.h) says ev.h and libev are on the link line.
#if defined(LWS_WITH_LIBEV) && OUTPOST_HAVE_LIBEV
#include <ev.h>
#endif

namespace outpost::net {

#if defined(LWS_WITH_LIBEV) && OUTPOST_HAVE_LIBEV
namespace {

// libev (epoll) costs O(ready sockets) per wakeup where lws' default poll() costs O(connections).
// lws reaches libev either built in (the static dependency set: LWS_WITH_EVLIB_PLUGINS off) or
// through a plugin (Debian 12: libwebsockets-evlib-ev); without the plugin the context cannot be
// created here and the server falls back to poll().
class LibevLoop final : public EventLoop {
public:
    LibevLoop(struct ev_loop* loop, TimerFn fn, void* arg) : loop_(loop), fn_(fn), arg_(arg) {
        ev_init(&tick_, fire);
        tick_.data = this;
    }
    ~LibevLoop() override { ev_loop_destroy(loop_); }
    struct lws_context* create_context(const struct lws_context_creation_info& info) override {
        void* foreign[1] = {loop_};
        struct lws_context_creation_info ev_info = info;
        ev_info.options |= LWS_SERVER_OPTION_LIBEV;
        ev_info.foreign_loops = foreign;
        return lws_create_context(&ev_info);
    }
    // An ev_timer, not an lws_sul: lws' libev glue (4.1, and still 4.3.5: lib/event-libs/libev)
    // re-arms its own timer only from inside its callbacks (hrtimer and idle), and lws_sul_schedule
    // does not touch it, so a sul scheduled from out here could sleep until the next socket event.
    void arm(int64_t delay_ms) override {
        ev_timer_stop(loop_, &tick_);
        ev_now_update(loop_); // ev_timer counts from the loop's cached time
        ev_timer_set(&tick_, double(delay_ms) / 1000.0, 0.);
        ev_timer_start(loop_, &tick_);
    }
    bool run(bool wait) override {
        ev_run(loop_, wait ? EVRUN_ONCE : EVRUN_NOWAIT); // one batch (lws_cancel_service included)
        return true;
    }
    const char* name() const override { return "libev"; }

private:
    static void fire(struct ev_loop*, ev_timer* w, int) {
        auto* self = static_cast<LibevLoop*>(w->data);
        self->fn_(self->arg_);
    }
    struct ev_loop* loop_;
    ev_timer tick_{};
    TimerFn fn_;
    void* arg_;
};

} // namespace

std::unique_ptr<EventLoop> make_libev_loop(EventLoop::TimerFn on_timer, void* arg) {
    struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!loop) return nullptr;
    return std::make_unique<LibevLoop>(loop, on_timer, arg);
}
#else
std::unique_ptr<EventLoop> make_libev_loop(EventLoop::TimerFn, void*) { return nullptr; }
#endif

} // namespace outpost::net
