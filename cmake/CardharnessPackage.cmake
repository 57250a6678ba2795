# Installation layout and the Debian package (CPack DEB). `./dev.sh package` builds
# build/<preset>/cardharness_<version>_amd64.deb. What goes where (io/paths.cpp finds it again
# relative to the binary, so the same build installs under any prefix):
#   bin/cardharness                                   the program
#   lib/cardharness/libifdcardharness.so              the lab's reader driver (never in the system
#                                                     pcscd's driver folder: only the lab names it)
#   share/cardharness/profiles/                       cards, reader models, labs, suites
#   share/man/man1/cardharness.1.gz                   generated from --help by help2man at build time
#   share/bash-completion/completions/cardharness     completion from the program's own --help
# Maintainer scripts (packaging/debian/): postinst makes /var/lib/cardharness owner-only; prerm
# stops every lab and undoes `lab start --system-pcscd`; postrm purge removes the lab state.

install(TARGETS cardharness RUNTIME DESTINATION bin)
if(TARGET ifdcardharness)
    install(TARGETS ifdcardharness LIBRARY DESTINATION lib/cardharness)
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/profiles/" DESTINATION share/cardharness/profiles)
install(FILES "${PROJECT_SOURCE_DIR}/packaging/bash-completion/cardharness"
    DESTINATION share/bash-completion/completions)

find_program(CARDHARNESS_HELP2MAN help2man)
if(CARDHARNESS_HELP2MAN)
    set(manpage "${PROJECT_BINARY_DIR}/man/cardharness.1.gz")
    add_custom_command(OUTPUT "${manpage}"
        COMMAND bash "${PROJECT_SOURCE_DIR}/packaging/manpage.sh" "$<TARGET_FILE:cardharness>"
            "${manpage}" "${PROJECT_VERSION}"
        DEPENDS cardharness "${PROJECT_SOURCE_DIR}/packaging/manpage.sh"
        COMMENT "Generating the man page from cardharness --help (help2man)" VERBATIM)
    add_custom_target(cardharness_manpage ALL DEPENDS "${manpage}")
    install(FILES "${manpage}" DESTINATION share/man/man1)
else()
    message(WARNING "cardharness: help2man not found, so no man page is built or packaged "
        "(apt-get install help2man, or ./dev.sh setup)")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cardharness)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "cardharness maintainers <cardharness@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "card-reader compatibility test harness for My Number and Juki cards")
# The extended description (CPack puts the summary above it and indents each line).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "cardharness tests PC/SC smart-card readers against the Japanese My Number card and the
Basic Resident Register (Juki) card and says which readers fail why: USB/CCID and PC/SC
discovery, card identification, APDU conformance suites, results in SQLite and a
compatibility report. `cardharness doctor` explains why a reader is not there. A virtual
lab of emulated cards behind emulated readers runs through the system's pcscd.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # cardharness_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Libraries from dpkg-shlibdeps (libpcsclite1, libusb-1.0-0, libsqlite3-0, libssl3, …); the
# programs and drivers the harness talks to at run time are named here.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "pcscd, libccid")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pcsc-tools, opensc")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/postinst"
    "${PROJECT_SOURCE_DIR}/packaging/debian/prerm"
    "${PROJECT_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
