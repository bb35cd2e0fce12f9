# libwebsockets_%.bbappend - libwebsockets on mbedTLS (and with its libev event loop) for Outpost.
#
# meta-oe's recipe has no mbedTLS option: its "ssl" PACKAGECONFIG means OpenSSL. We add one rather
# than bundle our own libwebsockets in the outpost recipe: meta-oe follows libwebsockets' security
# fixes (the tree read for this carries patches for CVE-2025-11677, -11678 and CVE-2026-19773) and
# meta-networking has mbedtls 3.6, so the distribution's libraries fit once the TLS backend is
# switched. This changes libwebsockets for the whole image (one TLS
# library, no OpenSSL); drop "mbedtls" from PACKAGECONFIG:pn-libwebsockets to undo it, and the
# outpost recipe then refuses to configure.
PACKAGECONFIG[mbedtls] = "-DLWS_WITH_MBEDTLS=ON,-DLWS_WITH_MBEDTLS=OFF,mbedtls"
PACKAGECONFIG:append = " mbedtls libev"

# "ssl" stays on (LWS_WITH_SSL=ON, which LWS_WITH_MBEDTLS needs) but must not pull OpenSSL in.
DEPENDS:remove = "${@bb.utils.contains('PACKAGECONFIG', 'mbedtls', 'openssl', '', d)}"

# A newer compiler's warning in libwebsockets must not fail the image (Buildroot does the same).
EXTRA_OECMAKE += "-DDISABLE_WERROR=ON"
