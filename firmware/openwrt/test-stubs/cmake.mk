# cmake.mk (test stub) - Stands in for OpenWrt's include/cmake.mk for firmware/check-recipes:
# collects CMAKE_OPTIONS and prints the configure command; the checks on them are in the checker.
CMAKE_OPTIONS ?=
define Build/Configure
	cd $(PKG_BUILD_DIR) && cmake -DCMAKE_INSTALL_PREFIX=/usr $(CMAKE_OPTIONS) .
endef
