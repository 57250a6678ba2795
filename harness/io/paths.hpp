#pragma once
// Where cardharness finds its data and writes its state: the one place that decides it.
//
// Read-only data (profiles: cards, readers, suites, labs):
//   $CARDHARNESS_PROFILES_DIR, else the source tree's profiles/ when the binary runs from a
//   checkout's build tree, else the installed <prefix>/share/cardharness/profiles.
// Writable data (the default results database, lab state, test PKI cache):
//   from a checkout: <source tree>/results; installed: /var/lib/cardharness as root, else
//   $XDG_DATA_HOME/cardharness (~/.local/share/cardharness).
// Station state (station key, remembered failed PINs; never inside results/):
//   $CARDHARNESS_STATE_DIR, else /var/lib/cardharness/state as root, else
//   $XDG_STATE_HOME/cardharness (~/.local/state/cardharness).
#include <filesystem>

namespace harness::io::paths {

// True when this executable lives below the source tree it was built from (a developer's
// checkout or CI), false when it is installed.
bool running_from_checkout();

std::filesystem::path profiles_dir();
std::filesystem::path data_dir();
std::filesystem::path state_dir();

// data_dir()/harness.db
std::filesystem::path default_database();
// $CARDHARNESS_LAB_DIR, else data_dir()/lab
std::filesystem::path default_lab_dir();
// $CARDHARNESS_PKI_DIR, else data_dir()/pki
std::filesystem::path default_pki_dir();
// Installed helper binaries and the lab's reader driver: <prefix>/lib/cardharness.
std::filesystem::path install_lib_dir();

// Creates `dir` (and parents) owner-only (0700) when missing; returns it.
std::filesystem::path ensure_private_dir(const std::filesystem::path& dir);

} // namespace harness::io::paths
