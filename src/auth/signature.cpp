// signature.cpp - JWS signature checks over mbedTLS (see signature.h).
#include "auth/signature.h"

#include <array>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "auth/keys.h"
#include "auth/mbedtls_compat.h"
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

// A JWS ES256 signature is r || s, 32 big-endian bytes each; mbedtls_pk_verify takes the ASN.1
// DER form SEQUENCE { INTEGER r, INTEGER s }. Zero scalars are refused here; the upper bound
// (x < n) is checked by the ECDSA verification itself.
using EcdsaDer = std::array<unsigned char, MBEDTLS_ECDSA_MAX_SIG_LEN(256)>;
bool es256_to_der(std::string_view sig, EcdsaDer& der, const unsigned char*& start, size_t& len) {
    Mpi r, s;
    if (mbedtls_mpi_read_binary(&r.v, bytes(sig.substr(0, kP256ScalarBytes)), kP256ScalarBytes) != 0 ||
        mbedtls_mpi_read_binary(&s.v, bytes(sig.substr(kP256ScalarBytes)), kP256ScalarBytes) != 0 ||
        mbedtls_mpi_cmp_int(&r.v, 0) <= 0 || mbedtls_mpi_cmp_int(&s.v, 0) <= 0)
        return false;
    unsigned char* p = der.data() + der.size(); // ASN.1 is written backwards from the end
    int n_s = mbedtls_asn1_write_mpi(&p, der.data(), &s.v);
    if (n_s < 0) return false;
    int n_r = mbedtls_asn1_write_mpi(&p, der.data(), &r.v);
    if (n_r < 0) return false;
    size_t body = size_t(n_s) + size_t(n_r);
    int n_len = mbedtls_asn1_write_len(&p, der.data(), body);
    if (n_len < 0) return false;
    int n_tag = mbedtls_asn1_write_tag(&p, der.data(), MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    if (n_tag < 0) return false;
    start = p;
    len = body + size_t(n_len) + size_t(n_tag);
    return true;
}

bool es256_valid(mbedtls_pk_context* pk, std::string_view input, std::string_view sig) {
    if (!pk || !mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) || sig.size() != 2 * kP256ScalarBytes) return false;
    const mbedtls_ecp_keypair* ec = mbedtls_pk_ec(*pk);
    if (!ec || mbedtls_ecp_keypair_get_group_id(ec) != MBEDTLS_ECP_DP_SECP256R1) return false;
    EcdsaDer der{};
    const unsigned char* start = nullptr;
    size_t len = 0;
    Digest h{};
    return es256_to_der(sig, der, start, len) && sha256(input, h) &&
           mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, h.data(), h.size(), start, len) == 0;
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
