# Every dependency comes from Debian; a missing one is named with the package that provides it.
include(FindPackageMessage)

macro(cardharness_require found what package)
    if(NOT ${found})
        message(FATAL_ERROR
            "cardharness: ${what} was not found. Install it with: apt-get install ${package}\n"
            "(or run ./dev.sh setup, which installs everything the build needs)")
    endif()
endmacro()

find_package(PkgConfig QUIET)
cardharness_require(PkgConfig_FOUND "pkg-config" "pkg-config")

pkg_check_modules(PCSCLITE QUIET IMPORTED_TARGET libpcsclite)
cardharness_require(PCSCLITE_FOUND "pcsc-lite (libpcsclite)" "libpcsclite-dev")
pkg_check_modules(LIBUSB QUIET IMPORTED_TARGET libusb-1.0)
cardharness_require(LIBUSB_FOUND "libusb-1.0" "libusb-1.0-0-dev")
pkg_check_modules(LIBPQXX QUIET IMPORTED_TARGET libpqxx libpq)
cardharness_require(LIBPQXX_FOUND "libpqxx (and libpq)" "libpqxx-dev")
pkg_check_modules(UMOCKDEV QUIET IMPORTED_TARGET umockdev-1.0)
cardharness_require(UMOCKDEV_FOUND "umockdev (umockdev-1.0)" "libumockdev-dev")
pkg_check_modules(SQLITE3 QUIET IMPORTED_TARGET sqlite3)
cardharness_require(SQLITE3_FOUND "SQLite 3" "libsqlite3-dev")

find_package(SQLiteCpp QUIET CONFIG)
cardharness_require(SQLiteCpp_FOUND "SQLiteCpp" "libsqlitecpp-dev")
find_package(OpenSSL QUIET)
cardharness_require(OPENSSL_FOUND "OpenSSL" "libssl-dev")
find_package(CLI11 QUIET CONFIG)
cardharness_require(CLI11_FOUND "CLI11" "libcli11-dev")
find_package(fmt QUIET CONFIG)
cardharness_require(fmt_FOUND "fmt" "libfmt-dev")
find_package(nlohmann_json QUIET CONFIG)
cardharness_require(nlohmann_json_FOUND "nlohmann-json" "nlohmann-json3-dev")
find_package(Threads REQUIRED)

find_path(FCCP_INCLUDE_DIR libfccp/csv.h)
cardharness_require(FCCP_INCLUDE_DIR "fast-cpp-csv-parser (libfccp/csv.h)" "libfccp-dev")
add_library(fccp INTERFACE)
target_include_directories(fccp SYSTEM INTERFACE "${FCCP_INCLUDE_DIR}")
target_link_libraries(fccp INTERFACE Threads::Threads)
# csv.h strncpy()s a file name into a fixed buffer; GCC -O2 warns inside the inlined header code.
target_compile_options(fccp INTERFACE $<$<CXX_COMPILER_ID:GNU>:-Wno-stringop-truncation>)

if(CARDHARNESS_TESTS)
    find_package(Boost 1.74 QUIET COMPONENTS unit_test_framework)
    cardharness_require(Boost_FOUND "Boost.Test" "libboost-test-dev")
endif()
