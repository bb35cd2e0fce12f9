// keys_test.cpp - load_keys(): secret priority, the generated jwt.secret, public key PEM checks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <stdlib.h>

#include "auth/mint.h"
#include "auth_test_util.h"

namespace outpost::auth::test {
namespace {

namespace fs = std::filesystem;

class Keys : public ::testing::Test {
protected:
    void SetUp() override {
        unsetenv("OUTPOST_JWT_SECRET");
        std::string tmpl = (fs::temp_directory_path() / "outpost-auth-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        unsetenv("OUTPOST_JWT_SECRET");
        fs::remove_all(dir_);
    }
    std::string write(const std::string& name, std::string_view text) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    std::string dir_;
};

// True when a token minted with `secret` verifies under `keys`.
bool accepts_secret(const KeySet& keys, std::string_view secret) {
    MintRequest req;
    req.sub = "alice";
    auto t = mint_hs256(secret, req, kNow);
    return t.ok() && verify(*t, keys, kNow, Policy{}).ok();
}

settings::Auth hs(std::string secret = "", std::string file = "") {
    settings::Auth a;
    a.hs256_secret = std::move(secret);
    a.hs256_secret_file = std::move(file);
    return a;
}

settings::Auth pub(const char* alg, std::string file) {
    settings::Auth a;
    a.algorithm = alg;
    a.public_key_file = std::move(file);
    return a;
}

TEST_F(Keys, EnvironmentWinsOverSettings) {
    setenv("OUTPOST_JWT_SECRET", "env-secret-env-secret-env-secret", 1);
    auto k = load_keys(hs("config-secret-config-secret-conf", write("s", "file-secret")), dir_);
    ASSERT_TRUE(k.ok()) << k.error().message;
    EXPECT_TRUE(accepts_secret(*k, "env-secret-env-secret-env-secret"));
    EXPECT_EQ(k->source(), "OUTPOST_JWT_SECRET");
    EXPECT_TRUE(k->warnings().empty());
}

TEST_F(Keys, SettingWinsOverFile) {
    auto k = load_keys(hs("config-secret-config-secret-conf", write("s", "file-secret")), dir_);
    ASSERT_TRUE(k.ok());
    EXPECT_TRUE(accepts_secret(*k, "config-secret-config-secret-conf"));
    EXPECT_FALSE(fs::exists(dir_ + "/jwt.secret"));
}

TEST_F(Keys, SecretFileDropsOneTrailingNewline) {
    auto k = load_keys(hs("", write("s", "file-secret-file-secret-file-sec\r\n")), dir_);
    ASSERT_TRUE(k.ok());
    EXPECT_TRUE(accepts_secret(*k, "file-secret-file-secret-file-sec"));
    auto two = load_keys(hs("", write("t", "abc\n\n")), dir_);
    ASSERT_TRUE(two.ok());
    EXPECT_TRUE(accepts_secret(*two, "abc\n"));
}

TEST_F(Keys, ShortSecretLoadsWithAWarning) {
    auto k = load_keys(hs("short"), dir_);
    ASSERT_TRUE(k.ok());
    ASSERT_EQ(k->warnings().size(), 1u);
    EXPECT_NE(k->warnings()[0].find("auth.hs256_secret"), std::string::npos);
    EXPECT_EQ(k->warnings()[0].find("short"), std::string::npos); // never the secret itself
}

TEST_F(Keys, SecretFileErrorsNameTheFile) {
    auto missing = load_keys(hs("", dir_ + "/nope"), dir_);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status(), Status::io_error);
    EXPECT_NE(missing.error().message.find(dir_ + "/nope"), std::string::npos) << missing.error().message;
    auto empty = load_keys(hs("", write("empty", "\n")), dir_);
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
}

TEST_F(Keys, GeneratesSecretOnceAndReusesIt) {
    std::string data = dir_ + "/var/sub";
    auto first = load_keys(hs(), data);
    ASSERT_TRUE(first.ok()) << first.error().message;
    std::string path = data + "/jwt.secret";
    ASSERT_TRUE(fs::exists(path));
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    std::string text = read_text(path);
    ASSERT_EQ(text.size(), 65u);
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), 64u);
    std::string secret = text.substr(0, 64);
    EXPECT_TRUE(accepts_secret(*first, secret));
    EXPECT_EQ(first->describe().find(secret), std::string::npos);
    EXPECT_NE(first->describe().find(path), std::string::npos);

    auto second = load_keys(hs(), data + "/");
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(read_text(path), text);
    EXPECT_TRUE(accepts_secret(*second, secret));
}

// `outpost token` (SecretFile::must_exist) never creates a secret: a missing jwt.secret is an
// error naming every place looked at; an existing one (the server's) is the key it signs with.
TEST_F(Keys, MintingNeverCreatesASecret) {
    std::string data = dir_ + "/var";
    auto none = load_keys(hs(), data, SecretFile::must_exist);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.status(), Status::not_found);
    for (const char* place : {"OUTPOST_JWT_SECRET", "auth.hs256_secret", "auth.hs256_secret_file", "/var/jwt.secret does not exist"})
        EXPECT_NE(none.error().message.find(place), std::string::npos) << place << " in: " << none.error().message;
    EXPECT_FALSE(fs::exists(data)) << "data_dir was created";

    auto server = load_keys(hs(), data); // the server's first start generates it
    ASSERT_TRUE(server.ok());
    std::string secret = read_text(data + "/jwt.secret").substr(0, 64);
    auto minting = load_keys(hs(), data, SecretFile::must_exist);
    ASSERT_TRUE(minting.ok()) << minting.error().message;
    EXPECT_TRUE(accepts_secret(*minting, secret));
    EXPECT_TRUE(accepts_secret(*server, std::string(minting->secret())));

    setenv("OUTPOST_JWT_SECRET", "env-secret-env-secret-env-secret", 1); // the other sources still come first
    auto env = load_keys(hs(), dir_ + "/elsewhere", SecretFile::must_exist);
    ASSERT_TRUE(env.ok());
    EXPECT_EQ(env->source(), "OUTPOST_JWT_SECRET");
    unsetenv("OUTPOST_JWT_SECRET");
    auto setting = load_keys(hs("setting-secret-setting-secret-xx"), dir_ + "/elsewhere", SecretFile::must_exist);
    ASSERT_TRUE(setting.ok());
    EXPECT_FALSE(fs::exists(dir_ + "/elsewhere"));
}

TEST_F(Keys, TwoDataDirsGetDifferentSecrets) {
    auto a = load_keys(hs(), dir_ + "/a");
    auto b = load_keys(hs(), dir_ + "/b");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(read_text(dir_ + "/a/jwt.secret"), read_text(dir_ + "/b/jwt.secret"));
}

TEST_F(Keys, PublicKeysLoadForTheirAlgorithm) {
    auto rs = load_keys(pub("RS256", data_path("rs256.pub.pem")), dir_);
    ASSERT_TRUE(rs.ok()) << rs.error().message;
    EXPECT_EQ(rs->algorithm(), Algorithm::rs256);
    EXPECT_NE(rs->describe().find("2048-bit RSA"), std::string::npos) << rs->describe();
    auto es = load_keys(pub("ES256", data_path("es256.pub.pem")), dir_);
    ASSERT_TRUE(es.ok()) << es.error().message;
    EXPECT_EQ(es->algorithm(), Algorithm::es256);
    EXPECT_FALSE(fs::exists(dir_ + "/jwt.secret"));
}

TEST_F(Keys, SecretIgnoredForPublicKeyAlgorithms) {
    setenv("OUTPOST_JWT_SECRET", "env-secret-env-secret-env-secret", 1);
    auto rs = load_keys(pub("RS256", data_path("rs256.pub.pem")), dir_);
    ASSERT_TRUE(rs.ok());
    EXPECT_FALSE(accepts_secret(*rs, "env-secret-env-secret-env-secret"));
}

struct BadKey {
    const char* name;
    settings::Auth (*auth)(const std::string& dir);
    const char* message_has;
};

const BadKey kBadKeys[] = {
    {"rs256_with_ec_key", [](const std::string&) { return pub("RS256", data_path("es256.pub.pem")); }, "not an RSA key"},
    {"es256_with_rsa_key", [](const std::string&) { return pub("ES256", data_path("rs256.pub.pem")); }, "not an EC P-256 key"},
    {"rs256_without_file", [](const std::string&) { return pub("RS256", ""); }, "auth.public_key_file is required"},
    {"es256_missing_file", [](const std::string& d) { return pub("ES256", d + "/none.pem"); }, "/none.pem: cannot read"},
    {"garbage_pem", [](const std::string& d) { return pub("ES256", d + "/garbage.pem"); }, "/garbage.pem: not a PEM public key"},
    {"private_key_pem", [](const std::string& d) { return pub("RS256", d + "/private.pem"); }, "private key"},
    {"hs256_with_public_key", [](const std::string&) { return pub("HS256", data_path("rs256.pub.pem")); }, "auth.algorithm is HS256"},
    {"alg_none", [](const std::string&) { return pub("none", ""); }, "auth.algorithm"},
    {"alg_lowercase", [](const std::string&) { return pub("rs256", ""); }, "auth.algorithm"},
    {"alg_hs384", [](const std::string&) { settings::Auth a; a.algorithm = "HS384"; return a; }, "auth.algorithm"},
};

TEST_F(Keys, BadKeysAreRefusedWithClearErrors) {
    write("garbage.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    write("private.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    for (const BadKey& c : kBadKeys) {
        auto k = load_keys(c.auth(dir_), dir_);
        ASSERT_FALSE(k.ok()) << c.name;
        EXPECT_NE(k.error().message.find(c.message_has), std::string::npos) << c.name << ": " << k.error().message;
    }
}

TEST(KeySetPem, RefusesShortRsaAndOtherCurves) {
    // Written by data/gen: an RSA 1024 and an EC P-384 public key.
    auto a = KeySet::from_public_pem(Algorithm::rs256, read_text(data_path("rsa1024.pub.pem")), "rsa1024.pem");
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().message, "rsa1024.pem: RSA key shorter than 2048 bits");
    auto b = KeySet::from_public_pem(Algorithm::es256, read_text(data_path("p384.pub.pem")), "p384.pem");
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().message, "p384.pem: not an EC P-256 key, but auth.algorithm is ES256");
}

TEST(KeySetMove, MovedKeySetStillVerifies) {
    KeySet a = KeySet::hs256(kSecret);
    KeySet b = std::move(a);
    EXPECT_TRUE(accepts_secret(b, kSecret));
    KeySet c = KeySet::hs256("other");
    c = std::move(b);
    EXPECT_TRUE(accepts_secret(c, kSecret));
}

TEST(Algorithms, Names) {
    Algorithm a{};
    EXPECT_TRUE(algorithm_from_name("ES256", a));
    EXPECT_EQ(a, Algorithm::es256);
    EXPECT_FALSE(algorithm_from_name("es256", a));
    EXPECT_FALSE(algorithm_from_name("none", a));
    EXPECT_EQ(algorithm_name(Algorithm::rs256), "RS256");
}

} // namespace
} // namespace outpost::auth::test
