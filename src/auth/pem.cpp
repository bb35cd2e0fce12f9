// pem.cpp - Certificate / private key checks with mbedTLS (see pem.h).
#include "auth/pem.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include <utility>
#include <vector>

#include "auth/mbedtls_compat.h"
#include "platform/platform.h"

namespace outpost::auth {
namespace {

// The random generator mbedTLS 3 wants for the blinding it does while parsing and checking a
// private key: a CTR_DRBG seeded from mbedTLS' entropy sources, local to one check. Chosen over
// mbedtls_psa_get_random because that needs psa_crypto_init() to have run first (a process-wide
// step the TLS library owns), and because this works the same on every mbedTLS version we build on.
struct Drbg {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context ctr;
    bool seeded = false;

    Drbg() {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&ctr);
        static constexpr unsigned char kLabel[] = "outpost tls pair check";
        seeded = mbedtls_ctr_drbg_seed(&ctr, mbedtls_entropy_func, &entropy, kLabel, sizeof kLabel - 1) == 0;
    }
    ~Drbg() {
        mbedtls_ctr_drbg_free(&ctr);
        mbedtls_entropy_free(&entropy);
    }
    Drbg(const Drbg&) = delete;
    Drbg& operator=(const Drbg&) = delete;
};

} // namespace

bool check_tls_pair(std::string_view cert_pem, std::string_view key_pem, std::string& error) {
    // mbedTLS wants PEM text NUL-terminated, with the terminator counted in the length.
    std::vector<unsigned char> cert(cert_pem.begin(), cert_pem.end()), key(key_pem.begin(), key_pem.end());
    cert.push_back(0);
    key.push_back(0);
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    Drbg rng;
    bool ok = false;
    if (!rng.seeded) error = "no randomness available to check the key";
    else if (mbedtls_x509_crt_parse(&crt, cert.data(), cert.size()) != 0) error = "the certificate file holds no valid PEM certificate";
    else if (mbedtls_pk_parse_key(&pk, key.data(), key.size(), nullptr, 0, mbedtls_ctr_drbg_random, &rng.ctr) != 0)
        error = "the key file holds no valid unencrypted PEM private key";
    else if (mbedtls_pk_check_pair(&crt.pk, &pk, mbedtls_ctr_drbg_random, &rng.ctr) != 0)
        error = "the private key does not match the certificate";
    else ok = true;
    mbedtls_x509_crt_free(&crt);
    mbedtls_pk_free(&pk);
    mbedtls_platform_zeroize(key.data(), key.size());
    return ok;
}

TlsPair::~TlsPair() { mbedtls_platform_zeroize(key.data(), key.size()); }

Result<TlsPair> read_tls_pair(const std::string& cert_file, const std::string& key_file) {
    TlsPair pair;
    if (!platform::read_file(cert_file, pair.cert, kMaxTlsFileBytes) || !platform::read_file(key_file, pair.key, kMaxTlsFileBytes))
        return Result<TlsPair>::fail(Status::io_error, "cannot read " + cert_file + " or " + key_file + ": " + platform::last_error());
    std::string why;
    if (!check_tls_pair(pair.cert, pair.key, why)) return Result<TlsPair>::fail(Status::invalid_argument, why);
    return Result<TlsPair>(std::move(pair));
}

} // namespace outpost::auth
