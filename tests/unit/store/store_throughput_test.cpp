// store_throughput_test.cpp - Prints acked messages per second for synchronous FULL and NORMAL
// (bursty submitters, default group commit). Reports only: timing is never asserted.
#include <gtest/gtest.h>

#include <chrono>

#include "store_test_util.h"

namespace outpost::store::test {
namespace {

struct SyncCase {
    const char* name;
    bool full;
};

class StoreThroughput : public ::testing::TestWithParam<SyncCase> {};

TEST_P(StoreThroughput, PrintsAckedMessagesPerSecond) {
    TempDir dir;
    StoreOptions o = test_options(dir.file("outpost.db"));
    o.synchronous_full = GetParam().full;
    o.commit_interval_ms = 5;
    o.commit_batch = 256;
    auto s = open_store(o);
    ASSERT_TRUE(s);
    constexpr int kMessages = 20000;
    const std::string body = "{\"text\":\"" + std::string(100, 'm') + "\"}";
    size_t ok = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kMessages; ++i) {
        s->submit_message(uint64_t(i), "room" + std::to_string(i % 16), "user" + std::to_string(i % 50),
                          "c" + std::to_string(i), body, 1);
        if (i % 512 == 511) s->drain([&](Completion&& c) { ok += c.status == Status::ok; });
    }
    for (auto& c : settle(*s)) ok += c.status == Status::ok;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(ok, size_t(kMessages));
    Health h = s->health();
    std::printf("[ perf     ] synchronous=%s: %d messages acked in %.3f s = %.0f msg/s over %llu commits\n",
                GetParam().name, kMessages, secs, kMessages / secs, static_cast<unsigned long long>(h.commits));
    // one-at-a-time: each message waits for its own commit (the latency a lone sender sees)
    constexpr int kSerial = 200;
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kSerial; ++i) {
        s->submit_message(uint64_t(i), "serial", "u", "s" + std::to_string(i), body, 1);
        (void)settle(*s);
    }
    const double serial = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ perf     ] synchronous=%s: serial round trip %.2f ms per message\n", GetParam().name,
                serial * 1000 / kSerial);
}

INSTANTIATE_TEST_SUITE_P(Cases, StoreThroughput,
                         ::testing::Values(SyncCase{"full", true}, SyncCase{"normal", false}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

} // namespace
} // namespace outpost::store::test
