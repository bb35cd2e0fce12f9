// pem.cpp - Certificate / private key checks with mbedTLS (see pem.h).
#include "auth/pem.h"

#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include <utility>
#include <vector>

#include "platform/platform.h"

namespace outpost::auth {

bool check_tls_pair(std::string_view cert_pem, std::string_view key_pem, std::string& error) {
    // mbedTLS wants PEM text NUL-terminated, with the terminator counted in the length.
    std::vector<unsigned char> cert(cert_pem.begin(), cert_pem.end()), key(key_pem.begin(), key_pem.end());
    cert.push_back(0);
    key.push_back(0);
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    bool ok = false;
    if (mbedtls_x509_crt_parse(&crt, cert.data(), cert.size()) != 0) error = "the certificate file holds no valid PEM certificate";
    else if (mbedtls_pk_parse_key(&pk, key.data(), key.size(), nullptr, 0) != 0)
        error = "the key file holds no valid unencrypted PEM private key";
    else if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0) error = "the private key does not match the certificate";
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
