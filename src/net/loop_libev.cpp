// loop_libev.cpp - The libev backend of EventLoop: lws on a libev (epoll) loop, its wake-up an ev_timer.
// Owns: the ev_loop and the timer. Never: anything beyond event_loop.h. Built without libev
// (OUTPOST_LIBEV=OFF or no libev found) it makes no loop, and the server runs on poll().
#include "net/event_loop.h"

#if OUTPOST_HAVE_LIBEV
#include <ev.h>
#endif

namespace outpost::net {

#if OUTPOST_HAVE_LIBEV
namespace {

// libev (epoll) costs O(ready sockets) per wakeup where lws' default poll() costs O(connections).
// lws reaches libev through a plugin (Debian: libwebsockets-evlib-ev); without it the context
// cannot be created here and the server falls back to poll().
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
    // An ev_timer, not an lws_sul: lws 4.1's libev glue re-arms its own timer only from inside its
    // callbacks, so a sul scheduled from out here could sleep until the next socket event.
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
