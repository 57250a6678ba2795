// The run environment comes from the package database (dpkg-query), not from scraped files: the
// versions it records are exactly what dpkg-query says about pcscd and libccid on this machine.
#include "backends/host/environment.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace {

// What dpkg-query itself says ("" when the package is not installed or there is no dpkg).
std::string dpkg_version(const std::string& package) {
    const std::string command =
        "dpkg-query -W -f='${db:Status-Abbrev}|${Version}' " + package + " 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return {};
    std::string out;
    char buffer[256];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
        out.append(buffer, n);
    ::pclose(pipe);
    const auto bar = out.find('|');
    if (bar == std::string::npos || out.substr(0, 2) != "ii")
        return {};
    return out.substr(bar + 1);
}

} // namespace

BOOST_AUTO_TEST_CASE(versions_are_the_installed_packages) {
    const auto env = harness::host::run_environment("9.8.7-test");
    BOOST_TEST(env.harness_version == "9.8.7-test");
    BOOST_TEST(env.pcsclite_version == dpkg_version("pcscd"));
    BOOST_TEST(env.libccid_version == dpkg_version("libccid"));
    // On the Debian machines this project builds on, both are installed (dev.sh installs them).
    if (!dpkg_version("libccid").empty())
        BOOST_TEST(env.libccid_version.find('.') != std::string::npos);
}

BOOST_AUTO_TEST_CASE(host_and_os_are_recorded) {
    const auto env = harness::host::run_environment("x");
    char host[256] = {};
    BOOST_REQUIRE(::gethostname(host, sizeof host - 1) == 0);
    BOOST_TEST(env.host == host);
    BOOST_TEST(!env.os.empty());
    BOOST_TEST(env.os.find("Linux") != std::string::npos);
}
