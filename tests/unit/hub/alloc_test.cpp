// alloc_test.cpp - Measures that a room broadcast makes no heap allocation per recipient.
// Owns: counting replacements of the global operator new/delete for the unit_hub binary (they
// count only while a measurement is running; otherwise they are plain malloc/free), a counting
// cJSON allocator for the measurement, and the comparison 10 vs 2000 recipients for: the adapter
// alone (pre-encoded frame), `typing` through the router, and `admin:broadcast` (to every socket).
// Frames are malloc'ed by src/pool/frame.cpp; those are counted through pool::frame_stats().
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "hub_test_util.h"

// The replacements below pair malloc with free on purpose.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_news{0};
std::atomic<uint64_t> g_cjson{0};

void* counted_alloc(size_t n) {
    if (g_counting.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
void* counted_aligned(size_t n, size_t align) {
    if (g_counting.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
    void* p = nullptr;
    if (align < sizeof(void*)) align = sizeof(void*);
    if (posix_memalign(&p, align, n ? n : 1) != 0) return nullptr;
    return p;
}
void* cjson_malloc(size_t n) {
    if (g_counting.load(std::memory_order_relaxed)) g_cjson.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n);
}
void cjson_free(void* p) { std::free(p); }
} // namespace

// ---- replaceable global allocation functions (every form, so none falls back to another allocator)
void* operator new(size_t n) {
    if (void* p = counted_alloc(n)) return p;
    throw std::bad_alloc();
}
void* operator new[](size_t n) {
    if (void* p = counted_alloc(n)) return p;
    throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new(size_t n, std::align_val_t a) {
    if (void* p = counted_aligned(n, size_t(a))) return p;
    throw std::bad_alloc();
}
void* operator new[](size_t n, std::align_val_t a) {
    if (void* p = counted_aligned(n, size_t(a))) return p;
    throw std::bad_alloc();
}
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return counted_aligned(n, size_t(a)); }
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return counted_aligned(n, size_t(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace outpost::hub::test {
namespace {

struct Count {
    uint64_t news = 0, cjson = 0, frames = 0;
    uint64_t total() const { return news + cjson + frames; }
};

// Runs `fn` with counting on; returns what it allocated.
template <class Fn>
Count measure(Fn&& fn) {
    cJSON_Hooks hooks{cjson_malloc, cjson_free};
    cJSON_InitHooks(&hooks);
    uint64_t frames0 = pool::frame_stats().allocations;
    g_news = 0;
    g_cjson = 0;
    g_counting = true;
    fn();
    g_counting = false;
    Count c{g_news.load(), g_cjson.load(), pool::frame_stats().allocations - frames0};
    cJSON_InitHooks(nullptr);
    return c;
}

TEST(AllocCounter, CountsOperatorNewAndCjson) {
    Count c = measure([] {
        std::vector<int>* v = new std::vector<int>(100);
        delete v;
        cJSON_Delete(cJSON_CreateObject());
        pool::FrameRef f = pool::FrameRef::copy_of("x", false);
    });
    EXPECT_EQ(c.news, 2u); // the vector object and its buffer
    EXPECT_EQ(c.cjson, 1u);
    EXPECT_EQ(c.frames, 1u);
}

// A room of `n` connected users (one socket each), built through the router.
struct Room {
    Rig rig;
    std::vector<Client> clients;
    std::vector<pool::FrameRef> sink; // where the fake transport keeps what it is given

    explicit Room(size_t n) : rig(n + 2) {
        rig.start();
        rig.t.record = false; // only count sends: the setup is O(n^2) broadcasts
        for (size_t i = 0; i < n; ++i) {
            Client c = rig.connect_raw("u" + std::to_string(i), "{\"token\":\"" + rig.token("u" + std::to_string(i), i == 0 ? as_admin() : TokenOpts{}) + "\"}");
            c.emit(R"(["room:join",{"room":"big"}])");
            clients.push_back(c);
        }
        EXPECT_EQ(rig.hub->adapter().room_size("big"), n);
        EXPECT_EQ(rig.hub->sockets(), n);
        sink.reserve(2 * n + 16);
        rig.t.sink = &sink;
    }
    // Feeds a prebuilt packet to the layer, as the transport would.
    void feed(const Client& c, const proto::EioPacket& p) { rig.layer->on_message(c.id.session, p); }
};

struct Result3 {
    Count adapter, typing, broadcast;
    uint64_t sends_adapter = 0, sends_typing = 0, sends_broadcast = 0;
};

Result3 run(size_t n) {
    Room room(n);
    Result3 r;
    LocalAdapter& ad = static_cast<LocalAdapter&>(room.rig.hub->adapter());
    pool::FrameRef frame = room.rig.layer->encode_event(0, R"(["note",{"x":1}])");
    const std::string typing = R"(2["typing",{"room":"big","active":false}])";
    const std::string bcast = R"(2["admin:broadcast",{"message":"hello"}])";
    proto::EioPacket typing_pkt{proto::EioType::message, false, typing};
    proto::EioPacket bcast_pkt{proto::EioType::message, false, bcast};
    const Client& typer = room.clients[n / 2];
    const Client& admin = room.clients[0];

    // Warm-up: one of each, so lazily grown buffers (slow list, timer heap, ...) exist.
    ad.to_room("big", frame);
    room.feed(typer, typing_pkt);
    room.feed(admin, bcast_pkt);
    room.sink.clear();

    uint64_t s0 = room.rig.t.sends;
    r.adapter = measure([&] { ad.to_room("big", frame); });
    r.sends_adapter = room.rig.t.sends - s0;
    // One encoded frame, shared: every recipient's queue holds a reference to the same bytes.
    EXPECT_EQ(room.sink.size(), n);
    if (!room.sink.empty()) {
        EXPECT_EQ(room.sink.front().get(), frame.get());
        EXPECT_EQ(frame->refs, n + 1);
    }
    room.sink.clear();
    EXPECT_EQ(frame->refs, 1u);

    s0 = room.rig.t.sends;
    r.typing = measure([&] { room.feed(typer, typing_pkt); });
    r.sends_typing = room.rig.t.sends - s0;
    if (room.sink.size() > 1) {
        EXPECT_EQ(room.sink.front().get(), room.sink.back().get());
    }
    room.sink.clear();

    s0 = room.rig.t.sends;
    r.broadcast = measure([&] { room.feed(admin, bcast_pkt); });
    r.sends_broadcast = room.rig.t.sends - s0;
    room.sink.clear();
    return r;
}

void print(const char* what, size_t n, const Count& c, uint64_t sends) {
    std::printf("[alloc] %-16s recipients=%-5zu sends=%-5llu operator_new=%llu cjson=%llu frames=%llu total=%llu\n", what, n,
                (unsigned long long)sends, (unsigned long long)c.news, (unsigned long long)c.cjson,
                (unsigned long long)c.frames, (unsigned long long)c.total());
}

TEST(Alloc, RoomBroadcastDoesNotAllocatePerRecipient) {
    Result3 small = run(10);
    Result3 big = run(2000);
    print("adapter.to_room", 10, small.adapter, small.sends_adapter);
    print("adapter.to_room", 2000, big.adapter, big.sends_adapter);
    print("typing", 10, small.typing, small.sends_typing);
    print("typing", 2000, big.typing, big.sends_typing);
    print("admin:broadcast", 10, small.broadcast, small.sends_broadcast);
    print("admin:broadcast", 2000, big.broadcast, big.sends_broadcast);

    // Everybody was reached.
    EXPECT_EQ(big.sends_adapter, 2000u);
    EXPECT_EQ(big.sends_typing, 1999u); // not the typer
    EXPECT_EQ(big.sends_broadcast, 2000u);
    // The pre-encoded fan-out allocates nothing at all.
    EXPECT_EQ(big.adapter.total(), 0u);
    EXPECT_EQ(small.adapter.total(), 0u);
    // Through the router: a constant (parse, route, encode once), the same for 10 and 2000.
    EXPECT_EQ(big.typing.total(), small.typing.total());
    EXPECT_EQ(big.broadcast.total(), small.broadcast.total());
    EXPECT_EQ(big.typing.frames, 1u);
    EXPECT_EQ(big.broadcast.frames, 1u);
    EXPECT_LT(big.typing.total(), 64u);
    EXPECT_LT(big.broadcast.total(), 64u);
}

} // namespace
} // namespace outpost::hub::test
