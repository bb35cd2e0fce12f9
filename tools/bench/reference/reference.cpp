// reference.cpp - The benchmark's ceiling: the least a libwebsockets server can do for the scenarios.
// Owns: one lws context on the libev loop (--poll: lws's default poll loop), Engine.IO v4 open and
// Socket.IO connect answers, "join" into rooms, "pub" broadcast of the received bytes framed once,
// and "message" -> "message-back". Never: parses JSON, authenticates, stores or pings.
// lws rules followed: RECEIVE only decodes and enqueues; one lws_write per WRITEABLE callback.
#include <ev.h>
#include <libwebsockets.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using Frame = std::shared_ptr<const std::string>; // LWS_PRE bytes of headroom, then the payload

struct Peer {
    struct lws* wsi = nullptr;
    int room = -1;
    size_t slot = 0; // index in rooms[room]
    std::deque<Frame> queue;
    std::string rx; // a fragmented message being reassembled
};

struct Pss {
    Peer* peer;
};

std::vector<std::vector<Peer*>> g_rooms;
std::unordered_map<std::string, int> g_room_index;
unsigned long g_next_sid = 0;

Frame make_frame(std::string_view a, std::string_view b = {}) {
    auto s = std::make_shared<std::string>(LWS_PRE, '\0');
    s->append(a);
    s->append(b);
    return s;
}

void enqueue(Peer& p, const Frame& f) {
    p.queue.push_back(f);
    if (p.queue.size() == 1) lws_callback_on_writable(p.wsi);
}

void leave(Peer& p) {
    if (p.room < 0) return;
    auto& members = g_rooms[size_t(p.room)];
    Peer* last = members.back();
    members[p.slot] = last;
    last->slot = p.slot;
    members.pop_back();
    p.room = -1;
}

void join(Peer& p, std::string_view name) {
    leave(p);
    auto [it, fresh] = g_room_index.try_emplace(std::string(name), int(g_rooms.size()));
    if (fresh) g_rooms.emplace_back();
    p.room = it->second;
    p.slot = g_rooms[size_t(p.room)].size();
    g_rooms[size_t(p.room)].push_back(&p);
}

// One Engine.IO text message from a client.
void on_message(Peer& p, std::string_view m) {
    if (m.size() >= 2 && m[0] == '4' && m[1] == '0') {
        enqueue(p, make_frame("40{\"sid\":\"r" + std::to_string(g_next_sid++) + "\"}"));
        return;
    }
    if (m.size() < 3 || m[0] != '4' || m[1] != '2') return; // pongs and the rest: nothing to do
    size_t i = 2;
    while (i < m.size() && m[i] >= '0' && m[i] <= '9') ++i;
    std::string_view ack_id = m.substr(2, i - 2), data = m.substr(i);
    if (data.starts_with("[\"pub\"")) {
        if (p.room < 0) return;
        Frame f = make_frame(m); // framed once, shared by every recipient
        for (Peer* q : g_rooms[size_t(p.room)])
            if (q != &p) enqueue(*q, f);
    } else if (data.starts_with("[\"message\"")) {
        enqueue(p, make_frame("42[\"message-back\"", data.substr(10)));
    } else if (data.starts_with("[\"join\"")) {
        size_t at = data.find("\"room\":\"");
        if (at == std::string_view::npos) return;
        at += 8;
        size_t end = data.find('"', at);
        if (end == std::string_view::npos) return;
        join(p, data.substr(at, end - at));
        if (!ack_id.empty()) enqueue(p, make_frame("43", std::string(ack_id) + "[{\"ok\":true}]"));
    }
}

int callback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in, size_t len) {
    Pss* pss = static_cast<Pss*>(user);
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        pss->peer = new Peer;
        pss->peer->wsi = wsi;
        enqueue(*pss->peer, make_frame("0{\"sid\":\"e" + std::to_string(g_next_sid++) +
                                       "\",\"upgrades\":[],\"pingInterval\":3600000,\"pingTimeout\":3600000,"
                                       "\"maxPayload\":1000000}"));
        break;
    case LWS_CALLBACK_CLOSED:
        if (pss->peer) {
            leave(*pss->peer);
            delete pss->peer;
            pss->peer = nullptr;
        }
        break;
    case LWS_CALLBACK_RECEIVE: {
        Peer& p = *pss->peer;
        std::string_view chunk(static_cast<const char*>(in), len);
        bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);
        if (first && last && !lws_remaining_packet_payload(wsi)) {
            on_message(p, chunk);
        } else {
            if (p.rx.size() + len > 1000000) return -1;
            p.rx.append(chunk);
            if (last && !lws_remaining_packet_payload(wsi)) {
                std::string m;
                m.swap(p.rx);
                on_message(p, m);
            }
        }
        break;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        Peer& p = *pss->peer;
        if (p.queue.empty()) break;
        Frame f = std::move(p.queue.front());
        p.queue.pop_front();
        auto* data = reinterpret_cast<unsigned char*>(const_cast<char*>(f->data())) + LWS_PRE;
        size_t n = f->size() - LWS_PRE;
        if (lws_write(wsi, data, n, LWS_WRITE_TEXT) < int(n)) return -1;
        if (!p.queue.empty()) lws_callback_on_writable(wsi);
        break;
    }
    default: break;
    }
    return 0;
}

const struct lws_protocols kProtocols[] = {
    {"eio", callback, sizeof(Pss), 512, 0, nullptr, 0}, // the receive buffer Outpost uses
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

void on_signal(struct ev_loop* loop, ev_signal*, int) { ev_break(loop, EVBREAK_ALL); }

} // namespace

int main(int argc, char** argv) {
    int port = 3003;
    bool use_ev = true;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--port") && i + 1 < argc) port = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--poll")) use_ev = false;
        else {
            std::fprintf(stderr, "usage: reference [--port N] [--poll]\n");
            return 2;
        }
    }
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR | LLL_WARN, nullptr);

    struct ev_loop* loop = use_ev ? ev_default_loop(EVBACKEND_EPOLL) : nullptr;
    void* foreign[1] = {loop};
    struct lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.port = port;
    info.protocols = kProtocols;
    // Like Outpost: no lws validity pings (their timers sit in one sorted list, O(connections)).
    static const lws_retry_bo_t no_validity_pings = {nullptr, 0, 0, 0, 0, 0};
    info.retry_and_idle_policy = &no_validity_pings;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    if (use_ev) {
        info.options |= LWS_SERVER_OPTION_LIBEV;
        info.foreign_loops = foreign;
    }
    struct lws_context* ctx = lws_create_context(&info);
    if (!ctx) {
        std::fprintf(stderr, "reference: lws_create_context failed%s\n", use_ev ? " (was libwebsockets built with LWS_WITH_LIBEV?)" : "");
        return 1;
    }
    std::printf("reference: listening on %d (%s loop)\n", port, use_ev ? "libev" : "poll");
    std::fflush(stdout);
    if (use_ev) {
        ev_signal sigterm, sigint;
        ev_signal_init(&sigterm, on_signal, SIGTERM);
        ev_signal_init(&sigint, on_signal, SIGINT);
        ev_signal_start(loop, &sigterm);
        ev_signal_start(loop, &sigint);
        ev_run(loop, 0);
    } else {
        while (lws_service(ctx, 0) >= 0) {}
    }
    lws_context_destroy(ctx);
    return 0;
}
