// random_id.h - Unguessable identifiers (Engine.IO and Socket.IO sids) from kernel randomness.
// Owns: nothing but the encoding choice (base64url of random bytes). Never: used for secrets.
#pragma once

#include <cstddef>
#include <string>

namespace outpost::core {

// base64url of `bytes` random bytes (15 -> 20 chars). Falls back to clock-derived bytes when
// the kernel gives none: ids then stay unique enough for routing; authentication is the token's job.
std::string random_id(size_t bytes = 15);

} // namespace outpost::core
