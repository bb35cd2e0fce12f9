# packaging.cmake - Install layout and the .deb (CPack) for a gateway running systemd.
#   /usr/bin/outpost, /etc/outpost/outpost.json (a conffile), /lib/systemd/system/outpost.service,
#   /usr/share/doc/outpost/README.md and socket.io-client.LICENSE. Data lives in /var/lib/outpost (systemd StateDirectory).
include(GNUInstallDirs)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/config/outpost.json DESTINATION /etc/outpost)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/firmware/outpost.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The licences of the socket.io-client bundle embedded in the binary (written by src/admin/client/embed.mjs).
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/generated/admin/socket.io-client.LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "outpost")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Outpost maintainers <outpost@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Socket.IO-compatible real-time server for edge gateways")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Debian's lws loads its libev glue as a plugin at run time (shlibdeps cannot see it); without it
# Outpost runs on lws' poll() loop. The dependency set from firmware/deps has it built in.
if(NOT OUTPOST_DEPS_PREFIX)
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libwebsockets-evlib-ev")
endif()
set(CPACK_STRIP_FILES ON) # a gateway's flash is small: no debug info in the package
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_CURRENT_SOURCE_DIR}/firmware/debian/conffiles")
include(CPack)
