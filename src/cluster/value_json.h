// value_json.h - A msgpack Value as JSON text and back, as the redis-adapter's JS sees it.
// Owns: the two conversions below. Never: knows the adapter's message shapes (adapter_wire.h),
// msgpack bytes (msgpack.h), sockets, or the OS.
#pragma once

#include <string>
#include <string_view>

#include "cluster/msgpack.h"

namespace outpost::cluster::wire {

using msgpack::Value;

// JSON <-> Value: JSON numbers become integers when integral and within int64, else float64;
// a Value prints as JSON.stringify prints what notepack decodes (bin as {"type":"Buffer","data":[...]},
// timestamps as ISO strings, NaN/Infinity as null, other extensions refused).
bool json_to_value(std::string_view json, const msgpack::Limits& limits, Value& out, std::string& error);
bool value_to_json(const Value& v, std::string& out, std::string& error);

} // namespace outpost::cluster::wire
