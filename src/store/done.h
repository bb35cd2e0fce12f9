// done.h - Done: the store's Result for a step that has nothing to return: ok, or an Error (status
// and a message naming what failed). Owns: only that alias. Never: adds a second error vocabulary
// (Status and Error come from core/status.h).
#pragma once

#include <variant>

#include "core/status.h"

namespace outpost::store {

using Done = Result<std::monostate>;
inline Done done() { return std::monostate{}; }

} // namespace outpost::store
