// cli.h - The command line of `outpost`: its arguments, its usage text and its commands.
// Owns: parsing argv into Args, the help and version commands, and the declarations of the
// commands that live in files of their own (check_config.cpp, token_command.cpp, run_command.cpp).
// Never: starts the server or reads files itself (the commands do).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace outpost::app {

struct Args {
    std::string command = "run";
    std::string config;
    std::vector<std::pair<std::string, std::string>> options; // --name value
    std::vector<std::string> positional;
    std::string error;
};

// `outpost [COMMAND] [--name value]... [positional]...`; --help anywhere selects "help".
Args parse_args(int argc, char** argv);

// The usage text printed by --help and after an argument error.
extern const char* const kUsage;

// Each returns the process' exit code: 0 done, 1 failed, 2 bad arguments.
int help_command();
int version_command();
int check_config_command(const Args& a);
int token_command(const Args& a);
int run_command(const Args& a);

} // namespace outpost::app
