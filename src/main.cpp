// main.cpp - Wiring only: the allocator hooks of the loop thread, then argv -> one command.
// The commands live in src/app/ (cli.h): run (the default), check-config FILE, token, version,
// --help. Never: reads settings, starts modules or catches signals itself (src/app/ does).
#include <cjson/cJSON.h>

#include <cstdio>
#include <exception>

#include "app/cli.h"
#include "core/log.h"
#include "pool/small_alloc.h"

using namespace outpost;

namespace {

int dispatch(const app::Args& a) {
    if (!a.error.empty()) {
        std::fprintf(stderr, "%s\n%s", a.error.c_str(), app::kUsage);
        return 2;
    }
    if (a.command == "help") return app::help_command();
    if (a.command == "version") return app::version_command();
    if (a.command == "check-config") return app::check_config_command(a);
    if (a.command == "token") return app::token_command(a);
    if (a.command == "run") return app::run_command(a);
    std::fprintf(stderr, "unknown command \"%s\"\n%s", a.command.c_str(), app::kUsage);
    return 2;
}

} // namespace

// The one entry from C into what runs on this thread outside the server's own callbacks: an
// exception that reaches here is logged and the process exits 1 instead of aborting unlogged.
int main(int argc, char** argv) {
    // This thread runs the event loop: cJSON's nodes and strings and the outgoing frames reuse
    // small blocks here instead of calling malloc for every message. Before any cJSON use.
    pool::small_alloc_bind_thread();
    cJSON_Hooks hooks{pool::small_alloc, pool::small_free};
    cJSON_InitHooks(&hooks);
    try {
        return dispatch(app::parse_args(argc, argv));
    } catch (const std::exception& e) {
        OUTPOST_LOG(error, "fatal", "error=\"%s\"", e.what());
    } catch (...) {
        OUTPOST_LOG(error, "fatal", "error=\"unknown exception\"");
    }
    return 1;
}
