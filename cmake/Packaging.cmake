# Installation in FHS places and the Debian package (cpack -G DEB).
#
#   /usr/bin/certlabd, /usr/bin/certlab
#   /usr/lib/certlab/plugins/                 driver plugins (.so); empty as shipped
#   /usr/share/certlab/lab-config/{devices,suites}/
#   /etc/certlab/station.yaml                 a conffile that runs as is (loopback API)
#   /usr/lib/systemd/system/certlabd.service
#   /usr/lib/sysusers.d/certlab.conf, /usr/lib/tmpfiles.d/certlab.conf
#   /usr/lib/udev/rules.d/60-certlab.rules
#   /usr/share/doc/certlab/
#
# certlab-sim and the record server are test fixtures and are not installed.
# A daemon whose unit, sysusers and udev files must be where systemd and udev look:
# the prefix defaults to /usr (the package's), not /usr/local. Build directories made
# before this file have CMake's /usr/local cached: moved to /usr once (the marker
# remembers); to install under /usr/local after all, give -DCMAKE_INSTALL_PREFIX again.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT OR
   (NOT DEFINED CACHE{CERTLAB_PREFIX_CHOSEN} AND CMAKE_INSTALL_PREFIX STREQUAL "/usr/local"))
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
endif()
set(CERTLAB_PREFIX_CHOSEN ON CACHE INTERNAL "the /usr default prefix was applied")
include(GNUInstallDirs)

# Arch-independent private directories under the prefix (Debian: /usr/lib/<package>),
# so not CMAKE_INSTALL_LIBDIR, which is multiarch on Debian.
set(CERTLAB_PLUGIN_DIR_REL lib/certlab/plugins)
set(CERTLAB_DATA_DIR_REL ${CMAKE_INSTALL_DATADIR}/certlab)
# The unit's ConfigurationDirectory=, StateDirectory= and LogsDirectory= are these,
# whatever the prefix.
set(CERTLAB_CONFIG_DIR /etc/certlab)
set(CERTLAB_STATE_DIR /var/lib/certlab)
set(CERTLAB_LOG_DIR /var/log/certlab)

# The packaged station.yaml names the installed profile, suite and plugin directories.
set(CERTLAB_DATA_DIR ${CMAKE_INSTALL_PREFIX}/${CERTLAB_DATA_DIR_REL})
set(CERTLAB_PLUGIN_DIR ${CMAKE_INSTALL_PREFIX}/${CERTLAB_PLUGIN_DIR_REL})
configure_file(${PROJECT_SOURCE_DIR}/lab-config/packaged/station.yaml.in
               ${PROJECT_BINARY_DIR}/packaged/station.yaml @ONLY)
# The unit names /usr/bin/certlabd; another prefix gets a unit naming its own binary.
file(READ ${PROJECT_SOURCE_DIR}/systemd/certlabd.service CERTLAB_UNIT)
string(REPLACE "/usr/bin/certlabd" "${CMAKE_INSTALL_FULL_BINDIR}/certlabd" CERTLAB_UNIT "${CERTLAB_UNIT}")
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/packaged/certlabd.service CONTENT "${CERTLAB_UNIT}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/systemd/certlabd.service)

install(FILES ${PROJECT_BINARY_DIR}/packaged/station.yaml DESTINATION ${CERTLAB_CONFIG_DIR})
install(DIRECTORY DESTINATION ${CERTLAB_PLUGIN_DIR_REL})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lab-config/devices ${PROJECT_SOURCE_DIR}/lab-config/suites
        DESTINATION ${CERTLAB_DATA_DIR_REL}/lab-config)
install(FILES ${PROJECT_BINARY_DIR}/packaged/certlabd.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/certlab.sysusers DESTINATION lib/sysusers.d RENAME certlab.conf)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/certlab.tmpfiles DESTINATION lib/tmpfiles.d RENAME certlab.conf)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/60-certlab.rules DESTINATION lib/udev/rules.d)
file(GLOB CERTLAB_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md ${PROJECT_SOURCE_DIR}/docs/*.yaml)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${CERTLAB_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# CPack: `cpack -G DEB` in a Release or RelWithDebInfo build directory.
set(CPACK_PACKAGE_NAME certlab)
set(CPACK_PACKAGE_VENDOR "SpotOn")
set(CPACK_PACKAGE_CONTACT "SpotOn certification lab <certlab@spoton.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "lab station daemon for partner device certification")
set(CPACK_PACKAGE_DESCRIPTION
    "certlabd finds the devices on a lab bench over USB, serial and the network, runs the\n\
certification scenario suites on them through pluggable drivers, runs unattended soak\n\
tests and answers remote status queries. certlab is its command-line client.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
# Libraries from dpkg-shlibdeps; the rest: the postinst runs systemd-sysusers and
# systemd-tmpfiles, and mDNS discovery asks avahi-daemon over D-Bus.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 247)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "avahi-daemon")
# station.yaml is a conffile: a bench's own devices survive upgrades (dpkg asks).
file(WRITE ${PROJECT_BINARY_DIR}/packaged/conffiles "${CERTLAB_CONFIG_DIR}/station.yaml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/systemd/deb/postinst
    ${PROJECT_SOURCE_DIR}/systemd/deb/prerm
    ${PROJECT_SOURCE_DIR}/systemd/deb/postrm
    ${PROJECT_BINARY_DIR}/packaged/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
