################################################################################
#
# outpost
#
################################################################################

# Built from the checkout this BR2_EXTERNAL tree lives in (make BR2_EXTERNAL=<repo>/firmware/buildroot):
# no release tarball is published yet, so there is nothing to download and no tarball hash.
# OUTPOST_VERSION must equal project(outpost VERSION ...) in CMakeLists.txt (firmware/check-recipes).
OUTPOST_VERSION = 0.1.0
OUTPOST_SITE = $(BR2_EXTERNAL_OUTPOST_PATH)/../..
OUTPOST_SITE_METHOD = local
OUTPOST_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude /build --exclude /var --exclude node_modules

# The repository has no licence file yet: Outpost's own code is treated as proprietary (and its
# source is kept out of legal-info) until its owners choose a licence. The binary embeds the
# socket.io-client browser bundle (MIT); its licences come with the bundle (checked in outpost.hash).
OUTPOST_LICENSE = PROPRIETARY, MIT (embedded socket.io-client bundle)
OUTPOST_LICENSE_FILES = client-bundle/socket.io-client.LICENSE
OUTPOST_REDISTRIBUTE = NO

# Libraries: Buildroot's own packages, not our firmware/deps set. Buildroot has all five
# (mbedtls, libwebsockets, cjson, sqlite, libev) built for the target's libc and ABI, shared, and
# updated with Buildroot's security releases; bundling ours would mean re-doing firmware/deps'
# Debian download inside the build step. What the checks below guard against:
# - libwebsockets.mk builds on OpenSSL whenever BR2_PACKAGE_OPENSSL is on, else on mbedTLS; it has
#   no option to force mbedTLS. Config.in therefore depends on !BR2_PACKAGE_OPENSSL, and
#   OUTPOST_CHECK_LIBS refuses an lws_config.h without LWS_WITH_MBEDTLS.
# - The JWT code uses the mbedTLS 3.6 API; Buildroot releases that still ship mbedtls 2.28 fail
#   OUTPOST_CHECK_LIBS with a message rather than with compile errors.
# - Buildroot's libwebsockets is its version (not Debian's 4.3.5 with the deb13u1..u3 fixes):
#   which CVEs it carries is Buildroot's to say (make pkg-stats / cve check).
OUTPOST_DEPENDENCIES = libwebsockets mbedtls cjson sqlite

# The socket.io-client bundle is generated with node and npm (network), which a Buildroot build
# does not have: it is copied in from BR2_PACKAGE_OUTPOST_CLIENT_BUNDLE_DIR (see Config.in) and
# passed to CMake with -DOUTPOST_CLIENT_BUNDLE_DIR.
OUTPOST_CLIENT_BUNDLE_DIR = $(call qstrip,$(BR2_PACKAGE_OUTPOST_CLIENT_BUNDLE_DIR))

OUTPOST_CONF_OPTS = \
	-DOUTPOST_TESTS=OFF \
	-DOUTPOST_FUZZ=OFF \
	-DOUTPOST_TOOLS=OFF \
	-DOUTPOST_WERROR=OFF \
	-DOUTPOST_PLATFORM=linux \
	-DOUTPOST_CLIENT_BUNDLE_DIR=$(OUTPOST_SRCDIR)/client-bundle

# libev: used when the configuration has it (lws then builds its libev event-loop plugin).
ifeq ($(BR2_PACKAGE_LIBEV),y)
OUTPOST_DEPENDENCIES += libev
OUTPOST_CONF_OPTS += -DOUTPOST_LIBEV=ON
else
OUTPOST_CONF_OPTS += -DOUTPOST_LIBEV=OFF
endif

# The daemon's user; its home is the data_dir of /etc/outpost/outpost.json.
OUTPOST_USERS = outpost -1 outpost -1 * /var/lib/outpost - - Outpost real-time server

define OUTPOST_COPY_CLIENT_BUNDLE
	for f in client_bundle_data.cpp socket.io-client.LICENSE; do \
		test -f $(OUTPOST_CLIENT_BUNDLE_DIR)/$$f || { \
			echo "outpost: $(OUTPOST_CLIENT_BUNDLE_DIR)/$$f is missing; on the host run:" \
			     "node src/admin/client/embed.mjs --out $(OUTPOST_CLIENT_BUNDLE_DIR)"; exit 1; }; \
	done
	mkdir -p $(@D)/client-bundle
	cp $(OUTPOST_CLIENT_BUNDLE_DIR)/client_bundle_data.cpp \
		$(OUTPOST_CLIENT_BUNDLE_DIR)/socket.io-client.LICENSE $(@D)/client-bundle/
endef
OUTPOST_POST_RSYNC_HOOKS += OUTPOST_COPY_CLIENT_BUNDLE

define OUTPOST_CHECK_LIBS
	grep -q '^#define LWS_WITH_MBEDTLS' $(STAGING_DIR)/usr/include/lws_config.h || { \
		echo "outpost: libwebsockets was built without mbedTLS (is BR2_PACKAGE_OPENSSL on?)"; exit 1; }
	v=$$(sed -n 's/^#define MBEDTLS_VERSION_NUMBER *0x\([0-9A-Fa-f]*\).*/\1/p' \
		$(STAGING_DIR)/usr/include/mbedtls/build_info.h \
		$(STAGING_DIR)/usr/include/mbedtls/version.h 2>/dev/null | head -n 1); \
	test -n "$$v" && test $$((0x$$v)) -ge $$((0x03060000)) || { \
		echo "outpost: needs mbedTLS >= 3.6 (this Buildroot has 0x$$v)"; exit 1; }
endef
OUTPOST_PRE_CONFIGURE_HOOKS += OUTPOST_CHECK_LIBS

# CMake installs /usr/bin/outpost, /etc/outpost/outpost.json and /lib/systemd/system/outpost.service.
define OUTPOST_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(OUTPOST_PKGDIR)/S50outpost $(TARGET_DIR)/etc/init.d/S50outpost
endef

ifneq ($(BR2_INIT_SYSTEMD),y)
define OUTPOST_REMOVE_SYSTEMD_UNIT
	rm -f $(TARGET_DIR)/lib/systemd/system/outpost.service
	rmdir --ignore-fail-on-non-empty $(TARGET_DIR)/lib/systemd/system $(TARGET_DIR)/lib/systemd 2>/dev/null || true
endef
OUTPOST_POST_INSTALL_TARGET_HOOKS += OUTPOST_REMOVE_SYSTEMD_UNIT
endif

$(eval $(cmake-package))
