// service.cpp - The running server: wiring, loop, reload and drain (see service.h).
#include "app/service.h"

#include <atomic>
#include <exception>

#include "app/options.h"
#include "core/build_info.h"
#include "core/log.h"
#include "platform/platform.h"

namespace outpost::app {
namespace {

// Read from signal handlers and the storage writer thread: both only wake the loop.
std::atomic<net::Server*> g_wake_target{nullptr};

sio::App& chosen_app(const settings::Settings& s, hub::ConformanceApp& conformance, hub::Hub& hub) {
    return s.conformance ? static_cast<sio::App&>(conformance) : static_cast<sio::App&>(hub);
}

} // namespace

void wake_service() noexcept {
    if (net::Server* s = g_wake_target.load()) s->wake();
}

Service::Service(std::string config_path, settings::Settings s, std::optional<auth::KeySet> keys,
                 std::unique_ptr<net::Server> server, int64_t fd_limit, std::unique_ptr<store::Store> db, int64_t started_ms)
    : config_path_(std::move(config_path)), settings_(std::move(s)), keys_(std::move(keys)), server_(std::move(server)),
      fd_limit_(fd_limit), db_(std::move(db)), started_ms_(started_ms), watchdog_ms_(platform::watchdog_interval_ms()),
      hub_(settings_, size_t(settings_.max_connections)),
      layer_(*server_, chosen_app(settings_, conformance_, hub_), size_t(settings_.max_connections), settings_.connect_timeout_ms,
             size_t(settings_.max_payload)),
      echo_(*server_),
      api_(settings_, admin::Sources{&server_->stats(), &layer_.stats(), settings_.conformance ? nullptr : &hub_, db_.get(), server_.get()},
           started_ms_) {
    conformance_.attach(&layer_);
    hub_.attach(&layer_, db_.get());
    hub_.set_keys(keys_ ? &*keys_ : nullptr);
}

Service::~Service() { g_wake_target = nullptr; }

bool Service::start() {
    std::string error;
    if (hub_.load(error) != Status::ok) {
        OUTPOST_LOG(error, "storage_failed", "error=\"%s\"", error.c_str());
        return false;
    }
    api_.set_keys(keys_ ? &*keys_ : nullptr);
    hub_.set_stats_provider([this] { return api_.stats_json(); });
    server_->set_handlers(&layer_, settings_.conformance ? &echo_ : nullptr, &api_);
    if (server_->start(error) != Status::ok) {
        OUTPOST_LOG(error, "listen_failed", "error=\"%s\"", error.c_str());
        return false;
    }
    g_wake_target = server_.get();
    platform::install_signal_handlers(wake_service);
    const settings::Settings& s = settings_;
    OUTPOST_LOG(info, "listening", "host=%s port=%d mode=%s loop=%s max_connections=%lld data_dir=%s startup_ms=%lld version=%s",
                s.host.c_str(), server_->port(), s.conformance ? "conformance" : "normal", server_->event_loop(),
                (long long)s.max_connections, s.data_dir.c_str(), (long long)(platform::monotonic_ms() - started_ms_), core::kVersion);
    platform::notify("READY=1\nSTATUS=serving");
    return true;
}

// systemd's watchdog: WATCHDOG=1 at half of WATCHDOG_USEC, from the loop itself, so a stuck loop
// is noticed.
void Service::watchdog_tick(void* ctx, uint64_t, int64_t now) {
    auto* self = static_cast<Service*>(ctx);
    platform::notify("WATCHDOG=1");
    self->server_->timers().schedule(now + self->watchdog_ms_, watchdog_tick, ctx, 0);
}

// The admin API's once-a-second samples (rates on the dashboard).
void Service::sample_tick(void* ctx, uint64_t, int64_t now) {
    auto* self = static_cast<Service*>(ctx);
    self->api_.sample(now);
    self->server_->timers().schedule(now + 1000, sample_tick, ctx, 0);
}

void Service::schedule_timers() {
    server_->timers().schedule(platform::monotonic_ms() + 1000, sample_tick, this, 0);
    if (watchdog_ms_ > 0) server_->timers().schedule(platform::monotonic_ms() + watchdog_ms_, watchdog_tick, this, 0);
}

int Service::run() {
    schedule_timers();
    for (;;) {
        server_->run_once();
        hub_.on_store_ready();
        platform::Signal sig = platform::take_signal();
        if (sig == platform::Signal::terminate || sig == platform::Signal::interrupt) break;
        if (sig == platform::Signal::reload) reload();
    }
    drain();
    OUTPOST_LOG(info, "stopped", "uptime_s=%lld", (long long)((platform::monotonic_ms() - started_ms_) / 1000));
    return 0;
}

// SIGHUP: a new configuration, keys and limits without dropping a socket. An invalid file is
// refused with a log line and everything stays as it was. Restart-only keys keep their running
// values (settings::keep_restart_settings).
void Service::reload() {
    platform::notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(platform::monotonic_us()));
    Result<settings::Settings> next = load_config(config_path_);
    if (!next.ok()) {
        OUTPOST_LOG(error, "reload_refused", "error=\"%s\"", next.error().message.c_str());
        platform::notify("READY=1");
        return;
    }
    if (settings::needs_restart(settings_, *next))
        OUTPOST_LOG(warn, "reload_partial", "detail=\"%s need a restart\"", settings::restart_keys().c_str());
    if (!settings_.conformance) {
        std::optional<auth::KeySet> nk = load_keys_logged(*next);
        if (!nk) {
            OUTPOST_LOG(error, "reload_refused", "error=\"keys could not be loaded; keeping the old configuration\"");
            platform::notify("READY=1");
            return;
        }
        keys_ = std::move(nk);
        hub_.set_keys(&*keys_);
        api_.set_keys(&*keys_);
    }
    settings::Settings applied = settings::keep_restart_settings(settings_, std::move(next).value());
    apply_log_level(applied);
    net::ServerOptions options = server_options(applied);
    options.fd_limit = fd_limit_;
    server_->update_options(options);
    std::string tls_error;
    if (!server_->reload_tls(tls_error)) OUTPOST_LOG(error, "tls_reload_failed", "error=\"%s\"", tls_error.c_str());
    hub_.set_settings(applied);
    api_.set_settings(applied);
    settings_ = std::move(applied);
    OUTPOST_LOG(info, "reloaded", "config=%s", config_path_.empty() ? "<embedded defaults>" : config_path_.c_str());
    platform::notify("READY=1");
}

// SIGTERM/SIGINT: no new sessions, system:maintenance to every socket, close them all within
// shutdown_timeout_ms, then commit what the store still holds.
void Service::drain() {
    platform::notify("STOPPING=1");
    OUTPOST_LOG(info, "shutting_down", "sessions=%llu timeout_ms=%lld", (unsigned long long)server_->stats().sessions_open,
                (long long)settings_.shutdown_timeout_ms);
    api_.set_draining(true);
    server_->set_draining(true);
    if (!settings_.conformance) hub_.broadcast_maintenance("server shutting down");
    server_->shutdown(platform::monotonic_ms() + settings_.shutdown_timeout_ms);
    g_wake_target = nullptr;
    if (db_) {
        db_->flush();
        hub_.on_store_ready();
    }
}

} // namespace outpost::app
