// loadgen.cpp - Socket.IO load generator for tools/bench: one thread, epoll, raw WebSocket.
// Owns: the connections (HTTP upgrade, Engine.IO open/ping, Socket.IO connect and acks), the
// open-loop and closed-loop send schedules, and the five scenarios (idle, fanout, echo, durable,
// reconnect). Prints one "RESULT key=value ..." line on stdout; progress goes to stderr.
// Never: waits for a reply before an open-loop send, or asserts on performance (exit 1 only when
// something did not work: connections refused, no replies).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/mint.h"
#include "stats.h"
#include "wire.h"

namespace loadgen {
namespace {

constexpr const char* kUsage =
    "usage: loadgen SCENARIO [options]\n"
    "scenarios:\n"
    "  idle       ramp --conns connections, each joins a room of --room-size; accepts/s, server RSS\n"
    "  fanout     --rooms rooms of --room-size members, member 0 publishes; deliveries/s, latency\n"
    "  echo       --conns connections at --rate msgs/s in total (0: closed loop, --window each)\n"
    "  durable    (outpost) message:send with ack, --rate or closed loop; acks/s, ack latency\n"
    "  probe      wait until --port accepts TCP connections (--timeout); exit 1 if it never does\n"
    "  reconnect  (outpost) --phase prepare|storm|all: queue --queued messages per room, then\n"
    "             reconnect every client at once; time until all have sync:complete\n"
    "options:\n"
    "  --host H --port P          server (127.0.0.1:3000)\n"
    "  --flavor outpost|sio|ref   which server's events to use (outpost)\n"
    "  --conns N --room-size M --rooms R --rate X --window W --payload BYTES\n"
    "  --warmup S --duration S    measurement window after the ramp (1, 5)\n"
    "  --concurrency N            handshakes in flight during a ramp (256; storm: all)\n"
    "  --src-ips K                bind sources across 127.0.0.2..127.0.0.(K+1) (0: kernel's choice)\n"
    "  --pid PID                  server process: CPU from /proc/PID/stat, RSS from /proc/PID/status\n"
    "  --hold S --ready-file F    idle: keep the connections S seconds after the ramp; touch F then\n"
    "  --queued N --phase P --device D --timeout S --confirm\n"
    "Outpost tokens are minted with the HS256 secret in $LOADGEN_SECRET.\n";

enum class Flavor { outpost, sio, ref };

struct Options {
    std::string scenario;
    std::string host = "127.0.0.1";
    int port = 3000;
    Flavor flavor = Flavor::outpost;
    std::string secret;
    int conns = 200, room_size = 50, rooms = 1, window = 1, payload = 0;
    double rate = 0, warmup = 1, duration = 5, hold = 0, timeout = 60;
    int concurrency = 256, src_ips = 0, pid = 0, queued = 50;
    std::string ready_file, phase = "all", device = "lg";
    bool confirm = false;
};

enum class State { idle, connecting, upgrading, eio_wait, sio_wait, ready, closed };

struct Conn {
    int fd = -1;
    int index = 0;
    State state = State::idle;
    std::string user;
    std::string rx;          // raw bytes not yet decoded
    std::string msg;         // a fragmented message being reassembled
    std::string tx;          // framed bytes not yet written
    size_t tx_off = 0;
    bool dirty = false;      // on the flush list
    bool want_out = false;   // EPOLLOUT registered
    int64_t next_ack = 1;
    int64_t t_begin = 0;     // connect() called
    int64_t join_ack = -1;   // ack id of the room join
    int outstanding = 0;     // closed loop: sends without reply
    std::vector<std::pair<int64_t, int64_t>> pending; // (ack id, sent us)
    int64_t received = 0;    // scenario-defined counter
    bool joined = false, synced = false;
    bool done = false;       // counted by the ramp (ready, joined or failed)
};

class Scenario;

// The event loop and the connection protocol. Scenarios drive it through the callbacks below.
class Loop {
public:
    Loop(const Options& o, Scenario& s) : opt_(o), sc_(s) {}
    bool init();
    Conn& add_conn(const std::string& user);
    bool start_conn(Conn& c);
    void close_conn(Conn& c);
    void send_text(Conn& c, std::string_view eio_payload);
    // Socket.IO event from `c`; with `want_ack` returns the ack id used, else -1.
    int64_t emit(Conn& c, std::string_view array_json, bool want_ack);
    void join(Conn& c, const std::string& room);
    // Runs until `until_us` or until the scenario says stop; returns false on a fatal error.
    void run(int64_t until_us);
    std::vector<std::unique_ptr<Conn>>& conns() { return conns_; }
    const Options& opt() const { return opt_; }
    uint64_t errors = 0, closed_unexpectedly = 0, connect_failed = 0, frames_in = 0;

private:
    void on_io(Conn& c, uint32_t events);
    void on_readable(Conn& c);
    void on_ws_message(Conn& c, std::string_view text);
    void flush(Conn& c);
    void flush_dirty();
    void set_out(Conn& c, bool on);
    void fail(Conn& c, const char* why);

    const Options& opt_;
    Scenario& sc_;
    int ep_ = -1;
    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<Conn*> dirty_;
    std::string upgrade_request_;
    std::string pong_frame_; // "3", masked once
    sockaddr_in server_{};
};

class Scenario {
public:
    virtual ~Scenario() = default;
    virtual void on_ready(Loop&, Conn&) {}                                             // Socket.IO connected
    virtual void on_joined(Loop&, Conn&) {}                                            // room join acked ok
    virtual void on_event(Loop&, Conn&, std::string_view /*name*/, const wire::SioPacket&) {}
    virtual void on_ack(Loop&, Conn&, int64_t /*sent_us*/, std::string_view /*data*/) {}
    virtual void on_closed(Loop&, Conn&) {}
    virtual void tick(Loop&, int64_t /*now*/) {}
    virtual int64_t next_wake(int64_t now) { return now + 50000; }
    virtual bool stop(int64_t /*now*/) { return false; }
};

// ---- Loop

bool Loop::init() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return false;
    if (inet_pton(AF_INET, opt_.host.c_str(), &server_.sin_addr) != 1) {
        std::fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        return false;
    }
    server_.sin_family = AF_INET;
    server_.sin_port = htons(uint16_t(opt_.port));
    upgrade_request_ = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + opt_.host + ":" +
                       std::to_string(opt_.port) +
                       "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: bG9hZGdlbi1rZXktMDAwMQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    pong_frame_ = wire::frame(wire::kText, "3");
    return true;
}

Conn& Loop::add_conn(const std::string& user) {
    auto c = std::make_unique<Conn>();
    c->index = int(conns_.size());
    c->user = user;
    conns_.push_back(std::move(c));
    return *conns_.back();
}

bool Loop::start_conn(Conn& c) {
    c.rx.clear();
    c.msg.clear();
    c.tx.clear();
    c.tx_off = 0;
    c.pending.clear();
    c.outstanding = 0;
    c.joined = c.synced = c.done = false;
    c.received = 0;
    c.join_ack = -1;
    c.t_begin = now_us();
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        std::fprintf(stderr, "loadgen: socket: %s\n", std::strerror(errno));
        ++connect_failed;
        c.state = State::closed;
        return false;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt_.src_ips > 0) {
        setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl((127u << 24) | uint32_t(2 + c.index % std::min(opt_.src_ips, 253)));
        if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
            fail(c, "bind");
            return false;
        }
    }
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&server_), sizeof server_) != 0 && errno != EINPROGRESS) {
        fail(c, "connect");
        return false;
    }
    c.state = State::connecting;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = &c;
    c.want_out = true;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    return true;
}

void Loop::fail(Conn& c, const char* why) {
    if (c.state != State::ready) {
        ++connect_failed;
        if (connect_failed <= 3) std::fprintf(stderr, "loadgen: %s failed for %s: %s\n", why, c.user.c_str(), std::strerror(errno));
    } else {
        ++closed_unexpectedly;
        if (closed_unexpectedly <= 3) std::fprintf(stderr, "loadgen: %s closed: %s\n", c.user.c_str(), why);
    }
    close_conn(c);
    sc_.on_closed(*this, c);
}

void Loop::close_conn(Conn& c) {
    if (c.fd >= 0) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
    }
    c.fd = -1;
    c.state = State::closed;
}

void Loop::set_out(Conn& c, bool on) {
    if (c.want_out == on || c.fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? uint32_t(EPOLLOUT) : 0u);
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = on;
}

void Loop::send_text(Conn& c, std::string_view eio_payload) {
    if (c.fd < 0) return;
    if (eio_payload == "3") c.tx += pong_frame_;
    else wire::append_frame(c.tx, wire::kText, eio_payload);
    if (!c.dirty) {
        c.dirty = true;
        dirty_.push_back(&c);
    }
}

int64_t Loop::emit(Conn& c, std::string_view array_json, bool want_ack) {
    std::string p = "42";
    int64_t id = -1;
    if (want_ack) {
        id = c.next_ack++;
        p += std::to_string(id);
    }
    p += array_json;
    send_text(c, p);
    return id;
}

void Loop::join(Conn& c, const std::string& room) {
    std::string ev = opt_.flavor == Flavor::outpost ? "room:join" : "join";
    c.join_ack = emit(c, "[\"" + ev + "\",{\"room\":\"" + room + "\"}]", true);
}

void Loop::flush(Conn& c) {
    while (c.fd >= 0 && c.tx_off < c.tx.size()) {
        ssize_t n = ::send(c.fd, c.tx.data() + c.tx_off, c.tx.size() - c.tx_off, MSG_NOSIGNAL);
        if (n > 0) {
            c.tx_off += size_t(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_out(c, true);
            return;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            fail(c, "send");
            return;
        }
    }
    c.tx.clear();
    c.tx_off = 0;
    if (c.state != State::connecting) set_out(c, false);
}

void Loop::flush_dirty() {
    for (size_t i = 0; i < dirty_.size(); ++i) { // flush() may close, never adds
        Conn* c = dirty_[i];
        c->dirty = false;
        if (c->state != State::connecting && c->state != State::closed) flush(*c);
    }
    dirty_.clear();
}

void Loop::on_io(Conn& c, uint32_t events) {
    if (c.state == State::connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            errno = err;
            fail(c, "connect");
            return;
        }
        if (!(events & EPOLLOUT)) return;
        c.state = State::upgrading;
        c.tx.insert(0, upgrade_request_);
        flush(c);
        return;
    }
    if (events & EPOLLOUT) flush(c);
    if (c.fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(c);
}

void Loop::on_readable(Conn& c) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n > 0) {
            c.rx.append(buf, size_t(n));
            if (size_t(n) < sizeof buf) break;
        } else if (n == 0) {
            errno = ECONNRESET;
            fail(c, "server closed the connection");
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else if (errno != EINTR) {
            fail(c, "recv");
            return;
        }
    }
    size_t off = 0;
    if (c.state == State::upgrading) {
        size_t end = c.rx.find("\r\n\r\n");
        if (end == std::string::npos) return;
        if (c.rx.compare(0, 12, "HTTP/1.1 101") != 0) {
            size_t eol = c.rx.find("\r\n");
            std::string status = c.rx.substr(0, eol);
            errno = EPROTO;
            if (connect_failed < 3) std::fprintf(stderr, "loadgen: upgrade refused: %s\n", status.c_str());
            fail(c, "upgrade");
            return;
        }
        off = end + 4;
        c.state = State::eio_wait;
    }
    while (c.fd >= 0) {
        wire::Frame f;
        size_t used = 0;
        wire::Decode d = wire::decode_frame(std::string_view(c.rx).substr(off), f, used);
        if (d == wire::Decode::need_more) break;
        if (d == wire::Decode::error) {
            errno = EPROTO;
            fail(c, "bad frame");
            return;
        }
        off += used;
        ++frames_in;
        if (f.opcode == wire::kPing) {
            std::string pong;
            wire::append_frame(pong, wire::kPong, f.payload);
            c.tx += pong;
            if (!c.dirty) { c.dirty = true; dirty_.push_back(&c); }
        } else if (f.opcode == wire::kClose) {
            errno = ECONNRESET;
            fail(c, "close frame");
            return;
        } else if (f.opcode == wire::kText || f.opcode == wire::kBinary || f.opcode == wire::kCont) {
            if (f.fin && f.opcode != wire::kCont && c.msg.empty()) {
                on_ws_message(c, f.payload);
            } else {
                c.msg.append(f.payload);
                if (f.fin) {
                    std::string m;
                    m.swap(c.msg);
                    on_ws_message(c, m);
                }
            }
        }
    }
    if (c.fd >= 0) c.rx.erase(0, off);
}

void Loop::on_ws_message(Conn& c, std::string_view text) {
    if (text.empty()) return;
    switch (text[0]) {
    case '0': // Engine.IO open
        if (c.state == State::eio_wait) {
            std::string connect = "40";
            if (opt_.flavor == Flavor::outpost && !opt_.secret.empty()) {
                outpost::auth::MintRequest req;
                req.sub = c.user;
                req.ttl_s = 24 * 3600;
                auto tok = outpost::auth::mint_hs256(opt_.secret, req, int64_t(std::time(nullptr)));
                if (!tok.ok()) {
                    std::fprintf(stderr, "loadgen: cannot mint a token for %s\n", c.user.c_str());
                    std::exit(2);
                }
                connect += "{\"token\":\"" + *tok + "\",\"deviceId\":\"" + opt_.device + "\"}";
            } else {
                connect += "{\"token\":\"" + c.user + "\"}";
            }
            send_text(c, connect);
            c.state = State::sio_wait;
        }
        return;
    case '2': send_text(c, "3"); return; // ping -> pong
    case '1': errno = ECONNRESET; fail(c, "engine.io close"); return;
    case '4': break;
    default: return;
    }
    wire::SioPacket p;
    if (!wire::parse_sio(text.substr(1), p)) return;
    switch (p.type) {
    case '0':
        if (c.state == State::sio_wait) {
            c.state = State::ready;
            sc_.on_ready(*this, c);
        }
        return;
    case '4':
        errno = EACCES;
        if (connect_failed < 3) std::fprintf(stderr, "loadgen: connect refused: %.*s\n", int(p.data.size()), p.data.data());
        fail(c, "socket.io connect");
        return;
    case '1': errno = ECONNRESET; fail(c, "socket.io disconnect"); return;
    case '3':
        if (p.id == c.join_ack && c.join_ack >= 0) {
            c.join_ack = -1;
            if (p.data.find("\"ok\":true") != std::string_view::npos) {
                c.joined = true;
                sc_.on_joined(*this, c);
            } else {
                ++errors;
                if (errors <= 3) std::fprintf(stderr, "loadgen: join refused: %.*s\n", int(p.data.size()), p.data.data());
            }
            return;
        }
        for (size_t i = 0; i < c.pending.size(); ++i) {
            if (c.pending[i].first == p.id) {
                int64_t sent = c.pending[i].second;
                c.pending[i] = c.pending.back();
                c.pending.pop_back();
                if (p.data.find("\"ok\":false") != std::string_view::npos) {
                    ++errors;
                    if (errors <= 3) std::fprintf(stderr, "loadgen: refused: %.*s\n", int(p.data.size()), p.data.data());
                }
                sc_.on_ack(*this, c, sent, p.data);
                return;
            }
        }
        return;
    case '2': {
        std::string_view name = wire::event_name(p.data);
        if (name == "server:error") {
            ++errors;
            if (errors <= 3) std::fprintf(stderr, "loadgen: %s got %.*s\n", c.user.c_str(), int(p.data.size()), p.data.data());
        }
        sc_.on_event(*this, c, name, p);
        if (p.id >= 0 && opt_.confirm) send_text(c, "43" + std::to_string(p.id) + "[]");
        return;
    }
    default: return;
    }
}

void Loop::run(int64_t until_us) {
    epoll_event evs[512];
    for (;;) {
        int64_t now = now_us();
        sc_.tick(*this, now);
        flush_dirty();
        if (now >= until_us || sc_.stop(now)) return;
        int64_t wake = std::min(until_us, sc_.next_wake(now));
        int64_t wait_us = std::max<int64_t>(0, wake - now_us());
        timespec ts{time_t(wait_us / 1000000), long(wait_us % 1000000) * 1000};
        int n = epoll_pwait2(ep_, evs, 512, &ts, nullptr);
        if (n < 0 && errno != EINTR) {
            std::perror("loadgen: epoll");
            std::exit(2);
        }
        for (int i = 0; i < n; ++i) {
            Conn& c = *static_cast<Conn*>(evs[i].data.ptr);
            if (c.fd >= 0) on_io(c, evs[i].events);
        }
    }
}

// ---- Shared pieces of the scenarios

std::string fmt(double v, int decimals = 0) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

// Accumulates "key=value" pairs for the RESULT line.
struct Report {
    std::string line;
    void add(const std::string& k, const std::string& v) { line += " " + k + "=" + v; }
    void add(const std::string& k, int64_t v) { add(k, std::to_string(v)); }
    void latency(const std::string& prefix, const Histogram& h) {
        add(prefix + "_n", int64_t(h.count()));
        add(prefix + "_p50_us", h.quantile(0.50));
        add(prefix + "_p99_us", h.quantile(0.99));
        add(prefix + "_p999_us", h.quantile(0.999));
        add(prefix + "_max_us", h.max());
    }
};

// CPU and wall clock over a measurement window, for this process and the server.
struct Window {
    int64_t t0 = 0, t1 = 0, self0 = 0, self1 = 0, srv0 = -1, srv1 = -1;
    int64_t disk0 = -1, disk1 = -1, wchar0 = -1, wchar1 = -1; // the server's /proc/PID/io
    void begin(int pid) {
        t0 = now_us(), self0 = self_cpu_us(), srv0 = proc_cpu_us(pid);
        disk0 = proc_io(pid, "write_bytes"), wchar0 = proc_io(pid, "wchar");
    }
    void end(int pid) {
        t1 = now_us(), self1 = self_cpu_us(), srv1 = proc_cpu_us(pid);
        disk1 = proc_io(pid, "write_bytes"), wchar1 = proc_io(pid, "wchar");
    }
    double seconds() const { return double(t1 - t0) / 1e6; }
    double server_cpu_s() const { return srv0 >= 0 && srv1 >= 0 ? double(srv1 - srv0) / 1e6 : -1; }
    void report(Report& r, double events, const std::string& per) const {
        double s = seconds(), self_pct = 100.0 * double(self1 - self0) / 1e6 / s, srv = server_cpu_s();
        r.add("seconds", fmt(s, 2));
        r.add(per + "_per_s", fmt(events / s));
        r.add("loadgen_cpu_pct", fmt(self_pct));
        r.add("client_bound", self_pct > 90 ? "1" : "0");
        if (srv >= 0) {
            r.add("server_cpu_pct", fmt(100.0 * srv / s, 1));
            r.add(per + "_per_cpu_s", srv > 0 ? fmt(events / srv) : "inf");
        }
        // Bytes the server wrote in the window: to storage (SD wear) and through write calls.
        if (disk0 >= 0 && disk1 >= 0) r.add("disk_write_b", disk1 - disk0);
        if (wchar0 >= 0 && wchar1 >= 0) r.add("wchar_b", wchar1 - wchar0);
    }
};

// Outpost keys messages by (sender, clientId): every run uses clientIds of its own.
const std::string& run_tag() {
    static const std::string tag = std::to_string(uint32_t(std::time(nullptr)) ^ (uint32_t(getpid()) << 16)) + "-";
    return tag;
}

std::string payload_pad(int bytes) { return bytes > 0 ? ",\"pad\":\"" + std::string(size_t(bytes), 'x') + "\"" : ""; }

const char* flavor_name(Flavor f) { return f == Flavor::outpost ? "outpost" : f == Flavor::sio ? "socket.io" : "reference"; }

// Brings the loop's connections up with at most `concurrency` handshakes in flight; each joins
// room_of(i) when that is not empty. Subclasses measure after ramp() returns.
class RampScenario : public Scenario {
public:
    explicit RampScenario(const Options& o) : opt_(o) {}
    virtual std::string room_of(int /*index*/) { return ""; }

    int64_t t_start = 0, t_last_ready = 0, t_last_joined = 0;
    int ready = 0, joined = 0, failed = 0;
    Histogram ready_latency; // connect() to Socket.IO connected

    // True when every connection got ready (and joined its room).
    bool ramp(Loop& loop, int concurrency) {
        auto& cs = loop.conns();
        total_ = int(cs.size());
        need_join_ = !room_of(0).empty();
        t_start = now_us();
        concurrency_ = concurrency;
        ramping_ = true;
        launch(loop);
        loop.run(t_start + int64_t(opt_.timeout * 1e6));
        ramping_ = false;
        int done = need_join_ ? joined : ready;
        if (done < total_) {
            std::fprintf(stderr, "loadgen: ramp: %d of %d connections %s (%d failed, %llu errors)\n", done, total_,
                         need_join_ ? "joined" : "ready", failed, (unsigned long long)loop.errors);
            return false;
        }
        return true;
    }
    void on_ready(Loop& loop, Conn& c) override {
        ++ready;
        t_last_ready = now_us();
        ready_latency.add(t_last_ready - c.t_begin);
        if (!ramping_) return;
        if (need_join_) loop.join(c, room_of(c.index));
        else finish(loop, c);
    }
    void on_joined(Loop& loop, Conn& c) override {
        ++joined;
        t_last_joined = now_us();
        if (ramping_) finish(loop, c);
    }
    void on_closed(Loop& loop, Conn& c) override {
        if (ramping_ && !c.done) {
            ++failed;
            finish(loop, c);
        }
    }
    bool stop(int64_t) override { return ramping_ && done_ >= total_; }

protected:
    void finish(Loop& loop, Conn& c) {
        if (c.done) return;
        c.done = true;
        ++done_;
        --in_flight_;
        launch(loop);
    }
    void launch(Loop& loop) {
        auto& cs = loop.conns();
        while (ramping_ && next_ < total_ && in_flight_ < concurrency_) {
            Conn& c = *cs[size_t(next_++)];
            ++in_flight_;
            if (!loop.start_conn(c) && !c.done) {
                ++failed;
                c.done = true;
                ++done_;
                --in_flight_;
            }
        }
    }
    const Options& opt_;
    int next_ = 0, total_ = 0, done_ = 0, in_flight_ = 0, concurrency_ = 256;
    bool ramping_ = false, need_join_ = false;
};

void add_users(Loop& loop, int n, const char* prefix) {
    for (int i = 0; i < n; ++i) loop.add_conn(std::string(prefix).append(std::to_string(i)));
}

std::string header(const Options& o) {
    return std::string("RESULT scenario=") + o.scenario + " flavor=" + flavor_name(o.flavor);
}

// Runs the loop for `seconds` more (answering pings); used to settle and to drain.
void idle_for(Loop& loop, double seconds) { loop.run(now_us() + int64_t(seconds * 1e6)); }

// ---- idle: connections accepted per second and the server's RSS per connection.

class Idle final : public RampScenario {
public:
    using RampScenario::RampScenario;
    std::string room_of(int i) override { return "idle" + std::to_string(i / std::max(1, opt_.room_size)); }
};

int run_idle(const Options& o) {
    Idle sc(o);
    Loop loop(o, sc);
    if (!loop.init()) return 2;
    add_users(loop, o.conns, "u");
    int64_t rss0 = proc_rss_kb(o.pid);
    Window w;
    w.begin(o.pid);
    bool ok = sc.ramp(loop, o.concurrency);
    w.end(o.pid);
    idle_for(loop, 1.0); // let the server finish what the joins started
    int64_t rss1 = proc_rss_kb(o.pid);
    Report r;
    r.add("conns", o.conns);
    r.add("ready", sc.ready);
    r.add("joined", sc.joined);
    r.add("failed", sc.failed);
    double ready_s = double(sc.t_last_ready - sc.t_start) / 1e6, join_s = double(sc.t_last_joined - sc.t_start) / 1e6;
    r.add("accept_per_s", ready_s > 0 ? fmt(sc.ready / ready_s) : "0");
    r.add("join_per_s", join_s > 0 ? fmt(sc.joined / join_s) : "0");
    r.latency("handshake", sc.ready_latency);
    w.report(r, sc.joined, "joins");
    if (rss0 >= 0 && rss1 >= 0) {
        r.add("rss_base_kb", rss0);
        r.add("rss_kb", rss1);
        r.add("rss_per_conn_b", sc.ready > 0 ? (rss1 - rss0) * 1024 / sc.ready : 0);
    }
    r.add("errors", int64_t(loop.errors));
    std::printf("%s%s\n", header(o).c_str(), r.line.c_str());
    std::fflush(stdout);
    if (!o.ready_file.empty()) {
        if (FILE* f = std::fopen(o.ready_file.c_str(), "w")) std::fclose(f);
    }
    if (o.hold > 0) idle_for(loop, o.hold);
    return ok ? 0 : 1;
}

// ---- Measured send schedules, shared by fanout, echo and durable.

// Open loop (--rate > 0): send number k is due at t0 + k/rate, whatever the replies do; the
// connection is chosen round robin. Closed loop (--rate 0): every sender keeps --window sends
// without a reply in flight. Samples count only inside [warmup, warmup + duration).
class Measured : public RampScenario {
public:
    using RampScenario::RampScenario;
    virtual void send_one(Loop& loop, Conn& c, int64_t now) = 0;
    // Who sends: every connection unless a scenario says otherwise.
    virtual std::vector<Conn*> senders(Loop& loop) {
        std::vector<Conn*> v;
        for (auto& c : loop.conns()) v.push_back(c.get());
        return v;
    }
    Conn* sender(uint64_t k) { return all_senders_[k % all_senders_.size()]; } // the k-th open-loop send's

    Histogram latency;
    uint64_t sent_in_window = 0, replies_in_window = 0, sent_total = 0, replies_total = 0;
    Window window;

    bool measure(Loop& loop) {
        all_senders_ = senders(loop);
        t0_ = now_us();
        m0_ = t0_ + int64_t(opt_.warmup * 1e6);
        m1_ = m0_ + int64_t(opt_.duration * 1e6);
        sending_ = true;
        if (opt_.rate <= 0) {
            for (Conn* c : all_senders_)
                for (int i = 0; i < opt_.window; ++i) send_one(loop, *c, t0_);
        }
        loop.run(m0_);
        window.begin(opt_.pid);
        in_window_ = true;
        loop.run(m1_);
        in_window_ = false;
        window.end(opt_.pid);
        sending_ = false;
        idle_for(loop, 1.0); // drain replies still on the way (not counted in the rates)
        return replies_in_window > 0;
    }
    void tick(Loop& loop, int64_t now) override {
        if (!sending_ || opt_.rate <= 0) return;
        uint64_t due = uint64_t(double(now - t0_) * opt_.rate / 1e6);
        for (; k_ < due; ++k_) {
            Conn* c = sender(k_);
            if (c && c->state == State::ready) send_one(loop, *c, now);
        }
    }
    int64_t next_wake(int64_t now) override {
        if (!sending_ || opt_.rate <= 0) return RampScenario::ramping_ ? now + 50000 : now + 20000;
        return t0_ + int64_t(double(k_ + 1) * 1e6 / opt_.rate);
    }
    // Called by subclasses for every send and every reply.
    void count_send(Conn& c) {
        ++sent_total;
        ++c.outstanding;
        if (in_window_) ++sent_in_window;
    }
    void count_reply(Loop& loop, Conn& sender_conn, int64_t sent_us, uint64_t deliveries = 1) {
        int64_t now = now_us();
        replies_total += deliveries;
        if (in_window_ && sent_us >= m0_) {
            replies_in_window += deliveries;
            latency.add(now - sent_us);
        } else if (in_window_) {
            replies_in_window += deliveries;
        }
        (void)loop;
        (void)sender_conn;
    }
    // Closed loop: the reply frees a slot of `c`; send again while the run lasts.
    void refill(Loop& loop, Conn& c) {
        if (c.outstanding > 0) --c.outstanding;
        if (sending_ && opt_.rate <= 0 && c.state == State::ready) send_one(loop, c, now_us());
    }
    void report_common(Report& r, const char* per) {
        r.add("rate", fmt(opt_.rate));
        r.add("window", opt_.rate > 0 ? 0 : opt_.window);
        r.add("sent", int64_t(sent_in_window));
        r.add("received", int64_t(replies_in_window));
        window.report(r, double(replies_in_window), per);
        r.latency("lat", latency);
    }

protected:
    std::vector<Conn*> all_senders_;
    int64_t t0_ = 0, m0_ = 0, m1_ = 0;
    uint64_t k_ = 0;
    bool sending_ = false, in_window_ = false;
};

// ---- fanout: --rooms rooms of --room-size members; member 0 of each publishes.

class Fanout final : public Measured {
public:
    using Measured::Measured;
    std::string room_of(int i) override { return "fan" + std::to_string(i / opt_.room_size); }
    std::vector<Conn*> senders(Loop& loop) override {
        std::vector<Conn*> v;
        for (auto& c : loop.conns())
            if (c->index % opt_.room_size == 0) v.push_back(c.get());
        return v;
    }
    void send_one(Loop& loop, Conn& c, int64_t now) override {
        uint64_t i = next_id_++;
        std::string room = room_of(c.index), pad = payload_pad(opt_.payload);
        std::string ts = "\"t\":" + std::to_string(now) + ",\"i\":" + std::to_string(i);
        if (opt_.flavor == Flavor::outpost)
            loop.emit(c, "[\"message:send\",{\"room\":\"" + room + "\",\"body\":{" + ts + pad + "},\"clientId\":\"c" + run_tag() +
                             std::to_string(i) + "\"}]", false);
        else
            loop.emit(c, "[\"pub\",{\"room\":\"" + room + "\"," + ts + pad + "}]", false);
        count_send(c);
        if (opt_.rate <= 0) inflight_[i] = {0, now, c.index};
    }
    void on_event(Loop& loop, Conn& c, std::string_view name, const wire::SioPacket& p) override {
        if (name != "message:new" && name != "pub") return;
        int64_t t = wire::find_uint(p.data, "\"t\":"), i = wire::find_uint(p.data, "\"i\":");
        if (t < 0 || i < 0) return;
        ++c.received;
        count_reply(loop, c, t);
        if (opt_.rate > 0) return;
        auto it = inflight_.find(uint64_t(i));
        if (it == inflight_.end()) return;
        if (++it->second.count >= opt_.room_size - 1) {
            Conn& pub = *loop.conns()[size_t(it->second.publisher)];
            inflight_.erase(it);
            refill(loop, pub);
        }
    }
    void tick(Loop& loop, int64_t now) override {
        Measured::tick(loop, now);
        // Closed loop: a message some member never got (cut as a slow consumer) must not stall
        // its publisher forever.
        while (!inflight_.empty() && now - inflight_.begin()->second.sent > 2000000) {
            Conn& pub = *loop.conns()[size_t(inflight_.begin()->second.publisher)];
            inflight_.erase(inflight_.begin());
            ++stalled;
            refill(loop, pub);
        }
    }
    uint64_t stalled = 0;

private:
    struct InFlight {
        int count;
        int64_t sent;
        int publisher;
    };
    std::map<uint64_t, InFlight> inflight_;
    uint64_t next_id_ = 0;
};

int run_fanout(const Options& o) {
    Fanout sc(o);
    Loop loop(o, sc);
    if (!loop.init()) return 2;
    if (o.room_size < 2) {
        std::fprintf(stderr, "loadgen: fanout needs --room-size >= 2\n");
        return 2;
    }
    add_users(loop, o.rooms * o.room_size, "u");
    if (!sc.ramp(loop, o.concurrency)) return 1;
    idle_for(loop, 0.5); // join notifications settle
    bool got = sc.measure(loop);
    Report r;
    r.add("rooms", o.rooms);
    r.add("room_size", o.room_size);
    sc.report_common(r, "deliveries");
    r.add("msgs_per_s", fmt(double(sc.sent_in_window) / sc.window.seconds()));
    uint64_t expected = sc.sent_total * uint64_t(o.room_size - 1);
    r.add("delivered_pct", expected ? fmt(100.0 * double(sc.replies_total) / double(expected), 1) : "0");
    r.add("stalled", int64_t(sc.stalled));
    r.add("closed", int64_t(loop.closed_unexpectedly));
    r.add("errors", int64_t(loop.errors));
    std::printf("%s%s\n", header(o).c_str(), r.line.c_str());
    if (!got) std::fprintf(stderr, "loadgen: fanout: no deliveries\n");
    return got ? 0 : 1;
}

// ---- echo: "message" -> "message-back" (Outpost serves it in conformance mode).

class Echo final : public Measured {
public:
    using Measured::Measured;
    void send_one(Loop& loop, Conn& c, int64_t now) override {
        loop.emit(c, "[\"message\",{\"t\":" + std::to_string(now) + payload_pad(opt_.payload) + "}]", false);
        count_send(c);
    }
    void on_event(Loop& loop, Conn& c, std::string_view name, const wire::SioPacket& p) override {
        if (name != "message-back") return;
        int64_t t = wire::find_uint(p.data, "\"t\":");
        if (t < 0) return;
        count_reply(loop, c, t);
        refill(loop, c);
    }
};

// Connects o.conns users, runs the measured window and prints the RESULT line: the shape shared
// by the echo and durable scenarios. `unit` names the replies ("echoes", "acks").
int run_simple(Measured& sc, const Options& o, const char* unit, const char* name) {
    Loop loop(o, sc);
    if (!loop.init()) return 2;
    add_users(loop, o.conns, "u");
    if (!sc.ramp(loop, o.concurrency)) return 1;
    bool got = sc.measure(loop);
    Report r;
    r.add("conns", o.conns);
    sc.report_common(r, unit);
    r.add("closed", int64_t(loop.closed_unexpectedly));
    r.add("errors", int64_t(loop.errors));
    std::printf("%s%s\n", header(o).c_str(), r.line.c_str());
    if (!got) std::fprintf(stderr, "loadgen: %s: no replies\n", name);
    return got ? 0 : 1;
}

int run_echo(const Options& o) {
    Echo sc(o);
    return run_simple(sc, o, "echoes", "echo");
}

// ---- durable: acknowledged message:send (Outpost only), each sender in its own room.

class Durable final : public Measured {
public:
    using Measured::Measured;
    std::string room_of(int i) override { return "dur" + std::to_string(i); }
    void send_one(Loop& loop, Conn& c, int64_t now) override {
        uint64_t i = next_id_++;
        int64_t id = loop.emit(c, "[\"message:send\",{\"room\":\"" + room_of(c.index) + "\",\"body\":{\"t\":" +
                                      std::to_string(now) + payload_pad(opt_.payload) + "},\"clientId\":\"d" + run_tag() +
                                      std::to_string(i) + "\"}]", true);
        c.pending.emplace_back(id, now);
        count_send(c);
    }
    void on_ack(Loop& loop, Conn& c, int64_t sent_us, std::string_view) override {
        count_reply(loop, c, sent_us);
        refill(loop, c);
    }

private:
    uint64_t next_id_ = 0;
};

int run_durable(const Options& o) {
    if (o.flavor != Flavor::outpost) {
        std::fprintf(stderr, "loadgen: durable is an Outpost scenario\n");
        return 2;
    }
    Durable sc(o);
    return run_simple(sc, o, "acks", "durable");
}

// ---- reconnect: clients with queued messages reconnect at once; time until all are synced.

class Prepare final : public RampScenario {
public:
    using RampScenario::RampScenario;
    std::string room_of(int i) override { return "rc" + std::to_string(i / opt_.room_size); }
};

// One publisher joins every room and sends --queued messages to each, --window acks in flight.
class Publisher final : public Scenario {
public:
    Publisher(const Options& o, int rooms) : opt_(o), rooms_(rooms) {}
    void on_ready(Loop& loop, Conn& c) override { loop.join(c, room(0)); }
    void on_joined(Loop& loop, Conn& c) override {
        if (++joined_ < rooms_) return loop.join(c, room(joined_));
        for (int i = 0; i < std::max(1, opt_.window); ++i) send(loop, c);
    }
    void on_ack(Loop& loop, Conn& c, int64_t, std::string_view) override {
        ++acked;
        send(loop, c);
    }
    void on_closed(Loop&, Conn&) override { broken_ = true; }
    bool stop(int64_t) override { return broken_ || acked >= total(); }
    int total() const { return rooms_ * opt_.queued; }
    int acked = 0;

private:
    std::string room(int k) const { return "rc" + std::to_string(k); }
    void send(Loop& loop, Conn& c) {
        if (sent_ >= total()) return;
        int k = sent_++;
        int64_t id = loop.emit(c, "[\"message:send\",{\"room\":\"" + room(k % rooms_) + "\",\"body\":{\"q\":" +
                                      std::to_string(k) + "},\"clientId\":\"q" + run_tag() + std::to_string(k) + "\"}]", true);
        c.pending.emplace_back(id, now_us());
    }
    const Options& opt_;
    int rooms_, joined_ = 0, sent_ = 0;
    bool broken_ = false;
};

class Storm final : public RampScenario {
public:
    using RampScenario::RampScenario;
    Histogram sync_time; // storm start to sync:complete, per client
    int synced = 0;
    int64_t t_all = 0, replayed = 0;
    void on_event(Loop&, Conn& c, std::string_view name, const wire::SioPacket&) override {
        if (name == "message:new") {
            ++c.received;
            ++replayed;
        } else if (name == "sync:complete" && !c.synced) {
            c.synced = true;
            ++synced;
            t_all = now_us();
            sync_time.add(t_all - t_start);
        }
    }
    bool stop(int64_t) override { return synced + failed >= total_; }
};

int run_reconnect(const Options& o) {
    if (o.flavor != Flavor::outpost) {
        std::fprintf(stderr, "loadgen: reconnect is an Outpost scenario\n");
        return 2;
    }
    int rooms = (o.conns + o.room_size - 1) / o.room_size;
    if (o.phase == "prepare" || o.phase == "all") {
        Prepare prep(o);
        Loop loop(o, prep);
        if (!loop.init()) return 2;
        add_users(loop, o.conns, "u");
        if (!prep.ramp(loop, o.concurrency)) return 1;
        for (auto& c : loop.conns()) loop.close_conn(*c);
        Publisher pub(o, rooms);
        Loop pl(o, pub);
        if (!pl.init()) return 2;
        Conn& pc = pl.add_conn("publisher");
        pl.start_conn(pc);
        pl.run(now_us() + int64_t(o.timeout * 1e6));
        std::fprintf(stderr, "loadgen: reconnect: %d clients in %d rooms, %d of %d messages queued\n", o.conns, rooms,
                     pub.acked, pub.total());
        if (pub.acked < pub.total()) return 1;
    }
    if (o.phase == "storm" || o.phase == "all") {
        Storm storm(o);
        Loop loop(o, storm);
        if (!loop.init()) return 2;
        add_users(loop, o.conns, "u");
        Window w;
        w.begin(o.pid);
        storm.ramp(loop, o.conns); // every client at once; stop() waits for sync:complete
        w.end(o.pid);
        Report r;
        r.add("conns", o.conns);
        r.add("queued_per_room", o.queued);
        r.add("synced", storm.synced);
        r.add("failed", storm.failed);
        r.add("replayed", storm.replayed);
        r.add("all_synced_s", storm.synced == o.conns ? fmt(double(storm.t_all - storm.t_start) / 1e6, 3) : "-");
        r.latency("sync", storm.sync_time);
        w.report(r, double(storm.replayed), "replayed");
        r.add("errors", int64_t(loop.errors));
        std::printf("%s%s\n", header(o).c_str(), r.line.c_str());
        if (storm.synced < o.conns) {
            std::fprintf(stderr, "loadgen: reconnect: %d of %d clients synced\n", storm.synced, o.conns);
            return 1;
        }
    }
    return 0;
}

// ---- probe: waits until the server accepts TCP connections (start-up time, readiness).

int run_probe(const Options& o) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &a.sin_addr) != 1) return 2;
    int64_t deadline = now_us() + int64_t(o.timeout * 1e6);
    do {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::close(fd);
        if (rc == 0) return 0;
        usleep(1000);
    } while (now_us() < deadline);
    return 1;
}

// ---- arguments

bool parse(int argc, char** argv, Options& o) {
    if (argc < 2) return false;
    o.scenario = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "loadgen: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--host") o.host = val();
        else if (a == "--port") o.port = std::atoi(val());
        else if (a == "--flavor") {
            std::string f = val();
            if (f == "outpost") o.flavor = Flavor::outpost;
            else if (f == "sio" || f == "socket.io") o.flavor = Flavor::sio;
            else if (f == "ref" || f == "reference") o.flavor = Flavor::ref;
            else return false;
        } else if (a == "--conns") o.conns = std::atoi(val());
        else if (a == "--room-size") o.room_size = std::atoi(val());
        else if (a == "--rooms") o.rooms = std::atoi(val());
        else if (a == "--rate") o.rate = std::atof(val());
        else if (a == "--window") o.window = std::atoi(val());
        else if (a == "--payload") o.payload = std::atoi(val());
        else if (a == "--warmup") o.warmup = std::atof(val());
        else if (a == "--duration") o.duration = std::atof(val());
        else if (a == "--hold") o.hold = std::atof(val());
        else if (a == "--timeout") o.timeout = std::atof(val());
        else if (a == "--concurrency") o.concurrency = std::atoi(val());
        else if (a == "--src-ips") o.src_ips = std::atoi(val());
        else if (a == "--pid") o.pid = std::atoi(val());
        else if (a == "--queued") o.queued = std::atoi(val());
        else if (a == "--ready-file") o.ready_file = val();
        else if (a == "--phase") o.phase = val();
        else if (a == "--device") o.device = val();
        else if (a == "--confirm") o.confirm = true;
        else {
            std::fprintf(stderr, "loadgen: unknown option %s\n", a.c_str());
            return false;
        }
    }
    if (const char* s = std::getenv("LOADGEN_SECRET")) o.secret = s;
    return o.conns > 0 && o.room_size > 0 && o.rooms > 0 && o.window > 0 && o.concurrency > 0;
}

void raise_fd_limit() {
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

} // namespace
} // namespace loadgen

int main(int argc, char** argv) {
    using namespace loadgen;
    Options o;
    if (!parse(argc, argv, o)) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (o.flavor == Flavor::outpost && o.secret.empty() && o.scenario != "echo" && o.scenario != "probe")
        std::fprintf(stderr, "loadgen: warning: LOADGEN_SECRET is empty; Outpost will refuse the tokens\n");
    if (o.scenario == "probe") return run_probe(o);
    if (o.scenario == "idle") return run_idle(o);
    if (o.scenario == "fanout") return run_fanout(o);
    if (o.scenario == "echo") return run_echo(o);
    if (o.scenario == "durable") return run_durable(o);
    if (o.scenario == "reconnect") return run_reconnect(o);
    std::fputs(kUsage, stderr);
    return 2;
}
