#pragma once
// What `lab start` and `run --lab` hand to labd::Client::start: the lab file and reader models
// loaded and checked, the emulators wired in as the card factory, pcscd and the driver found.
#include "backends/lab/lab_client.hpp"

#include <string>
#include <vector>

namespace harness::cli {

struct LabSpecRequest {
    std::string dir;      // empty: io::paths::default_lab_dir()
    std::string lab_file; // empty: profiles/labs/default.csv
    std::string driver;   // empty: $CARDHARNESS_IFD_DRIVER, next to the binary, or installed
    bool system_pcscd = false;
    bool pcscd_debug = false;
    std::vector<std::string> extra_reader_confs; // more readers for the private pcscd
    bool usb = false; // the readers as emulated USB devices for the system's libccid (lab_ccid)
};

// The lab folder a command works on (--dir, else $CARDHARNESS_LAB_DIR or the default).
labd::Client lab_client(const std::string& dir);

// Throws ConfigError (file:line:column) / UsageError for a bad lab file or card profile, and
// EnvironmentError (exit 3) without root, unshare, pcscd or the driver.
labd::LabSpec make_lab_spec(const LabSpecRequest& request);

// A lab started for this process (what `run --lab` needs): it belongs to this process, so it
// stops with it also on kill -9 (the lab watches our pid), and it is stopped when this object is
// destroyed. Construct it before starting threads (the lab process is forked). Throws as
// make_lab_spec and labd::Client::start do (a lab already running in the folder: exit 3).
class OwnedLab {
public:
    explicit OwnedLab(const LabSpecRequest& request);
    ~OwnedLab() { stop(); }
    OwnedLab(const OwnedLab&) = delete;
    OwnedLab& operator=(const OwnedLab&) = delete;

    const labd::Client& client() const { return client_; }
    // For PCSCLITE_CSOCK_NAME (the caller exports it; libpcsclite reads it once per process).
    const std::string& pcsc_socket() const { return pcsc_socket_; }
    void stop() noexcept;

private:
    labd::Client client_;
    std::string pcsc_socket_;
    bool running_ = false;
};

} // namespace harness::cli
