// run_command.cpp - `outpost [--config FILE]`: start-up checks, then the service until a stop.
// Owns: the order of start-up (settings, log level, open-file limit, data folder, clock, keys,
// TLS files, server, store) and the exit code of a failed start. Never: runs the loop itself
// (service.cpp does).
#include <cstdio>
#include <memory>
#include <optional>

#include "app/cli.h"
#include "app/options.h"
#include "app/service.h"
#include "auth/jwt.h"
#include "auth/pem.h"
#include "core/log.h"
#include "platform/platform.h"

namespace outpost::app {
namespace {

// Returns the open-file limit now in force (-1 when unknown); the transport keeps its TCP
// connections under it.
int64_t check_fd_limit(const settings::Settings& s) {
    int64_t wanted = s.max_connections + 64;
    int64_t got = platform::raise_fd_limit(wanted);
    if (got >= 0 && got < wanted)
        OUTPOST_LOG(warn, "fd_limit_low",
                    "limit=%lld wanted=%lld max_connections=%lld hint=\"raise LimitNOFILE or ulimit -n; connections beyond the limit are refused\"",
                    (long long)got, (long long)wanted, (long long)s.max_connections);
    return got;
}

// The data folder exists (created 0700) and the clock is checked; false (logged) when the folder
// cannot be made.
bool prepare_data_dir(const settings::Settings& s) {
    if (!platform::make_dirs(s.data_dir, 0700)) {
        OUTPOST_LOG(error, "data_dir_failed", "path=%s error=\"%s\"", s.data_dir.c_str(), platform::last_error().c_str());
        return false;
    }
    if (auth::clock_looks_unsynced(platform::wall_ms() / 1000))
        OUTPOST_LOG(warn, "clock_unsynced", "policy=%s hint=\"the wall clock is before the build date; set the time (NTP/RTC)\"",
                    s.auth.unsynced_clock.c_str());
    return true;
}

// With TLS configured: both files readable and a matching pair; false (logged) otherwise.
bool tls_files_usable(const settings::Settings& s) {
    if (s.tls.cert_file.empty()) return true;
    Result<auth::TlsPair> pair = auth::read_tls_pair(s.tls.cert_file, s.tls.key_file);
    if (pair.ok()) return true;
    if (pair.status() == Status::io_error)
        OUTPOST_LOG(error, "tls_failed", "error=\"%s\"", pair.error().message.c_str());
    else
        OUTPOST_LOG(error, "tls_failed", "cert=%s key=%s error=\"%s\"", s.tls.cert_file.c_str(), s.tls.key_file.c_str(),
                    pair.error().message.c_str());
    return false;
}

// The store under data_dir (null in conformance mode); false (logged) when it cannot be opened.
bool open_store(const settings::Settings& s, std::unique_ptr<store::Store>& db) {
    if (s.conformance) return true;
    Result<std::unique_ptr<store::Store>> opened = store::Store::open(store_options(s), [] { wake_service(); });
    if (!opened.ok()) {
        OUTPOST_LOG(error, "storage_failed", "path=%s/outpost.db error=\"%s\"", s.data_dir.c_str(), opened.error().message.c_str());
        return false;
    }
    db = std::move(opened).value();
    return true;
}

} // namespace

int run_command(const Args& a) {
    Result<settings::Settings> loaded = load_config(a.config);
    if (!loaded.ok()) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        return 1;
    }
    settings::Settings s = std::move(loaded).value();
    apply_log_level(s);
    int64_t started = platform::monotonic_ms();
    int64_t fd_limit = check_fd_limit(s);
    if (!prepare_data_dir(s)) return 1;
    std::optional<auth::KeySet> keys;
    if (!s.conformance) {
        keys = load_keys_logged(s);
        if (!keys) return 1;
    }
    if (!tls_files_usable(s)) return 1;
    net::ServerOptions net_options = server_options(s);
    net_options.fd_limit = fd_limit;
    std::unique_ptr<net::Server> server = net::Server::create(net_options);
    std::unique_ptr<store::Store> db;
    if (!open_store(s, db)) return 1;
    Service service(a.config, std::move(s), std::move(keys), std::move(server), fd_limit, std::move(db), started);
    if (!service.start()) return 1;
    return service.run();
}

} // namespace outpost::app
