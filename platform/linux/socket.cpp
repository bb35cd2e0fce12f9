// socket.cpp (linux) - The state of a TCP connection's peer, read from the kernel's TCP state.
// Owns: peer_state() through getsockopt(TCP_INFO), which reports a reset even after a read has
// consumed its error. Never: reads from or writes to the socket.
#include "platform/platform.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace outpost::platform {

PeerState peer_state(int fd) {
    struct tcp_info info {};
    socklen_t len = sizeof info;
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return PeerState::unknown;
    switch (info.tcpi_state) {
    case TCP_ESTABLISHED: return PeerState::open;
    case TCP_CLOSE_WAIT: return PeerState::closed;
    case TCP_CLOSE: return PeerState::reset; // we have not closed our side: only a reset ends here
    default: return PeerState::unknown;
    }
}

} // namespace outpost::platform
