// options.h - The settings and what each module is given from them: the server's and the store's
// options, the log level, and the keys (logged).
// Owns: the one mapping of settings keys onto net::ServerOptions and store::StoreOptions, used at
// start-up and on reload. Never: starts or changes a running module (service.cpp does).
#pragma once

#include <optional>
#include <string>

#include "auth/keys.h"
#include "net/server.h"
#include "settings/settings.h"
#include "store/store.h"

namespace outpost::app {

// The settings in `path`, or the embedded defaults when `path` is empty.
Result<settings::Settings> load_config(const std::string& path);

net::ServerOptions server_options(const settings::Settings& s);
store::StoreOptions store_options(const settings::Settings& s);
// Sets the process' log level from s.log_level.
void apply_log_level(const settings::Settings& s);
// Loads the token keys and logs what was loaded (or why not); nullopt on failure.
std::optional<auth::KeySet> load_keys_logged(const settings::Settings& s);

} // namespace outpost::app
