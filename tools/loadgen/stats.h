// stats.h - Measurement helpers for the load generator: clocks, a latency histogram, CPU and
// /proc readings. Owns: nothing global. Never: allocates per sample (the histogram is fixed).
#pragma once

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace loadgen {

inline int64_t now_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Log-linear histogram of microsecond values: exact below 256 us, then 128 sub-buckets per
// power of two (under 1% error), up to 2^40 us.
class Histogram {
public:
    void add(int64_t v) {
        if (v < 0) v = 0;
        ++counts_[index(uint64_t(v))];
        ++n_;
        if (v > max_) max_ = v;
    }
    uint64_t count() const { return n_; }
    int64_t max() const { return max_; }
    // The value at quantile q (0..1), as the upper bound of its bucket; 0 when empty.
    int64_t quantile(double q) const {
        if (n_ == 0) return 0;
        uint64_t rank = uint64_t(q * double(n_ - 1)) + 1, seen = 0;
        for (size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min<int64_t>(upper(i), max_);
        }
        return max_;
    }
    void clear() { *this = Histogram(); }

private:
    static constexpr size_t kLinear = 256, kSub = 128, kPowers = 33;
    static size_t index(uint64_t v) {
        if (v < kLinear) return size_t(v);
        int e = 63 - __builtin_clzll(v); // >= 8
        if (e >= int(8 + kPowers)) return kLinear + kPowers * kSub - 1;
        int shift = e - 7;
        return kLinear + size_t(e - 8) * kSub + size_t((v >> shift) - kSub);
    }
    static int64_t upper(size_t i) {
        if (i < kLinear) return int64_t(i);
        size_t e = (i - kLinear) / kSub + 8, sub = (i - kLinear) % kSub;
        int shift = int(e) - 7;
        return int64_t(((kSub + sub + 1) << shift) - 1);
    }
    std::array<uint64_t, kLinear + kPowers * kSub> counts_{};
    uint64_t n_ = 0;
    int64_t max_ = 0;
};

// This process's CPU time (user + system), microseconds.
inline int64_t self_cpu_us() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return int64_t(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

// Another process's utime + stime from /proc/PID/stat, microseconds; -1 when unreadable.
inline int64_t proc_cpu_us(int pid) {
    if (pid <= 0) return -1;
    char path[64], buf[1024];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')'); // the command name may hold spaces
    if (!p) return -1;
    unsigned long long utime = 0, stime = 0;
    // after ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
    if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return int64_t((utime + stime) * 1000000ull / uint64_t(hz > 0 ? hz : 100));
}

// One counter of another process's /proc/PID/io ("write_bytes": bytes it sent to the storage
// layer; "wchar": bytes it passed to write calls), all its threads together; -1 when unreadable
// (another user's process, or a kernel without task I/O accounting).
inline int64_t proc_io(int pid, const char* key) {
    if (pid <= 0) return -1;
    char path[64], line[256];
    std::snprintf(path, sizeof path, "/proc/%d/io", pid);
    FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    int64_t value = -1;
    size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
            value = std::strtoll(line + n + 1, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return value;
}

// Another process's VmRSS from /proc/PID/status, KiB; -1 when unreadable.
inline int64_t proc_rss_kb(int pid) {
    if (pid <= 0) return -1;
    char path[64], line[256];
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    int64_t kb = -1;
    while (std::fgets(line, sizeof line, f)) {
        long long v;
        if (std::sscanf(line, "VmRSS: %lld kB", &v) == 1) {
            kb = v;
            break;
        }
    }
    std::fclose(f);
    return kb;
}

} // namespace loadgen
