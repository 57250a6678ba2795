#pragma once
// Where cardharness finds its data and writes its state: the one place that decides it.
//
// Layout: "checkout" when this executable lives below the source tree or the build tree it was
//   built from (a developer's clone, CI), "installed" otherwise (the Debian package: /usr/bin).
//   $CARDHARNESS_LAYOUT=checkout|installed overrides that (the man page is generated at build
//   time as the installed binary would print its help; tests of the installed layout).
// Installed files (relocatable): <prefix> is the folder above the bin/ that holds this
//   executable when <prefix>/share/cardharness exists, else the configured CMAKE_INSTALL_PREFIX.
// Read-only data (profiles: cards, readers, suites, labs):
//   $CARDHARNESS_PROFILES_DIR, else the source tree's profiles/ from a checkout, else the
//   installed <prefix>/share/cardharness/profiles.
// Writable data (the default results database, lab state, test PKI cache):
//   from a checkout: <source tree>/results; installed: /var/lib/cardharness as root, else
//   $XDG_DATA_HOME/cardharness (~/.local/share/cardharness).
// Station state (station key, remembered failed PINs; never inside results/):
//   $CARDHARNESS_STATE_DIR, else /var/lib/cardharness/state as root, else
//   $XDG_STATE_HOME/cardharness (~/.local/state/cardharness).
#include <filesystem>

namespace harness::io::paths {

// True when this executable lives below the source or build tree it was built from (a
// developer's checkout or CI), false when it is installed; $CARDHARNESS_LAYOUT overrides.
bool running_from_checkout();

// The installation prefix (see above): /usr for the Debian package.
std::filesystem::path install_prefix();

std::filesystem::path profiles_dir();
std::filesystem::path data_dir();
std::filesystem::path state_dir();

// data_dir()/harness.db
std::filesystem::path default_database();
// $CARDHARNESS_LAB_DIR, else data_dir()/lab
std::filesystem::path default_lab_dir();
// $CARDHARNESS_PKI_DIR, else data_dir()/pki
std::filesystem::path default_pki_dir();
// Installed helper binaries and the lab's reader driver: <prefix>/lib/cardharness (never the
// system pcscd's driver folder: the system pcscd must not load the lab's driver by itself).
std::filesystem::path install_lib_dir();
// The lab's pcsc-lite reader driver: $CARDHARNESS_IFD_DRIVER, else from a checkout the build
// tree's lib/libifdcardharness.so (next to bin/ and tools/), else install_lib_dir()'s.
std::filesystem::path lab_driver();

// Creates `dir` (and parents) owner-only (0700) when missing; returns it.
std::filesystem::path ensure_private_dir(const std::filesystem::path& dir);

} // namespace harness::io::paths
