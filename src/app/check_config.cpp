// check_config.cpp - `outpost check-config FILE`: validates a configuration file.
// Owns: the command's arguments and its two answers ("FILE: ok" or the loader's message).
// Never: starts anything or creates files.
#include <cstdio>

#include "app/cli.h"
#include "settings/settings.h"

namespace outpost::app {

int check_config_command(const Args& a) {
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

} // namespace outpost::app
