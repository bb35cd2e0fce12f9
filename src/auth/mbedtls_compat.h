// mbedtls_compat.h - The few mbedTLS 3.6 calls auth/ uses, provided on mbedTLS 2.28 too.
// Owns: nothing but this bridge. auth/ is written against 3.6's public API; on 2.28 (Debian 12,
// what main builds on until the pinned dependency set is in use everywhere) these inline
// overloads give the same calls. Delete this file and its #include lines once 2.28 is gone.
// Never: reads a private field on 3.x (MBEDTLS_PRIVATE is not public API).
#pragma once

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER < 0x03000000
// 3.x passes an RNG for the blinding done while parsing and checking a private key; 2.28 takes none.
inline int mbedtls_pk_parse_key(mbedtls_pk_context* ctx, const unsigned char* key, size_t keylen, const unsigned char* pwd,
                                size_t pwdlen, int (*)(void*, unsigned char*, size_t), void*) {
    return mbedtls_pk_parse_key(ctx, key, keylen, pwd, pwdlen);
}
inline int mbedtls_pk_check_pair(const mbedtls_pk_context* pub, const mbedtls_pk_context* prv, int (*)(void*, unsigned char*, size_t),
                                 void*) {
    return mbedtls_pk_check_pair(pub, prv);
}
// 3.x (3.2+) reads the curve through an accessor; on 2.x the field is public.
inline mbedtls_ecp_group_id mbedtls_ecp_keypair_get_group_id(const mbedtls_ecp_keypair* key) { return key->grp.id; }
#endif
