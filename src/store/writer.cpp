// writer.cpp - The writer thread's front and loop: construction, start, the queue (submit, flush,
// prune_now), the in-memory answers (health, latest_seq, lost_ranges), and the loop that picks the
// next piece of work. One batch is writer_batch.cpp, opening and the probe writer_open.cpp, the
// marks syncer writer_sync.cpp, retention retention.cpp.
#include "store/writer.h"

#include <algorithm>
#include <exception>

#include "core/log.h"

namespace outpost::store {

Writer::Writer(const StoreOptions& opt, std::function<void()> wake)
    : opt_(opt), wake_(std::move(wake)), marks_(opt.path + "-marks") {
    opt_.commit_batch = std::max<int64_t>(1, opt_.commit_batch);
    opt_.commit_interval_ms = std::max<int64_t>(0, opt_.commit_interval_ms);
    opt_.probe_interval_ms = std::max<int64_t>(10, opt_.probe_interval_ms);
    opt_.retention_interval_ms = std::max<int64_t>(10, opt_.retention_interval_ms);
    health_.commit_latency_buckets_us_counts.assign(kCommitLatencyBoundsUs.size() + 1, 0);
}

Writer::~Writer() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    {
        std::lock_guard lk(sync_mu_);
        sync_stop_ = true;
    }
    sync_cv_.notify_all();
    if (syncer_.joinable()) syncer_.join();
}

Done Writer::start() {
    Fault fault = Fault::none;
    if (Done r = open_db(fault); !r.ok()) {
        if (fault == Fault::none) return Done::fail(Status::unavailable, r.error().message);
        std::lock_guard lk(mu_);
        health_.writable = false;
        health_.reason = "cannot open the database: " + r.error().message;
        next_probe_ = Clock::now() + std::chrono::milliseconds(opt_.probe_interval_ms);
        OUTPOST_LOG(error, "store_unwritable", "reason=\"%s\" detail=\"serving; writes are refused until the database opens\"",
                    health_.reason.c_str());
    }
    next_retention_ = Clock::now() + std::chrono::milliseconds(opt_.retention_interval_ms);
    syncer_ = std::thread([this] { run_syncer(); });
    thread_ = std::thread([this] { run(); });
    return done();
}

void Writer::submit(Op op) {
    op.at = Clock::now();
    bool now_ready;
    {
        std::lock_guard lk(mu_);
        queue_.push_back(std::move(op));
        ++submitted_;
        now_ready = !health_.writable || queue_.size() == 1 ||
                    queue_.size() >= static_cast<size_t>(opt_.commit_batch);
    }
    if (now_ready) cv_.notify_one();
}

void Writer::drain(const std::function<void(Completion&&)>& fn) {
    std::vector<Completion> ready;
    {
        std::lock_guard lk(mu_);
        ready.swap(done_);
    }
    for (auto& c : ready) fn(std::move(c));
}

Health Writer::health() const {
    std::lock_guard lk(mu_);
    Health h = health_;
    h.queue_depth = submitted_ - completed_;
    return h;
}

void Writer::flush() {
    std::unique_lock lk(mu_);
    uint64_t target = submitted_;
    flush_target_ = std::max(flush_target_, target);
    cv_.notify_one();
    cv_done_.wait(lk, [&] { return completed_ >= target; });
}

uint64_t Writer::prune_now() {
    std::unique_lock lk(mu_);
    uint64_t ticket = ++prune_requests_;
    cv_.notify_one();
    cv_done_.wait(lk, [&] { return prune_done_ >= ticket; });
    return prune_last_;
}

int64_t Writer::latest_seq(std::string_view room) const {
    std::lock_guard lk(mu_);
    auto it = committed_.find(room);
    return it == committed_.end() ? 0 : it->second;
}

std::vector<std::pair<int64_t, int64_t>> Writer::lost_ranges(std::string_view room) const {
    std::lock_guard lk(mu_);
    auto it = lost_.find(room);
    return it == lost_.end() ? std::vector<std::pair<int64_t, int64_t>>{} : it->second;
}

void Writer::run() {
    for (;;) {
        std::vector<Op> batch;
        Work w = wait_for_work(batch);
        try {
            switch (w) {
            case Work::exit: return;
            case Work::batch: process_batch(batch); break;
            case Work::probe: probe(); break;
            case Work::retention: {
                std::string why;
                if (files_moved(why)) {
                    note_moved(why);
                    break;
                }
                int64_t n = prune_step();
                std::lock_guard lk(mu_);
                next_retention_ = Clock::now() + (n >= kPruneBatch ? std::chrono::milliseconds(0)
                                                           : std::chrono::milliseconds(opt_.retention_interval_ms));
                break;
            }
            case Work::prune_all: {
                uint64_t total = 0;
                for (int64_t n = prune_step(); n > 0; n = prune_step()) total += static_cast<uint64_t>(n);
                std::lock_guard lk(mu_);
                prune_last_ = total;
                prune_done_ = prune_requests_;
                cv_done_.notify_all();
                break;
            }
            }
        } catch (const std::exception& e) {
            recover_from_exception(batch, e.what());
        } catch (...) {
            recover_from_exception(batch, "unknown");
        }
    }
}

// Nothing thrown inside the writer reaches std::thread: the batch at hand fails unavailable and
// any prune_now() waiter is released. (An allocation failure is the only expected source.)
void Writer::recover_from_exception(const std::vector<Op>& batch, const char* what) noexcept {
    OUTPOST_LOG(error, "store_writer_exception", "what=\"%s\"", what);
    try {
        rollback();
        std::vector<Completion> out;
        fail_batch(batch, out, "internal error in the storage writer");
        publish(std::move(out));
    } catch (...) {
        OUTPOST_LOG(error, "store_writer_exception", "what=\"%s\"", "while failing the batch");
    }
    std::lock_guard lk(mu_);
    prune_done_ = prune_requests_;
    cv_done_.notify_all();
}

Writer::Work Writer::wait_for_work(std::vector<Op>& batch) {
    std::unique_lock lk(mu_);
    for (;;) {
        auto now = Clock::now();
        if (!queue_.empty()) {
            // Group commit. The oldest queued write waits for company at most as long as the
            // last commit took (a longer wait costs more latency than the commit it saves) and
            // never longer than commit_interval_ms. It commits at once when commit_batch writes
            // wait, and also when writes have gone quiet (none for kQuiet): the senders are
            // waiting for this commit, so waiting longer groups nothing. Writes that arrive while
            // a commit runs form the next group, so a slow disk batches more by itself.
            auto wait = std::min<Clock::duration>(std::chrono::milliseconds(opt_.commit_interval_ms), last_commit_);
            auto due = queue_.front().at + wait;
            auto quiet = std::min(due, queue_.back().at + kQuiet);
            bool ready = stop_ || !health_.writable || now >= quiet ||
                         queue_.size() >= static_cast<size_t>(opt_.commit_batch) || flush_target_ > completed_;
            if (!ready) {
                cv_.wait_until(lk, quiet);
                continue;
            }
            size_t n = std::min(queue_.size(), static_cast<size_t>(opt_.commit_batch));
            batch.reserve(n);
            for (size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            return Work::batch;
        }
        if (stop_) return Work::exit;
        if (!health_.writable) {
            if (prune_done_ < prune_requests_) {
                prune_last_ = 0;
                prune_done_ = prune_requests_;
                cv_done_.notify_all();
            }
            if (now >= next_probe_) return Work::probe;
            cv_.wait_until(lk, next_probe_);
            continue;
        }
        if (prune_done_ < prune_requests_) return Work::prune_all;
        if (now >= next_retention_) return Work::retention;
        cv_.wait_until(lk, next_retention_);
    }
}

} // namespace outpost::store
