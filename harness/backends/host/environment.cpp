#include "backends/host/environment.hpp"

#include "backends/host/host.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <fstream>
#include <sys/utsname.h>
#include <unistd.h>

namespace harness::host {

model::Environment run_environment(const std::string& harness_version) {
    model::Environment env;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0)
        env.host = host;
    utsname u{};
    if (::uname(&u) == 0)
        env.os = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
    if (std::ifstream os_release("/etc/os-release"); os_release) {
        std::string line;
        while (std::getline(os_release, line))
            if (line.rfind("PRETTY_NAME=", 0) == 0) {
                std::string name = line.substr(12);
                name.erase(std::remove(name.begin(), name.end(), '"'), name.end());
                env.os = name + " (" + env.os + ")";
            }
    }
    env.pcsclite_version = installed_package_version(pcsclite_package).value_or("");
    env.libccid_version = installed_package_version(libccid_package).value_or("");
    env.harness_version = harness_version;
    return env;
}

} // namespace harness::host
