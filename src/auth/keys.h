// keys.h - The verification key Outpost pins tokens to: an HS256 secret or an RS256/ES256 public key.
// Owns: KeySet (immutable once built; a reload builds a new one that the caller swaps in) and its
// loading from settings, OUTPOST_JWT_SECRET and data_dir. Never: logs or returns secret bytes.
//
// HS256 secret, first found wins: env OUTPOST_JWT_SECRET, auth.hs256_secret, the contents of
// auth.hs256_secret_file (one trailing "\n" or "\r\n" removed), else <data_dir>/jwt.secret,
// created on first start with 32 random bytes written as 64 lowercase hex characters and "\n"
// (mode 0600) and reused afterwards. In every case the HMAC key is the text itself (for the
// generated file: the 64 hex characters, not the 32 bytes they spell), so
// `jose`/`jsonwebtoken` given the file's first line sign tokens Outpost accepts.
//
// Thread safety: verify() on one KeySet from one thread at a time (mbedTLS caches EC tables in
// the key); share across threads by building one KeySet per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "settings/settings.h"

typedef struct mbedtls_pk_context mbedtls_pk_context;

namespace outpost::auth {

enum class Algorithm : uint8_t { hs256, rs256, es256 };

std::string_view algorithm_name(Algorithm alg); // "HS256" ...
// Parses "HS256" | "RS256" | "ES256" exactly; false otherwise.
bool algorithm_from_name(std::string_view name, Algorithm& out);

inline constexpr size_t kMaxKeyFileBytes = 64 * 1024;
inline constexpr size_t kGeneratedSecretBytes = 32;
inline constexpr size_t kRecommendedSecretBytes = 32; // RFC 7518 §3.2: at least the hash size
inline constexpr size_t kMinRsaBits = 2048;

class KeySet {
public:
    // An HS256 key. `source` says where it came from, for logs ("OUTPOST_JWT_SECRET").
    static KeySet hs256(std::string_view secret, std::string source = "<memory>");
    // An RS256 or ES256 public key from PEM text (SubjectPublicKeyInfo, or PKCS#1 RSA).
    // RSA keys need at least kMinRsaBits; EC keys must be on P-256. `source` names the file.
    static Result<KeySet> from_public_pem(Algorithm alg, std::string_view pem, std::string source);

    KeySet(KeySet&&) noexcept;
    KeySet& operator=(KeySet&&) noexcept;
    KeySet(const KeySet&) = delete;
    KeySet& operator=(const KeySet&) = delete;
    ~KeySet(); // zeroes the secret

    Algorithm algorithm() const { return alg_; }
    const std::string& source() const { return source_; }
    // "HS256 secret from OUTPOST_JWT_SECRET (64 bytes)" - safe to log.
    std::string describe() const;
    // Warnings worth a log line (e.g. a short HS256 secret); empty when none.
    const std::vector<std::string>& warnings() const { return warnings_; }

    // For jwt.cpp: the HMAC key (HS256) or the parsed public key (RS256/ES256; null for HS256).
    std::string_view secret() const { return {secret_.data(), secret_.size()}; }
    mbedtls_pk_context* public_key() const { return pk_.get(); }

private:
    struct PkDeleter {
        void operator()(mbedtls_pk_context* pk) const;
    };
    KeySet() = default;

    Algorithm alg_ = Algorithm::hs256;
    std::vector<char> secret_; // a vector, not a string: a move never leaves a short-string copy behind
    std::unique_ptr<mbedtls_pk_context, PkDeleter> pk_;
    std::string source_;
    std::vector<std::string> warnings_;
};

// Whether load_keys may create <data_dir>/jwt.secret when no other HS256 secret is configured.
enum class SecretFile : uint8_t {
    create_if_missing, // the server: generate it on first start
    must_exist,        // `outpost token`: sign only with a secret a server already uses
};

// Builds the KeySet that `auth` describes (see the top of this file for the HS256 order).
// Errors name the setting or file, e.g. "auth.public_key_file /etc/k.pem: not an EC P-256 key".
// With create_if_missing it may create <data_dir>/jwt.secret (and data_dir itself); with
// must_exist a missing file fails with not_found and a message naming every place looked at.
Result<KeySet> load_keys(const settings::Auth& auth, const std::string& data_dir,
                         SecretFile secret_file = SecretFile::create_if_missing);

} // namespace outpost::auth
