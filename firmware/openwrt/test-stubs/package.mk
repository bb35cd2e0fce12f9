# package.mk (test stub) - Stands in for OpenWrt's include/package.mk for firmware/check-recipes.
# It CHECKS what the real one would need or assume, and stops with an error naming what is missing:
#   - PKG_NAME, PKG_VERSION, PKG_RELEASE, PKG_LICENSE set before this include;
#   - PKG_VERSION equal to OUTPOST_EXPECT_VERSION (the project version, passed by the checker);
#   - for each BuildPackage: Package/<name> sets SECTION, CATEGORY, TITLE and DEPENDS, DEPENDS names
#     no OpenSSL flavour, and Package/<name>/install and Package/<name>/conffiles are defined.
# Then "compile" and "install" print what the package would run (make -n), Build/Prepare and the
# install commands included.
stub_require = $(if $(strip $($(1))),,$(error package.mk stub: $(1) is not set$(if $(2), ($(2)))))

$(call stub_require,PKG_NAME)
$(call stub_require,PKG_VERSION)
$(call stub_require,PKG_RELEASE)
$(call stub_require,PKG_LICENSE)
ifneq ($(OUTPOST_EXPECT_VERSION),)
ifneq ($(PKG_VERSION),$(OUTPOST_EXPECT_VERSION))
$(error package.mk stub: PKG_VERSION $(PKG_VERSION) is not the project version $(OUTPOST_EXPECT_VERSION) (CMakeLists.txt))
endif
endif

PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install
STUB_IPKG_DIR = $(BUILD_DIR)/ipkg-stub/$(1)

define Build/Prepare/Default
	mkdir -p $(PKG_BUILD_DIR)
endef
Build/Prepare ?= $(Build/Prepare/Default)

# stub_check_package NAME: evaluates Package/NAME as the real BuildPackage does, then checks it.
define stub_check_package
SECTION :=
CATEGORY :=
TITLE :=
DEPENDS :=
$$(eval $$(Package/$(1)))
$$(call stub_require,SECTION,in Package/$(1))
$$(call stub_require,CATEGORY,in Package/$(1))
$$(call stub_require,TITLE,in Package/$(1))
$$(call stub_require,DEPENDS,in Package/$(1))
$$(if $$(filter +libwebsockets-openssl +libwebsockets-full +libopenssl,$$(DEPENDS)),$$(error package.mk stub: Package/$(1) DEPENDS names OpenSSL: $$(DEPENDS)))
$$(if $$(value Package/$(1)/install),,$$(error package.mk stub: Package/$(1)/install is not defined))
$$(if $$(value Package/$(1)/conffiles),,$$(error package.mk stub: Package/$(1)/conffiles is not defined))
endef

define BuildPackage
$(eval $(call stub_check_package,$(1)))
$(eval $(call stub_targets,$(1)))
endef

define stub_targets
.PHONY: compile install
compile:
	$$(Build/Prepare)
	$$(Build/Configure)
install:
	$$(call Package/$(1)/install,$$(call STUB_IPKG_DIR,$(1)))
endef
