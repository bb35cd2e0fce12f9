// marks.cpp - The acked-seq marks file (see marks.h).
#include "store/marks.h"

#include <algorithm>
#include <charconv>

#include "platform/platform.h"

namespace outpost::store {
namespace {

constexpr size_t kMaxMarksBytes = size_t(64) << 20;   // a file beyond this is not ours to read

bool room_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '@' || c == '-';
}

} // namespace

SeqMarks::~SeqMarks() { platform::append_close(fd_); }

void SeqMarks::add_record(std::string& out, std::string_view room, int64_t seq) {
    out.append(room);
    out += ' ';
    out += std::to_string(seq);
    out += '\n';
}

Result<SeqMarks::Map> SeqMarks::load() const {
    Map out;
    if (!platform::file_exists(path_)) return out;
    std::string text;
    if (!platform::read_file(path_, text, kMaxMarksBytes)) {
        return Result<Map>::fail(Status::io_error, "cannot read " + path_ + ": " + platform::last_error());
    }
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) break; // a torn last record: it was never synced, never acked
        std::string_view line(text.data() + pos, nl - pos);
        pos = nl + 1;
        size_t sp = line.rfind(' ');
        if (sp == std::string_view::npos || sp == 0 || sp > 200) continue;
        std::string_view room = line.substr(0, sp), num = line.substr(sp + 1);
        if (!std::all_of(room.begin(), room.end(), room_char)) continue;
        int64_t seq = 0;
        auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), seq);
        if (ec != std::errc() || end != num.data() + num.size() || seq <= 0) continue;
        int64_t& slot = out[std::string(room)];
        slot = std::max(slot, seq);
    }
    return out;
}

Done SeqMarks::rewrite(const Map& all) {
    std::string text;
    for (const auto& [room, seq] : all)
        if (seq > 0) add_record(text, room, seq);
    platform::append_close(fd_);
    fd_ = -1;
    if (!platform::write_file_atomic(path_, text, 0600)) {
        return Done::fail(Status::io_error, "cannot write " + path_ + ": " + platform::last_error());
    }
    fd_ = platform::append_open(path_, 0600);
    if (fd_ < 0) {
        return Done::fail(Status::io_error, "cannot open " + path_ + ": " + platform::last_error());
    }
    return done();
}

Done SeqMarks::append(std::string_view records, bool sync) {
    if (fd_ < 0) {
        return Done::fail(Status::io_error, path_ + " is not open");
    }
    if (!platform::append_write(fd_, records, sync)) {
        return Done::fail(Status::io_error, "cannot append to " + path_ + ": " + platform::last_error());
    }
    return done();
}

} // namespace outpost::store
