// writer_sync.cpp - The marks syncer: after each COMMIT the writer hands it the batch's
// completions with the new seq of every room the batch advanced; it appends (and syncs) those
// marks, then makes the completions visible to drain() and wakes the loop. Every completion goes
// through it, in order, so no ack leaves before its mark.
#include <iterator>

#include "core/log.h"
#include "store/writer.h"

namespace outpost::store {

void Writer::publish(std::vector<Completion>&& out) {
    if (out.empty()) return;
    {
        std::lock_guard lk(sync_mu_);
        sync_queue_.push_back(SyncJob{{}, false, {}, std::move(out)});
    }
    sync_cv_.notify_one();
}

// On the syncer thread: completions become visible to drain(), flush() and the loop.
void Writer::deliver(std::vector<Completion>&& out) {
    if (out.empty()) return;
    {
        std::lock_guard lk(mu_);
        completed_ += out.size();
        if (done_.empty()) done_ = std::move(out);
        else std::move(out.begin(), out.end(), std::back_inserter(done_));
    }
    cv_done_.notify_all();
    if (!wake_) return;
    try {
        wake_();
    } catch (...) {
        OUTPOST_LOG(error, "store_wake_threw", "%s", "the wake callback must not throw");
    }
}

// After a COMMIT: the new seq of every room the batch advanced goes to the syncer with the
// batch's completions; a snapshot of every room instead when the appended records outgrew the
// last one, or after the syncer failed to write.
void Writer::publish_marked(std::vector<Completion>&& out, const SeqMap& touched) {
    SyncJob job;
    for (const auto& [room, before] : touched) {
        int64_t now = seqs_[room];
        if (now != before) SeqMarks::add_record(job.records, room, now);
    }
    bool outgrown = marks_appended_ > (64u << 10) && marks_appended_ > 8 * marks_snapshot_;
    if (marks_failed_.exchange(false) || (!job.records.empty() && outgrown)) {
        job.rewrite = true;
        job.snapshot = SeqMarks::Map(seqs_.begin(), seqs_.end());
        marks_snapshot_ = snapshot_bytes(job.snapshot);
        marks_appended_ = 0;
    } else {
        marks_appended_ += job.records.size();
    }
    job.out = std::move(out);
    {
        std::lock_guard lk(sync_mu_);
        sync_queue_.push_back(std::move(job));
    }
    sync_cv_.notify_one();
}

void Writer::run_syncer() {
    for (;;) {
        SyncJob job;
        {
            std::unique_lock lk(sync_mu_);
            sync_cv_.wait(lk, [&] { return sync_stop_ || !sync_queue_.empty(); });
            if (sync_queue_.empty()) return;
            job = std::move(sync_queue_.front());
            sync_queue_.pop_front();
        }
        try {
            Done r = done();
            if (job.rewrite) r = marks_.rewrite(job.snapshot);
            else if (!job.records.empty()) r = marks_.append(job.records, opt_.synchronous_full);
            if (!r.ok()) {
                // Committed, but without its mark a later rollback could hand these seqs out
                // again: not acknowledged (resends find the rows by their (sender, clientId)).
                std::string reason = "cannot record acknowledged seqs: " + r.error().message;
                marks_failed_ = true;
                note_moved(reason);
                for (Completion& c : job.out) {
                    if (c.kind != OpKind::message || c.status != Status::ok || c.duplicate) continue;
                    c.status = Status::unavailable;
                    c.error = reason;
                }
                std::lock_guard lk(mu_);
                ++health_.failed_commits;
            }
            deliver(std::move(job.out));
        } catch (...) {
            OUTPOST_LOG(error, "store_syncer_exception", "what=\"%s\"", "while writing marks; the batch is delivered as it is");
            try {
                deliver(std::move(job.out));
            } catch (...) {
            }
        }
    }
}

} // namespace outpost::store
