// cli.cpp - Argument parsing, the usage text, and the help and version commands (see cli.h).
#include "app/cli.h"

#include <cstdio>

#include "core/build_info.h"

namespace outpost::app {

const char* const kUsage =
    "Outpost - a Socket.IO server for edge gateways\n"
    "\n"
    "Usage:\n"
    "  outpost [--config FILE]        run the server (no FILE: embedded defaults, port 3000, ./var)\n"
    "  outpost check-config FILE      validate a configuration file; exit 1 on error\n"
    "  outpost token --sub USER [--ttl 1h] [--role admin] [--rooms 'site:*,lobby'] [--name NAME]\n"
    "                [--config FILE]  mint an HS256 token with the server's secret (prints only the token);\n"
    "                                 without --config it reads /etc/outpost/outpost.json when that exists\n"
    "  outpost version                print the version\n"
    "  outpost --help                 this text\n";

Args parse_args(int argc, char** argv) {
    Args a;
    int i = 1;
    if (i < argc && argv[i][0] != '-') a.command = argv[i++];
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            a.command = "help";
        } else if (arg.rfind("--", 0) == 0) {
            if (i + 1 >= argc) {
                a.error = arg + ": expected a value";
                return a;
            }
            if (arg == "--config") a.config = argv[++i];
            else a.options.emplace_back(arg.substr(2), argv[++i]);
        } else {
            a.positional.push_back(arg);
        }
    }
    return a;
}

int help_command() {
    std::printf("%s", kUsage);
    return 0;
}

int version_command() {
    std::printf("outpost %s\ntarget %s (%s)\nlibwebsockets %s, mbedTLS %s, SQLite %s\n", core::kVersion, core::kTarget,
                core::kLinkage, core::kLwsVersion, core::kMbedtlsVersion, core::kSqliteVersion);
    return 0;
}

} // namespace outpost::app
