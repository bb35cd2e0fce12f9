// pem.h - Checks of PEM key material for the TLS listener (certificate and private key).
// Owns: reading the two files, parsing with mbedTLS and the pair check, so a bad file is refused
// with a clear reason before the TLS library is asked to use it (at start-up and on reload).
// Never: keeps or logs key material.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace outpost::auth {

// True when `cert_pem` holds an X.509 certificate whose public key matches the private key in
// `key_pem` (unencrypted PEM). Otherwise false, with `error` saying which part is wrong.
bool check_tls_pair(std::string_view cert_pem, std::string_view key_pem, std::string& error);

inline constexpr size_t kMaxTlsFileBytes = 1 << 20;

// A certificate and its private key as read from their files; the key's bytes are wiped when
// the pair goes.
struct TlsPair {
    std::string cert, key;

    TlsPair() = default;
    TlsPair(TlsPair&&) = default;
    TlsPair& operator=(TlsPair&&) = default;
    ~TlsPair();
};

// Reads both files (at most kMaxTlsFileBytes each) and checks them with check_tls_pair().
// Fails with io_error "cannot read CERT or KEY: <why>", or invalid_argument and the pair
// check's reason.
Result<TlsPair> read_tls_pair(const std::string& cert_file, const std::string& key_file);

} // namespace outpost::auth
