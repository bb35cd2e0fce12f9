// socket.cpp (posix) - The state of a TCP connection's peer, from a non-blocking peek.
// Owns: peer_state() through recv(MSG_PEEK | MSG_DONTWAIT). Never: consumes input. A reset is
// seen only while its error is pending (a read that reported it clears it); platform/linux tells
// it apart at any time.
#include "platform/platform.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>

namespace outpost::platform {

PeerState peer_state(int fd) {
    if (fd < 0) return PeerState::unknown;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return PeerState::open;
    if (n == 0) return PeerState::closed;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return PeerState::open;
    if (errno == ECONNRESET || errno == EPIPE) return PeerState::reset;
    return PeerState::unknown;
}

} // namespace outpost::platform
