// loop_poll.cpp - The poll() backend of EventLoop: lws' own loop, its wake-up an lws_sul.
// Owns: the sul and the context it serves. Never: anything beyond event_loop.h.
#include "net/event_loop.h"

#include <cstddef>
#include <type_traits>

namespace outpost::net {
namespace {

class PollLoop final : public EventLoop {
public:
    PollLoop(TimerFn fn, void* arg) : fn_(fn), arg_(arg) { wake_.owner = this; }
    struct lws_context* create_context(const struct lws_context_creation_info& info) override {
        ctx_ = lws_create_context(&info);
        return ctx_;
    }
    void arm(int64_t delay_ms) override { lws_sul_schedule(ctx_, 0, &wake_.sul, fire, delay_ms * LWS_US_PER_MS); }
    bool run(bool wait) override { return lws_service(ctx_, wait ? 0 : -1) >= 0; }
    const char* name() const override { return "poll"; }

private:
    // The sul with a way back to its loop: lws hands the callback the sul alone.
    struct Wake {
        lws_sorted_usec_list_t sul{}; // first: a pointer to it is a pointer to the Wake
        PollLoop* owner = nullptr;
    };
    static void fire(lws_sorted_usec_list_t* sul) {
        static_assert(std::is_standard_layout_v<Wake> && offsetof(Wake, sul) == 0);
        PollLoop* self = reinterpret_cast<Wake*>(sul)->owner;
        self->fn_(self->arg_);
    }
    Wake wake_;
    struct lws_context* ctx_ = nullptr;
    TimerFn fn_;
    void* arg_;
};

} // namespace

std::unique_ptr<EventLoop> make_poll_loop(EventLoop::TimerFn on_timer, void* arg) {
    return std::make_unique<PollLoop>(on_timer, arg);
}

} // namespace outpost::net
