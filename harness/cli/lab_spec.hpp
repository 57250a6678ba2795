#pragma once
// What `lab start` and `run --lab` hand to labd::Client::start: the lab file and reader models
// loaded and checked, the emulators wired in as the card factory, pcscd and the driver found.
#include "backends/lab/lab_client.hpp"

#include <string>

namespace harness::cli {

struct LabSpecRequest {
    std::string dir;      // empty: io::paths::default_lab_dir()
    std::string lab_file; // empty: profiles/labs/default.csv
    std::string driver;   // empty: $CARDHARNESS_IFD_DRIVER, next to the binary, or installed
    bool system_pcscd = false;
    bool pcscd_debug = false;
};

// The lab folder a command works on (--dir, else $CARDHARNESS_LAB_DIR or the default).
labd::Client lab_client(const std::string& dir);

// Throws ConfigError (file:line:column) / UsageError for a bad lab file or card profile, and
// EnvironmentError (exit 3) without root, unshare, pcscd or the driver.
labd::LabSpec make_lab_spec(const LabSpecRequest& request);

} // namespace harness::cli
