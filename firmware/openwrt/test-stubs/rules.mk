# rules.mk (test stub) - Stands in for OpenWrt's include/rules.mk when firmware/check-recipes
# evaluates ../Makefile with "make -n TOPDIR=<this dir>": only the variables and commands the
# package uses, so a real OpenWrt tree is not needed. Never used by a real OpenWrt build.
INCLUDE_DIR := $(TOPDIR)
BUILD_DIR := /nonexistent/openwrt-stub/build_dir
STAGING_DIR := /nonexistent/openwrt-stub/staging_dir
INSTALL_DIR := install -d -m0755
INSTALL_BIN := install -m0755
INSTALL_DATA := install -m0644
INSTALL_CONF := install -m0600
CP := cp -fpR
SED := sed -i -e
