// marks.h - The high-water marks of acknowledged seqs, kept outside the database (issue 14): a
// small append-only file <db>-marks beside outpost.db with one "<room> <seq>\n" record per room a
// group commit advanced, written (and synced with storage.synchronous full) after the COMMIT and
// before the acks leave. A WAL damaged after a crash can roll the database back; the marks cannot
// roll back with it, so start-up sees what was lost and continues every room above its mark.
// Owns: the file's format, reading it back, appending, and compaction. Never: touches SQLite,
// or lets a torn last record (a crash mid-append) count: records end with '\n' or are ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/done.h"

namespace outpost::store {

class SeqMarks {
public:
    using Map = std::unordered_map<std::string, int64_t>;

    explicit SeqMarks(std::string path) : path_(std::move(path)) {}
    ~SeqMarks();
    SeqMarks(const SeqMarks&) = delete;
    SeqMarks& operator=(const SeqMarks&) = delete;

    // Reads every complete record: the highest seq per room. A missing file is empty.
    Result<Map> load() const;
    // Replaces the file with one record per room of `all` (seq > 0), durably, and opens it for
    // appending. At start-up and when the appended records outgrow a snapshot.
    Done rewrite(const Map& all);
    // Appends `records` ("<room> <seq>\n" lines); `sync` waits for the disk.
    Done append(std::string_view records, bool sync);
    bool is_open() const { return fd_ >= 0; }
    const std::string& path() const { return path_; }

    static void add_record(std::string& out, std::string_view room, int64_t seq);

private:
    std::string path_;
    int fd_ = -1;
};

} // namespace outpost::store
