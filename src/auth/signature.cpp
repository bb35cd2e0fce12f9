// signature.cpp - JWS signature checks over mbedTLS (see signature.h).
#include "auth/signature.h"

#include <array>

extern "C" { // mbedTLS 2.28 ships this header without C++ guards
}
#include <mbedtls/ecdsa.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "auth/keys.h"
#include "core/credentials.h"

namespace outpost::auth {
namespace {

constexpr size_t kSha256Bytes = 32;
constexpr size_t kP256ScalarBytes = 32;
using Digest = std::array<unsigned char, kSha256Bytes>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool sha256(std::string_view input, Digest& out) {
    const mbedtls_md_info_t* md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return md && mbedtls_md(md, bytes(input), input.size(), out.data()) == 0;
}

bool hmac(std::string_view key, std::string_view input, Digest& out) {
    const mbedtls_md_info_t* md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return md && mbedtls_md_hmac(md, bytes(key), key.size(), bytes(input), input.size(), out.data()) == 0;
}

bool hs256_valid(std::string_view key, std::string_view input, std::string_view sig) {
    Digest mac{};
    bool ok = hmac(key, input, mac) && sig.size() == mac.size() &&
              core::constant_time_equal(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()), sig);
    mbedtls_platform_zeroize(mac.data(), mac.size());
    return ok;
}

bool rs256_valid(mbedtls_pk_context* pk, std::string_view input, std::string_view sig) {
    Digest h{};
    if (!pk || !mbedtls_pk_can_do(pk, MBEDTLS_PK_RSA) || sig.size() != mbedtls_pk_get_len(pk)) return false;
    return sha256(input, h) && mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, h.data(), h.size(), bytes(sig), sig.size()) == 0;
}

// RAII for an mbedtls_mpi.
struct Mpi {
    mbedtls_mpi v;
    Mpi() { mbedtls_mpi_init(&v); }
    ~Mpi() { mbedtls_mpi_free(&v); }
    Mpi(const Mpi&) = delete;
    Mpi& operator=(const Mpi&) = delete;
};

// A JWS ES256 scalar: 32 big-endian bytes with 0 < x < n.
bool read_scalar(std::string_view raw, const mbedtls_mpi& n, Mpi& out) {
    return mbedtls_mpi_read_binary(&out.v, bytes(raw), raw.size()) == 0 && mbedtls_mpi_cmp_int(&out.v, 0) > 0 &&
           mbedtls_mpi_cmp_mpi(&out.v, &n) < 0;
}

bool es256_valid(mbedtls_pk_context* pk, std::string_view input, std::string_view sig) {
    if (!pk || !mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) || sig.size() != 2 * kP256ScalarBytes) return false;
    mbedtls_ecp_keypair* ec = mbedtls_pk_ec(*pk);
    if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1) return false;
    Mpi r, s;
    Digest h{};
    if (!read_scalar(sig.substr(0, kP256ScalarBytes), ec->grp.N, r)) return false;
    if (!read_scalar(sig.substr(kP256ScalarBytes), ec->grp.N, s)) return false;
    return sha256(input, h) && mbedtls_ecdsa_verify(&ec->grp, h.data(), h.size(), &ec->Q, &r.v, &s.v) == 0;
}

} // namespace

bool signature_valid(const KeySet& keys, std::string_view input, std::string_view sig) {
    switch (keys.algorithm()) {
    case Algorithm::hs256: return hs256_valid(keys.secret(), input, sig);
    case Algorithm::rs256: return rs256_valid(keys.public_key(), input, sig);
    case Algorithm::es256: return es256_valid(keys.public_key(), input, sig);
    }
    return false;
}

std::string hmac_sha256(std::string_view key, std::string_view input) {
    Digest mac{};
    std::string out;
    if (hmac(key, input, mac)) out.assign(reinterpret_cast<const char*>(mac.data()), mac.size());
    mbedtls_platform_zeroize(mac.data(), mac.size());
    return out;
}

} // namespace outpost::auth
