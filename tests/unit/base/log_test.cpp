// log_test.cpp - Unit tests for structured logging (core/log.h).
// Owns: checks of level names and filtering, the line format (UTC timestamp with ms, level,
// event, fields), escaping, truncation, and the journald form (priority prefix, no time).
#include "core/log.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "platform/platform.h"

namespace outpost::platform {
const char* backend_name(); // defined by each backend's service.cpp, for tests; not in platform.h
}

namespace outpost::core {
namespace {

namespace fs = std::filesystem;

bool linux_backend() { return std::string_view(platform::backend_name()) == "linux"; }

// Points stderr at an unlinked temp file for one scope, with $JOURNAL_STREAM set to match it
// (journal = true) or unset; restores both afterwards.
class Capture {
public:
    explicit Capture(bool journal) {
        std::string pattern = (fs::temp_directory_path() / "outpost-log-XXXXXX").string();
        fd_ = mkstemp(pattern.data());
        if (fd_ < 0) return;
        unlink(pattern.c_str());
        saved_ = dup(STDERR_FILENO);
        if (saved_ < 0) return;
        dup2(fd_, STDERR_FILENO);
        const char* old = std::getenv("JOURNAL_STREAM");
        if (old) old_env_ = old;
        had_env_ = old != nullptr;
        struct stat st{};
        fstat(fd_, &st);
        std::string id = std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" +
                         std::to_string(static_cast<uint64_t>(st.st_ino));
        if (journal) setenv("JOURNAL_STREAM", id.c_str(), 1);
        else unsetenv("JOURNAL_STREAM");
    }
    ~Capture() {
        if (saved_ >= 0) {
            dup2(saved_, STDERR_FILENO);
            close(saved_);
            if (had_env_) setenv("JOURNAL_STREAM", old_env_.c_str(), 1);
            else unsetenv("JOURNAL_STREAM");
        }
        if (fd_ >= 0) close(fd_);
    }
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    bool active() const { return fd_ >= 0 && saved_ >= 0; }
    std::string text() const {
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = pread(fd_, buf, sizeof buf, static_cast<off_t>(out.size()))) > 0) out.append(buf, static_cast<size_t>(n));
        return out;
    }

private:
    int fd_ = -1;
    int saved_ = -1;
    bool had_env_ = false;
    std::string old_env_;
};

// True when `text` starts with a timestamp shaped "2026-11-22T12:00:00.123Z" (d = digit).
bool starts_with_timestamp(std::string_view text) {
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (text.size() < shape.size()) return false;
    for (size_t i = 0; i < shape.size(); ++i) {
        bool digit = text[i] >= '0' && text[i] <= '9';
        if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return false;
    }
    return true;
}

// Splits captured output into lines, dropping the final newline.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    if (start < text.size()) out.push_back(text.substr(start) + "<no newline>");
    return out;
}

// Every test starts and ends at the default level.
class Log : public ::testing::Test {
protected:
    void SetUp() override { log_set_level(LogLevel::info); }
    void TearDown() override { log_set_level(LogLevel::info); }
};

TEST_F(Log, LevelNames) {
    struct Case {
        const char* name;
        bool ok;
        LogLevel level;
    } cases[] = {
        {"debug", true, LogLevel::debug}, {"info", true, LogLevel::info},   {"warn", true, LogLevel::warn},
        {"error", true, LogLevel::error}, {"INFO", false, LogLevel::info},  {"warning", false, LogLevel::info},
        {"", false, LogLevel::info},      {"info ", false, LogLevel::info}, {"trace", false, LogLevel::info},
    };
    for (const Case& c : cases) {
        LogLevel out = LogLevel::info;
        EXPECT_EQ(log_level_from_name(c.name, out), c.ok) << c.name;
        if (c.ok) {
            EXPECT_EQ(out, c.level) << c.name;
        }
    }
}

TEST_F(Log, LevelFilter) {
    const LogLevel all[] = {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error};
    for (LogLevel threshold : all) {
        log_set_level(threshold);
        for (LogLevel l : all)
            EXPECT_EQ(log_enabled(l), static_cast<int>(l) >= static_cast<int>(threshold))
                << static_cast<int>(threshold) << " " << static_cast<int>(l);
    }
    log_set_level(LogLevel::info);
    EXPECT_FALSE(log_enabled(LogLevel::debug)); // the default threshold is info
}

TEST_F(Log, FilteredEventsWriteNothingAndSkipTheirArguments) {
    Capture capture(false);
    ASSERT_TRUE(capture.active());
    int evaluated = 0;
    log_set_level(LogLevel::warn);
    OUTPOST_LOG(info, "quiet", "n=%d", ++evaluated);
    OUTPOST_LOG(debug, "quiet", "n=%d", ++evaluated);
    logf(LogLevel::info, "quiet", "direct=%d", 1);
    EXPECT_EQ(evaluated, 0);
    EXPECT_EQ(capture.text(), "");
    OUTPOST_LOG(warn, "loud", "n=%d", ++evaluated);
    EXPECT_EQ(evaluated, 1);
    EXPECT_NE(capture.text().find(" warn loud n=1\n"), std::string::npos) << capture.text();
}

TEST_F(Log, LineHasUtcTimestampLevelEventAndFields) {
    Capture capture(false);
    ASSERT_TRUE(capture.active());
    int64_t before = platform::wall_ms();
    logf(LogLevel::info, "listening", "host=%s port=%d", "0.0.0.0", 3000);
    int64_t after = platform::wall_ms();
    std::string text = capture.text();
    ASSERT_TRUE(starts_with_timestamp(text)) << text;
    EXPECT_EQ(text.substr(24), " info listening host=0.0.0.0 port=3000\n");
    std::tm tm{};
    int ms = -1;
    ASSERT_EQ(std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                          &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms), 7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t stamped = static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
    EXPECT_GE(stamped, before);
    EXPECT_LE(stamped, after);
}

TEST_F(Log, EachLevelHasItsName) {
    Capture capture(false);
    ASSERT_TRUE(capture.active());
    log_set_level(LogLevel::debug);
    logf(LogLevel::debug, "a", "k=%d", 1);
    logf(LogLevel::info, "b", "k=%d", 2);
    logf(LogLevel::warn, "c", "k=%d", 3);
    logf(LogLevel::error, "d", "k=%d", 4);
    std::vector<std::string> lines = lines_of(capture.text());
    const char* expected[] = {" debug a k=1", " info b k=2", " warn c k=3", " error d k=4"};
    ASSERT_EQ(lines.size(), 4u) << capture.text();
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_TRUE(starts_with_timestamp(lines[i])) << lines[i];
        EXPECT_EQ(lines[i].substr(24), expected[i]);
    }
}

TEST_F(Log, EventWithoutFieldsHasNoTrailingSpace) {
    Capture capture(false);
    ASSERT_TRUE(capture.active());
    logf(LogLevel::info, "tick", "%s", "");
    std::string text = capture.text();
    EXPECT_TRUE(text.ends_with("Z info tick\n")) << text;
}

TEST_F(Log, ControlCharactersCannotSplitALine) {
    Capture capture(false);
    ASSERT_TRUE(capture.active());
    logf(LogLevel::warn, "bad\nevent", "name=%s tab=%s", "a\nfake 2026-01-01T00:00:00.000Z error forged", "\t\x7f");
    std::string text = capture.text();
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_NE(text.find(" warn bad\\x0aevent name=a\\x0afake 2026-01-01T00:00:00.000Z error forged tab=\\x09\\x7f\n"),
              std::string::npos)
        << text;
}

TEST_F(Log, LongFieldsAreCutAndMarked) {
    Capture capture(false);
    ASSERT_TRUE(capture.active());
    std::string huge(10000, 'v');
    logf(LogLevel::info, "big", "value=%s", huge.c_str());
    std::string text = capture.text();
    EXPECT_LT(text.size(), 2200u);
    EXPECT_GT(text.size(), 2000u);
    EXPECT_TRUE(text.ends_with("vvv...\n")) << text.substr(text.size() - 20);
}

TEST_F(Log, JournalLinesCarryPriorityAndNoTimestamp) {
    Capture capture(true);
    ASSERT_TRUE(capture.active());
    if (!linux_backend()) GTEST_SKIP() << "the posix backend never logs to the journal";
    log_set_level(LogLevel::debug);
    logf(LogLevel::debug, "a", "k=%d", 1);
    logf(LogLevel::info, "listening", "host=%s port=%d", "0.0.0.0", 3000);
    logf(LogLevel::warn, "c", "k=%d", 3);
    logf(LogLevel::error, "d", "k=%d", 4);
    EXPECT_EQ(capture.text(), "<7>debug a k=1\n<6>info listening host=0.0.0.0 port=3000\n<4>warn c k=3\n<3>error d k=4\n");
}

} // namespace
} // namespace outpost::core
