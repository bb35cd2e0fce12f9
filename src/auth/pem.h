// pem.h - Checks of PEM key material for the TLS listener (certificate and private key).
// Owns: parsing with mbedTLS and the pair check, so a bad file is refused with a clear reason
// before the TLS library is asked to use it. Never: keeps or logs key material.
#pragma once

#include <string>
#include <string_view>

namespace outpost::auth {

// True when `cert_pem` holds an X.509 certificate whose public key matches the private key in
// `key_pem` (unencrypted PEM). Otherwise false, with `error` saying which part is wrong.
bool check_tls_pair(std::string_view cert_pem, std::string_view key_pem, std::string& error);

} // namespace outpost::auth
