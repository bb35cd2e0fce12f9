// keys.cpp - Building the pinned verification key from settings, environment and data_dir (see keys.h).
#include "auth/keys.h"

#include <array>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "auth/mbedtls_compat.h"
#include "platform/platform.h"

namespace outpost::auth {
namespace {

constexpr const char* kSecretEnv = "OUTPOST_JWT_SECRET";
constexpr const char* kGeneratedName = "jwt.secret";

// Zeroes a temporary that held secret bytes.
struct Wipe {
    std::string& s;
    ~Wipe() { mbedtls_platform_zeroize(s.data(), s.size()); }
};

std::string mbedtls_message(int rc) {
    std::array<char, 160> buf{};
    mbedtls_strerror(rc, buf.data(), buf.size());
    return buf.data();
}

void strip_one_newline(std::string& s) {
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (!s.empty() && s.back() == '\r') s.pop_back();
}

Result<KeySet> secret_from_file(const std::string& path, const std::string& label) {
    std::string text;
    Wipe wipe{text};
    if (!platform::read_file(path, text, kMaxKeyFileBytes))
        return Result<KeySet>::fail(Status::io_error, label + ": cannot read (" + platform::last_error() + ")");
    strip_one_newline(text);
    if (text.empty()) return Result<KeySet>::fail(Status::invalid_argument, label + ": the file is empty");
    return KeySet::hs256(text, label);
}

std::string hex(const unsigned char* p, size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n + 1);
    for (size_t i = 0; i < n; ++i) {
        out += kDigits[p[i] >> 4];
        out += kDigits[p[i] & 15];
    }
    return out;
}

// <data_dir>/jwt.secret: reused when present, else 32 random bytes as hex, mode 0600.
Result<KeySet> generated_secret(const std::string& data_dir, SecretFile mode) {
    std::string dir = data_dir.empty() ? "." : data_dir;
    std::string path = dir + (dir.back() == '/' ? "" : "/") + kGeneratedName;
    if (platform::file_exists(path)) return secret_from_file(path, "HS256 secret file " + path);
    if (mode == SecretFile::must_exist)
        return Result<KeySet>::fail(Status::not_found, std::string("no HS256 secret: ") + kSecretEnv +
                                                           " is not set, auth.hs256_secret and auth.hs256_secret_file are not set, and " +
                                                           path + " does not exist");
    if (!platform::file_exists(dir) && !platform::make_dirs(dir, 0700))
        return Result<KeySet>::fail(Status::io_error, "data_dir " + dir + ": cannot create (" + platform::last_error() + ")");
    std::array<unsigned char, kGeneratedSecretBytes> raw{};
    bool got = platform::random_bytes(raw.data(), raw.size());
    std::string text = got ? hex(raw.data(), raw.size()) : std::string();
    Wipe wipe{text};
    mbedtls_platform_zeroize(raw.data(), raw.size());
    if (!got) return Result<KeySet>::fail(Status::unavailable, "cannot generate " + path + ": no randomness available");
    if (!platform::write_file_atomic(path, text + "\n", 0600))
        return Result<KeySet>::fail(Status::io_error, path + ": cannot write (" + platform::last_error() + ")");
    return KeySet::hs256(text, "HS256 secret file " + path + " (created now)");
}

Result<KeySet> load_hs256(const settings::Auth& auth, const std::string& data_dir, SecretFile mode) {
    if (!auth.public_key_file.empty())
        return Result<KeySet>::fail(Status::invalid_argument, "auth.public_key_file is set but auth.algorithm is HS256");
    std::string env = platform::getenv_str(kSecretEnv);
    Wipe wipe{env};
    if (!env.empty()) return KeySet::hs256(env, kSecretEnv);
    if (!auth.hs256_secret.empty()) return KeySet::hs256(auth.hs256_secret, "auth.hs256_secret");
    if (!auth.hs256_secret_file.empty())
        return secret_from_file(auth.hs256_secret_file, "auth.hs256_secret_file " + auth.hs256_secret_file);
    return generated_secret(data_dir, mode);
}

Result<KeySet> load_public(Algorithm alg, const settings::Auth& auth) {
    const std::string& path = auth.public_key_file;
    std::string label = "auth.public_key_file " + path;
    if (path.empty())
        return Result<KeySet>::fail(Status::invalid_argument,
                                    "auth.public_key_file is required when auth.algorithm is " + std::string(algorithm_name(alg)));
    std::string pem;
    if (!platform::read_file(path, pem, kMaxKeyFileBytes))
        return Result<KeySet>::fail(Status::io_error, label + ": cannot read (" + platform::last_error() + ")");
    return KeySet::from_public_pem(alg, pem, label);
}

Result<KeySet> bad_key(const std::string& source, const std::string& why) {
    return Result<KeySet>::fail(Status::invalid_argument, source + ": " + why);
}

} // namespace

std::string_view algorithm_name(Algorithm alg) {
    switch (alg) {
    case Algorithm::hs256: return "HS256";
    case Algorithm::rs256: return "RS256";
    case Algorithm::es256: return "ES256";
    }
    return "?";
}

bool algorithm_from_name(std::string_view name, Algorithm& out) {
    for (Algorithm a : {Algorithm::hs256, Algorithm::rs256, Algorithm::es256}) {
        if (name == algorithm_name(a)) {
            out = a;
            return true;
        }
    }
    return false;
}

void KeySet::PkDeleter::operator()(mbedtls_pk_context* pk) const {
    mbedtls_pk_free(pk);
    delete pk;
}

KeySet::KeySet(KeySet&& o) noexcept = default;

KeySet& KeySet::operator=(KeySet&& o) noexcept {
    if (this != &o) {
        mbedtls_platform_zeroize(secret_.data(), secret_.size());
        alg_ = o.alg_;
        secret_ = std::move(o.secret_);
        pk_ = std::move(o.pk_);
        source_ = std::move(o.source_);
        warnings_ = std::move(o.warnings_);
    }
    return *this;
}

KeySet::~KeySet() { mbedtls_platform_zeroize(secret_.data(), secret_.size()); }

KeySet KeySet::hs256(std::string_view secret, std::string source) {
    KeySet k;
    k.alg_ = Algorithm::hs256;
    k.secret_.assign(secret.begin(), secret.end());
    k.source_ = std::move(source);
    if (secret.size() < kRecommendedSecretBytes)
        k.warnings_.push_back("HS256 secret from " + k.source_ + " is " + std::to_string(secret.size()) +
                              " bytes; use at least " + std::to_string(kRecommendedSecretBytes));
    return k;
}

Result<KeySet> KeySet::from_public_pem(Algorithm alg, std::string_view pem, std::string source) {
    if (alg == Algorithm::hs256) return bad_key(source, "HS256 takes a secret, not a public key");
    if (pem.find("PRIVATE KEY") != std::string_view::npos)
        return bad_key(source, "holds a private key; give the public key (openssl pkey -pubout)");
    std::string text(pem); // mbedTLS wants PEM NUL-terminated, the NUL counted in the length
    KeySet k;
    k.alg_ = alg;
    k.source_ = std::move(source);
    k.pk_.reset(new mbedtls_pk_context);
    mbedtls_pk_init(k.pk_.get());
    int rc = mbedtls_pk_parse_public_key(k.pk_.get(), reinterpret_cast<const unsigned char*>(text.c_str()), text.size() + 1);
    if (rc != 0) return bad_key(k.source_, "not a PEM public key (" + mbedtls_message(rc) + ")");
    mbedtls_pk_type_t type = mbedtls_pk_get_type(k.pk_.get());
    if (alg == Algorithm::rs256) {
        if (type != MBEDTLS_PK_RSA) return bad_key(k.source_, "not an RSA key, but auth.algorithm is RS256");
        if (mbedtls_pk_get_bitlen(k.pk_.get()) < kMinRsaBits) return bad_key(k.source_, "RSA key shorter than 2048 bits");
    } else {
        bool ec = type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECDSA;
        if (!ec || mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*k.pk_)) != MBEDTLS_ECP_DP_SECP256R1)
            return bad_key(k.source_, "not an EC P-256 key, but auth.algorithm is ES256");
    }
    return k;
}

std::string KeySet::describe() const {
    std::string what = std::string(algorithm_name(alg_));
    if (alg_ == Algorithm::hs256) return what + " secret from " + source_ + " (" + std::to_string(secret_.size()) + " bytes)";
    if (alg_ == Algorithm::rs256)
        return what + " public key from " + source_ + " (" + std::to_string(mbedtls_pk_get_bitlen(pk_.get())) + "-bit RSA)";
    return what + " public key from " + source_ + " (EC P-256)";
}

Result<KeySet> load_keys(const settings::Auth& auth, const std::string& data_dir, SecretFile secret_file) {
    Algorithm alg = Algorithm::hs256;
    if (!algorithm_from_name(auth.algorithm, alg))
        return Result<KeySet>::fail(Status::invalid_argument,
                                    "auth.algorithm: expected \"HS256\", \"RS256\" or \"ES256\", got \"" + auth.algorithm + "\"");
    if (alg == Algorithm::hs256) return load_hs256(auth, data_dir, secret_file);
    return load_public(alg, auth);
}

} // namespace outpost::auth
