// main.cpp - Wiring only: arguments -> settings -> platform -> server loop.
// Commands: run (default), check-config FILE, token, version, --help.
#include <cjson/cJSON.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin/http_api.h"
#include "auth/jwt.h"
#include "auth/keys.h"
#include "auth/mint.h"
#include "auth/pem.h"
#include "core/build_info.h"
#include "core/log.h"
#include "conformance/conformance.h"
#include "hub/hub.h"
#include "net/server.h"
#include "pool/small_alloc.h"
#include "platform/platform.h"
#include "settings/settings.h"
#include "sio/socket_layer.h"
#include "store/store.h"

using namespace outpost;

namespace {

constexpr const char* kUsage =
    "Outpost - a Socket.IO server for edge gateways\n"
    "\n"
    "Usage:\n"
    "  outpost [--config FILE]        run the server (no FILE: embedded defaults, port 3000, ./var)\n"
    "  outpost check-config FILE      validate a configuration file; exit 1 on error\n"
    "  outpost token --sub USER [--ttl 1h] [--role admin] [--rooms 'site:*,lobby'] [--name NAME]\n"
    "                [--config FILE]  mint an HS256 token with the server's secret (prints only the token);\n"
    "                                 without --config it reads /etc/outpost/outpost.json when that exists\n"
    "  outpost version                print the version\n"
    "  outpost --help                 this text\n";

struct Args {
    std::string command = "run";
    std::string config;
    std::vector<std::pair<std::string, std::string>> options; // --name value
    std::vector<std::string> positional;
    std::string error;
};

Args parse_args(int argc, char** argv) {
    Args a;
    int i = 1;
    if (i < argc && argv[i][0] != '-') a.command = argv[i++];
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            a.command = "help";
        } else if (arg.rfind("--", 0) == 0) {
            if (i + 1 >= argc) {
                a.error = arg + ": expected a value";
                return a;
            }
            if (arg == "--config") a.config = argv[++i];
            else a.options.emplace_back(arg.substr(2), argv[++i]);
        } else {
            a.positional.push_back(arg);
        }
    }
    return a;
}

Result<settings::Settings> load(const std::string& path) {
    if (path.empty()) return settings::Settings();
    return settings::load_settings_file(path);
}

int cmd_check_config(const Args& a) {
    std::string path = !a.positional.empty() ? a.positional[0] : a.config;
    if (path.empty()) {
        std::fprintf(stderr, "usage: outpost check-config FILE\n");
        return 2;
    }
    Result<settings::Settings> s = settings::load_settings_file(path);
    if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.error().message.c_str());
        return 1;
    }
    std::printf("%s: ok\n", path.c_str());
    return 0;
}

// The configuration the packaged server runs with (the .deb's conffile). `outpost token` reads it
// when no --config is given, so a token minted on the gateway is signed with the server's secret.
constexpr const char* kPackagedConfig = "/etc/outpost/outpost.json";

// auth::mint messages name the field ("ttl: expected ..."); on the command line it is the option.
void option_error(const std::string& message) {
    bool is_option = false;
    for (const char* o : {"sub:", "ttl:", "rooms:", "name:"}) is_option |= message.rfind(o, 0) == 0;
    std::fprintf(stderr, "%s%s\n", is_option ? "--" : "", message.c_str());
}

// Mints with the secret a server already uses, never a new one (that token would be refused).
int cmd_token(const Args& a) {
    auth::MintRequest req;
    bool has_sub = false;
    for (const std::string& p : a.positional) {
        std::fprintf(stderr, "%s: unexpected argument (the user goes in --sub USER)\n", p.c_str());
        return 2;
    }
    for (const auto& [name, value] : a.options) {
        if (name == "sub") {
            req.sub = value;
            has_sub = true;
        } else if (name == "role") {
            if (value != "admin" && value != "user") {
                std::fprintf(stderr, "--role: expected admin or user, got \"%s\"\n", value.c_str());
                return 2;
            }
            req.admin = value == "admin";
        } else if (name == "name") req.name = value;
        else if (name == "ttl") {
            Result<int64_t> ttl = auth::parse_ttl(value);
            if (!ttl.ok()) {
                option_error(ttl.error().message);
                return 2;
            }
            req.ttl_s = *ttl;
        } else if (name == "rooms") {
            Result<std::vector<std::string>> rooms = auth::parse_rooms_list(value);
            if (!rooms.ok()) {
                option_error(rooms.error().message);
                return 2;
            }
            req.has_rooms = true;
            req.rooms = std::move(rooms).value();
        } else {
            std::fprintf(stderr, "--%s: unknown option (expected --sub, --ttl, --role, --rooms, --name or --config)\n%s", name.c_str(), kUsage);
            return 2;
        }
    }
    if (!has_sub) {
        std::fprintf(stderr, "--sub: required, expected the user id (1-64 chars of [A-Za-z0-9_.@-])\n");
        return 2;
    }
    // The configuration: --config, else the packaged one when it exists, else the embedded defaults.
    std::string path = a.config;
    if (path.empty() && platform::file_exists(kPackagedConfig)) path = kPackagedConfig;
    std::string where = !a.config.empty() ? "--config " + a.config
                        : !path.empty()   ? path + " (read because no --config was given)"
                                          : std::string("none (no --config, and ") + kPackagedConfig + " does not exist): the embedded defaults, data_dir ./var";
    Result<settings::Settings> s = load(path);
    if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.error().message.c_str());
        if (a.config.empty()) std::fprintf(stderr, "  (%s is read when no --config is given)\n", kPackagedConfig);
        return 1;
    }
    if (s->auth.algorithm != "HS256") {
        std::fprintf(stderr, "auth.algorithm: expected HS256 (outpost token mints HS256 tokens only), got %s in %s; sign %s tokens with your private key\n",
                     s->auth.algorithm.c_str(), where.c_str(), s->auth.algorithm.c_str());
        return 1;
    }
    Result<auth::KeySet> keys = auth::load_keys(s->auth, s->data_dir, auth::SecretFile::must_exist);
    if (!keys.ok()) {
        std::fprintf(stderr, "secret: %s\n  configuration: %s\n", keys.error().message.c_str(), where.c_str());
        if (!s->data_dir.empty() && s->data_dir[0] != '/')
            std::fprintf(stderr, "  data_dir \"%s\" is relative: it names a folder under the current directory, as for the server\n",
                         s->data_dir.c_str());
        if (keys.status() == Status::not_found)
            std::fprintf(stderr, "  pass --config FILE (the configuration the server runs with) or set OUTPOST_JWT_SECRET;"
                                 " outpost token never creates a secret\n");
        return 1;
    }
    req.issuer = s->auth.issuer;
    req.audience = s->auth.audience;
    Result<std::string> tok = auth::mint_hs256(keys->secret(), req, platform::wall_ms() / 1000);
    if (!tok.ok()) {
        option_error(tok.error().message);
        return 2;
    }
    std::printf("%s\n", tok->c_str());
    return 0;
}

net::ServerOptions server_options(const settings::Settings& s) {
    net::ServerOptions o;
    o.host = s.host;
    o.port = int(s.port);
    o.max_connections = size_t(s.max_connections);
    o.ping_interval_ms = s.ping_interval_ms;
    o.ping_timeout_ms = s.ping_timeout_ms;
    o.max_payload = size_t(s.max_payload);
    o.allow_eio3 = s.allow_eio3;
    o.engineio_endpoint = s.conformance;
    o.cors_origins = s.cors_origins;
    o.max_send_queue_bytes = size_t(s.limits.max_send_queue_bytes);
    o.connect_per_ip_burst = s.rate_limits.connect_per_ip.burst;
    o.connect_per_ip_per_ms = s.rate_limits.connect_per_ip.per_ms;
    o.tls_cert_file = s.tls.cert_file;
    o.tls_key_file = s.tls.key_file;
    return o;
}

store::StoreOptions store_options(const settings::Settings& s) {
    store::StoreOptions o;
    o.path = s.data_dir + "/outpost.db";
    o.synchronous_full = s.storage.synchronous == "full";
    o.commit_interval_ms = s.storage.commit_interval_ms;
    o.commit_batch = s.storage.commit_batch;
    o.max_messages_per_room = s.retention.max_messages_per_room;
    o.max_age_s = s.retention.max_age_s;
    o.max_db_bytes = s.retention.max_db_bytes;
    return o;
}

// Read from signal handlers and the storage writer thread: both only wake the loop.
std::atomic<net::Server*> g_wake_target{nullptr};
void wake_loop() {
    if (net::Server* s = g_wake_target.load()) s->wake();
}

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

std::optional<auth::KeySet> load_keys_logged(const settings::Settings& s) {
    bool had_secret_file = platform::file_exists(s.data_dir + "/jwt.secret");
    Result<auth::KeySet> keys = auth::load_keys(s.auth, s.data_dir);
    if (!keys.ok()) {
        OUTPOST_LOG(error, "keys_failed", "error=\"%s\"", keys.error().message.c_str());
        return std::nullopt;
    }
    OUTPOST_LOG(info, "keys_loaded", "key=\"%s\"", keys->describe().c_str());
    for (const std::string& w : keys->warnings()) OUTPOST_LOG(warn, "key_warning", "detail=\"%s\"", w.c_str());
    if (!had_secret_file && keys->source().find("jwt.secret") != std::string::npos)
        OUTPOST_LOG(info, "secret_generated",
                    "file=%s/jwt.secret hint=\"mint a token with: outpost token --sub alice --ttl 1h\"", s.data_dir.c_str());
    return std::move(keys).value();
}

// SIGHUP: a new configuration, keys and limits without dropping a socket. An invalid file is
// refused with a log line and everything stays as it was.
void reload(const std::string& path, settings::Settings& current, net::Server& server, hub::Hub& hub, admin::HttpApi& api,
            std::optional<auth::KeySet>& keys) {
    platform::notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(platform::monotonic_us()));
    Result<settings::Settings> next = load(path);
    if (!next.ok()) {
        OUTPOST_LOG(error, "reload_refused", "error=\"%s\"", next.error().message.c_str());
        platform::notify("READY=1");
        return;
    }
    const settings::Settings& n = *next;
    if (n.host != current.host || n.port != current.port || n.max_connections != current.max_connections ||
        n.data_dir != current.data_dir || n.conformance != current.conformance || !(n.tls == current.tls))
        OUTPOST_LOG(warn, "reload_partial", "detail=\"host, port, max_connections, data_dir, conformance and tls need a restart\"");
    if (!current.conformance) {
        std::optional<auth::KeySet> nk = load_keys_logged(n);
        if (!nk) {
            OUTPOST_LOG(error, "reload_refused", "error=\"keys could not be loaded; keeping the old configuration\"");
            platform::notify("READY=1");
            return;
        }
        keys = std::move(nk);
        hub.set_keys(&*keys);
        api.set_keys(&*keys);
    }
    core::LogLevel level = core::LogLevel::info;
    core::log_level_from_name(n.log_level, level);
    core::log_set_level(level);
    settings::Settings applied = n;
    applied.host = current.host;
    applied.port = current.port;
    applied.max_connections = current.max_connections;
    applied.data_dir = current.data_dir;
    applied.conformance = current.conformance;
    applied.tls = current.tls;
    server.update_options(server_options(applied));
    std::string tls_error;
    if (!server.reload_tls(tls_error)) OUTPOST_LOG(error, "tls_reload_failed", "error=\"%s\"", tls_error.c_str());
    hub.set_settings(applied);
    api.set_settings(applied);
    current = applied;
    OUTPOST_LOG(info, "reloaded", "config=%s", path.empty() ? "<embedded defaults>" : path.c_str());
    platform::notify("READY=1");
}

int cmd_run(const Args& a) {
    Result<settings::Settings> loaded = load(a.config);
    if (!loaded.ok()) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        return 1;
    }
    settings::Settings s = std::move(loaded).value();
    core::LogLevel level = core::LogLevel::info;
    core::log_level_from_name(s.log_level, level);
    core::log_set_level(level);
    int64_t started = platform::monotonic_ms();
    int64_t fd_limit = check_fd_limit(s);
    if (!platform::make_dirs(s.data_dir, 0700)) {
        OUTPOST_LOG(error, "data_dir_failed", "path=%s error=\"%s\"", s.data_dir.c_str(), platform::last_error().c_str());
        return 1;
    }
    if (auth::clock_looks_unsynced(platform::wall_ms() / 1000))
        OUTPOST_LOG(warn, "clock_unsynced", "policy=%s hint=\"the wall clock is before the build date; set the time (NTP/RTC)\"",
                    s.auth.unsynced_clock.c_str());

    std::optional<auth::KeySet> keys;
    if (!s.conformance) {
        keys = load_keys_logged(s);
        if (!keys) return 1;
    }

    if (!s.tls.cert_file.empty()) {
        std::string cert, key, why;
        if (!platform::read_file(s.tls.cert_file, cert, 1 << 20) || !platform::read_file(s.tls.key_file, key, 1 << 20)) {
            OUTPOST_LOG(error, "tls_failed", "error=\"cannot read %s or %s: %s\"", s.tls.cert_file.c_str(), s.tls.key_file.c_str(),
                        platform::last_error().c_str());
            return 1;
        }
        bool ok = auth::check_tls_pair(cert, key, why);
        std::fill(key.begin(), key.end(), '\0');
        if (!ok) {
            OUTPOST_LOG(error, "tls_failed", "cert=%s key=%s error=\"%s\"", s.tls.cert_file.c_str(), s.tls.key_file.c_str(), why.c_str());
            return 1;
        }
    }
    net::ServerOptions net_options = server_options(s);
    net_options.fd_limit = fd_limit;
    std::unique_ptr<net::Server> server = net::Server::create(net_options);
    std::unique_ptr<store::Store> db;
    if (!s.conformance) {
        Result<std::unique_ptr<store::Store>> opened = store::Store::open(store_options(s), [] { wake_loop(); });
        if (!opened.ok()) {
            OUTPOST_LOG(error, "storage_failed", "path=%s/outpost.db error=\"%s\"", s.data_dir.c_str(), opened.error().message.c_str());
            return 1;
        }
        db = std::move(opened).value();
    }
    hub::ConformanceApp conformance;
    hub::Hub hub(s, size_t(s.max_connections));
    sio::App& app = s.conformance ? static_cast<sio::App&>(conformance) : static_cast<sio::App&>(hub);
    sio::SocketLayer layer(*server, app, size_t(s.max_connections), s.connect_timeout_ms, size_t(s.max_payload));
    conformance.attach(&layer);
    hub.attach(&layer, db.get());
    hub.set_keys(keys ? &*keys : nullptr);
    std::string load_error;
    if (hub.load(load_error) != Status::ok) {
        OUTPOST_LOG(error, "storage_failed", "error=\"%s\"", load_error.c_str());
        return 1;
    }
    hub::EngineEcho echo(*server);
    admin::Sources sources{&server->stats(), &layer.stats(), s.conformance ? nullptr : &hub, db.get(), server.get()};
    admin::HttpApi api(s, sources, started);
    api.set_keys(keys ? &*keys : nullptr);
    hub.set_stats_provider([&api] { return api.stats_json(); });
    server->set_handlers(&layer, s.conformance ? &echo : nullptr, &api);

    std::string error;
    if (server->start(error) != Status::ok) {
        OUTPOST_LOG(error, "listen_failed", "error=\"%s\"", error.c_str());
        return 1;
    }
    g_wake_target = server.get();
    platform::install_signal_handlers(wake_loop);
    OUTPOST_LOG(info, "listening", "host=%s port=%d mode=%s loop=%s max_connections=%lld data_dir=%s startup_ms=%lld version=%s",
                s.host.c_str(), server->port(), s.conformance ? "conformance" : "normal", server->event_loop(), (long long)s.max_connections,
                s.data_dir.c_str(), (long long)(platform::monotonic_ms() - started), core::kVersion);
    platform::notify("READY=1\nSTATUS=serving");

    // systemd's watchdog: WATCHDOG=1 at half of WATCHDOG_USEC, from the loop itself, so a stuck
    // loop is noticed.
    struct Watchdog {
        net::Server* server;
        int64_t every_ms;
        static void tick(void* ctx, uint64_t, int64_t now) {
            auto* w = static_cast<Watchdog*>(ctx);
            platform::notify("WATCHDOG=1");
            w->server->timers().schedule(now + w->every_ms, tick, ctx, 0);
        }
    } watchdog{server.get(), platform::watchdog_interval_ms()};
    struct Sampler {
        net::Server* server;
        admin::HttpApi* api;
        static void tick(void* ctx, uint64_t, int64_t now) {
            auto* w = static_cast<Sampler*>(ctx);
            w->api->sample(now);
            w->server->timers().schedule(now + 1000, tick, ctx, 0);
        }
    } sampler{server.get(), &api};
    server->timers().schedule(platform::monotonic_ms() + 1000, Sampler::tick, &sampler, 0);
    if (watchdog.every_ms > 0) server->timers().schedule(platform::monotonic_ms() + watchdog.every_ms, Watchdog::tick, &watchdog, 0);

    for (;;) {
        server->run_once();
        hub.on_store_ready();
        platform::Signal sig = platform::take_signal();
        if (sig == platform::Signal::terminate || sig == platform::Signal::interrupt) break;
        if (sig == platform::Signal::reload) reload(a.config, s, *server, hub, api, keys);
    }
    platform::notify("STOPPING=1");
    OUTPOST_LOG(info, "shutting_down", "sessions=%llu timeout_ms=%lld", (unsigned long long)server->stats().sessions_open,
                (long long)s.shutdown_timeout_ms);
    api.set_draining(true);
    server->set_draining(true);
    if (!s.conformance) hub.broadcast_maintenance("server shutting down");
    server->shutdown(platform::monotonic_ms() + s.shutdown_timeout_ms);
    g_wake_target = nullptr;
    if (db) {
        db->flush();
        hub.on_store_ready();
    }
    OUTPOST_LOG(info, "stopped", "uptime_s=%lld", (long long)((platform::monotonic_ms() - started) / 1000));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // This thread runs the event loop: cJSON's nodes and strings and the outgoing frames reuse
    // small blocks here instead of calling malloc for every message. Before any cJSON use.
    pool::small_alloc_bind_thread();
    cJSON_Hooks hooks{pool::small_alloc, pool::small_free};
    cJSON_InitHooks(&hooks);
    Args a = parse_args(argc, argv);
    if (!a.error.empty()) {
        std::fprintf(stderr, "%s\n%s", a.error.c_str(), kUsage);
        return 2;
    }
    if (a.command == "help") {
        std::printf("%s", kUsage);
        return 0;
    }
    if (a.command == "version") {
        std::printf("outpost %s\n", core::kVersion);
        return 0;
    }
    if (a.command == "check-config") return cmd_check_config(a);
    if (a.command == "token") return cmd_token(a);
    if (a.command == "run") return cmd_run(a);
    std::fprintf(stderr, "unknown command \"%s\"\n%s", a.command.c_str(), kUsage);
    return 2;
}
