// fixtures.h - Reads tests/unit/cluster/fixtures/*.hex (written by tests/cluster/node/gen-fixtures.js
// from notepack.io and @socket.io/redis-adapter themselves): "# what", channel, hex bytes.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace outpost::cluster::testing {

struct Fixture {
    std::string name; // file name without ".hex"
    std::string what;
    std::string channel;
    std::string bytes;
};

// OUTPOST_TEST_DATA_DIR is ".../tests/unit/cluster/data"; the fixtures sit beside it.
inline std::string fixture_dir() {
    return std::filesystem::path(OUTPOST_TEST_DATA_DIR).parent_path().string() + "/fixtures";
}

inline Fixture load_fixture(const std::filesystem::path& path) {
    Fixture f;
    f.name = path.stem().string();
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open fixture " + path.string());
    std::string hex;
    std::getline(in, f.what);
    std::getline(in, f.channel);
    std::getline(in, hex);
    if (f.what.rfind("# ", 0) == 0) f.what.erase(0, 2);
    for (std::size_t k = 0; k + 1 < hex.size(); k += 2) {
        f.bytes.push_back(static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16)));
    }
    return f;
}

inline Fixture fixture(const std::string& name) { return load_fixture(fixture_dir() + "/" + name + ".hex"); }

// Every fixture whose name starts with `prefix`, sorted by name.
inline std::vector<Fixture> fixtures(const std::string& prefix) {
    std::vector<std::filesystem::path> paths;
    for (const auto& e : std::filesystem::directory_iterator(fixture_dir())) {
        if (e.path().extension() == ".hex" && e.path().filename().string().rfind(prefix, 0) == 0) paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    std::vector<Fixture> out;
    for (const auto& p : paths) out.push_back(load_fixture(p));
    return out;
}

} // namespace outpost::cluster::testing
