#pragma once
// The environment a run records (model::Environment): the station's host name, the OS, and the
// PC/SC stack's versions as the package database has them (dpkg-query: pcscd and libccid), not
// scraped from a driver's Info.plist or `pcscd --version`.
#include "model/run.hpp"

#include <string>

namespace harness::host {

// Debian packages whose installed versions name the PC/SC stack of a run.
inline constexpr const char* pcsclite_package = "pcscd";
inline constexpr const char* libccid_package = "libccid";

// host: gethostname(); os: /etc/os-release PRETTY_NAME with uname ("Debian GNU/Linux 12
// (bookworm) (Linux 6.1.0 x86_64)"); pcsclite_version / libccid_version: the installed packages'
// versions ("2.0.0-1", "1.5.2-1"), "" when the package is not installed; harness_version as given.
model::Environment run_environment(const std::string& harness_version);

} // namespace harness::host
