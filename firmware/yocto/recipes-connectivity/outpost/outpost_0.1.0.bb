SUMMARY = "Outpost: Socket.IO-compatible real-time server for edge gateways"
DESCRIPTION = "One C++ binary serving unmodified Socket.IO clients: JWT authentication, rooms, \
presence, and messages kept in SQLite."
SECTION = "net"

# The repository has no licence file yet, so Outpost is CLOSED here until its owners choose one
# (firmware/check-recipes fails when a LICENSE/COPYING appears and this still says CLOSED). The
# embedded socket.io-client bundle is MIT; its licences are installed in ${docdir}/outpost.
LICENSE = "CLOSED"

# Built from the checkout this layer lives in (OUTPOST_SRCDIR, conf/layer.conf), at the commit
# SRCREV names: pin it in local.conf (SRCREV:pn-outpost = "<commit>") for a reproducible image.
# PV must equal project(outpost VERSION ...) in CMakeLists.txt (firmware/check-recipes checks it).
OUTPOST_BRANCH ?= "main"
SRCREV ?= "${AUTOREV}"
PV = "0.1.0+git"

# The socket.io-client bundle is generated with node and npm (network), which a Yocto build does
# not have: write it once on the host (node src/admin/client/embed.mjs --out <dir>) and set
# OUTPOST_CLIENT_BUNDLE_DIR to <dir> if it is not the default below.
OUTPOST_CLIENT_BUNDLE_DIR ?= "${OUTPOST_SRCDIR}/build/client-bundle"
FILESEXTRAPATHS:prepend := "${OUTPOST_CLIENT_BUNDLE_DIR}:"

SRC_URI = "git://${OUTPOST_SRCDIR};protocol=file;branch=${OUTPOST_BRANCH};destsuffix=outpost-src \
           file://client_bundle_data.cpp;subdir=client-bundle \
           file://socket.io-client.LICENSE;subdir=client-bundle \
           "
OUTPOST_UNPACKDIR = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
S = "${OUTPOST_UNPACKDIR}/outpost-src"

# Libraries: the distribution's (see libwebsockets_%.bbappend for why libwebsockets is not bundled).
DEPENDS = "libwebsockets mbedtls cjson sqlite3"

inherit cmake systemd update-rc.d useradd

PACKAGECONFIG ??= "libev"
PACKAGECONFIG[libev] = "-DOUTPOST_LIBEV=ON,-DOUTPOST_LIBEV=OFF,libev"

EXTRA_OECMAKE = "\
    -DOUTPOST_TESTS=OFF \
    -DOUTPOST_FUZZ=OFF \
    -DOUTPOST_TOOLS=OFF \
    -DOUTPOST_WERROR=OFF \
    -DOUTPOST_PLATFORM=linux \
    -DOUTPOST_CLIENT_BUNDLE_DIR=${OUTPOST_UNPACKDIR}/client-bundle \
"

# Outpost needs libwebsockets on mbedTLS: say so here rather than fail later in the compiler.
do_configure:prepend() {
    if ! grep -q '^#define LWS_WITH_MBEDTLS' ${STAGING_INCDIR}/lws_config.h; then
        bbfatal "libwebsockets is not built on mbedTLS: add the layer firmware/yocto (its libwebsockets bbappend)"
    fi
}

# systemd: firmware/outpost.service (Type=notify, reload = SIGHUP, dynamic user, StateDirectory).
SYSTEMD_SERVICE:${PN} = "outpost.service"
SYSTEMD_AUTO_ENABLE = "enable"

# sysvinit: the same script as Buildroot's S50outpost (start-stop-daemon, reload = SIGHUP,
# stop = SIGTERM with a drain wait, as user "outpost", logs to syslog). Start late, stop early.
INITSCRIPT_NAME = "outpost"
INITSCRIPT_PARAMS = "defaults 80 20"

USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --home-dir ${localstatedir}/lib/outpost --no-create-home \
                       --shell /bin/false --user-group outpost"

do_install:append() {
    # CMake installs the unit to /lib/systemd/system; put it where this distribution keeps units.
    rm -rf ${D}/lib/systemd
    rmdir ${D}/lib 2>/dev/null || true
    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -D -m 0644 ${S}/firmware/outpost.service ${D}${systemd_system_unitdir}/outpost.service
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -D -m 0755 ${S}/firmware/buildroot/package/outpost/S50outpost ${D}${sysconfdir}/init.d/outpost
        # data_dir of /etc/outpost/outpost.json (under systemd, StateDirectory= creates it).
        install -d -m 0700 ${D}${localstatedir}/lib/outpost
        chown outpost:outpost ${D}${localstatedir}/lib/outpost
    fi
}

CONFFILES:${PN} = "${sysconfdir}/outpost/outpost.json"
