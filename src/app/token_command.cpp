// token_command.cpp - `outpost token --sub USER ...`: mints an HS256 token with the secret the
// server already uses (never a new one: that token would be refused).
// Owns: the command's options, finding the configuration, and its messages. Never: signs or
// encodes tokens itself (auth/mint does) nor creates a secret (auth::SecretFile::must_exist).
#include <cstdio>
#include <optional>

#include "app/cli.h"
#include "app/options.h"
#include "auth/keys.h"
#include "auth/mint.h"
#include "platform/platform.h"

namespace outpost::app {
namespace {

// The configuration the packaged server runs with (the .deb's conffile). `outpost token` reads it
// when no --config is given, so a token minted on the gateway is signed with the server's secret.
constexpr const char* kPackagedConfig = "/etc/outpost/outpost.json";

// auth::mint messages name the field ("ttl: expected ..."); on the command line it is the option.
void option_error(const std::string& message) {
    bool is_option = false;
    for (const char* o : {"sub:", "ttl:", "rooms:", "name:"}) is_option |= message.rfind(o, 0) == 0;
    std::fprintf(stderr, "%s%s\n", is_option ? "--" : "", message.c_str());
}

// Applies one --name value to the request; false (message printed) when it is refused.
bool apply_option(const std::string& name, const std::string& value, auth::MintRequest& req) {
    if (name == "sub") {
        req.sub = value;
    } else if (name == "role") {
        if (value != "admin" && value != "user") {
            std::fprintf(stderr, "--role: expected admin or user, got \"%s\"\n", value.c_str());
            return false;
        }
        req.admin = value == "admin";
    } else if (name == "name") {
        req.name = value;
    } else if (name == "ttl") {
        Result<int64_t> ttl = auth::parse_ttl(value);
        if (!ttl.ok()) {
            option_error(ttl.error().message);
            return false;
        }
        req.ttl_s = *ttl;
    } else if (name == "rooms") {
        Result<std::vector<std::string>> rooms = auth::parse_rooms_list(value);
        if (!rooms.ok()) {
            option_error(rooms.error().message);
            return false;
        }
        req.has_rooms = true;
        req.rooms = std::move(rooms).value();
    } else {
        std::fprintf(stderr, "--%s: unknown option (expected --sub, --ttl, --role, --rooms, --name or --config)\n%s", name.c_str(), kUsage);
        return false;
    }
    return true;
}

// The request from the arguments; false (message printed) on a bad argument or without --sub.
bool parse_request(const Args& a, auth::MintRequest& req) {
    for (const std::string& p : a.positional) {
        std::fprintf(stderr, "%s: unexpected argument (the user goes in --sub USER)\n", p.c_str());
        return false;
    }
    bool has_sub = false;
    for (const auto& [name, value] : a.options) {
        if (!apply_option(name, value, req)) return false;
        has_sub |= name == "sub";
    }
    if (!has_sub) std::fprintf(stderr, "--sub: required, expected the user id (1-64 chars of [A-Za-z0-9_.@-])\n");
    return has_sub;
}

// Loads the configuration (--config, else the packaged one when it exists, else the embedded
// defaults) and the HS256 secret it names; null (messages printed) when either fails.
std::optional<auth::KeySet> load_secret(const Args& a, settings::Settings& s) {
    std::string path = a.config;
    if (path.empty() && platform::file_exists(kPackagedConfig)) path = kPackagedConfig;
    std::string where = !a.config.empty() ? "--config " + a.config
                        : !path.empty()   ? path + " (read because no --config was given)"
                                          : std::string("none (no --config, and ") + kPackagedConfig + " does not exist): the embedded defaults, data_dir ./var";
    Result<settings::Settings> loaded = load_config(path);
    if (!loaded.ok()) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        if (a.config.empty()) std::fprintf(stderr, "  (%s is read when no --config is given)\n", kPackagedConfig);
        return std::nullopt;
    }
    s = std::move(loaded).value();
    if (s.auth.algorithm != "HS256") {
        std::fprintf(stderr, "auth.algorithm: expected HS256 (outpost token mints HS256 tokens only), got %s in %s; sign %s tokens with your private key\n",
                     s.auth.algorithm.c_str(), where.c_str(), s.auth.algorithm.c_str());
        return std::nullopt;
    }
    Result<auth::KeySet> keys = auth::load_keys(s.auth, s.data_dir, auth::SecretFile::must_exist);
    if (keys.ok()) return std::move(keys).value();
    std::fprintf(stderr, "secret: %s\n  configuration: %s\n", keys.error().message.c_str(), where.c_str());
    if (!s.data_dir.empty() && s.data_dir[0] != '/')
        std::fprintf(stderr, "  data_dir \"%s\" is relative: it names a folder under the current directory, as for the server\n",
                     s.data_dir.c_str());
    if (keys.status() == Status::not_found)
        std::fprintf(stderr, "  pass --config FILE (the configuration the server runs with) or set OUTPOST_JWT_SECRET;"
                             " outpost token never creates a secret\n");
    return std::nullopt;
}

} // namespace

int token_command(const Args& a) {
    auth::MintRequest req;
    if (!parse_request(a, req)) return 2;
    settings::Settings s;
    std::optional<auth::KeySet> keys = load_secret(a, s);
    if (!keys) return 1;
    req.issuer = s.auth.issuer;
    req.audience = s.auth.audience;
    Result<std::string> tok = auth::mint_hs256(keys->secret(), req, platform::wall_ms() / 1000);
    if (!tok.ok()) {
        option_error(tok.error().message);
        return 2;
    }
    std::printf("%s\n", tok->c_str());
    return 0;
}

} // namespace outpost::app
