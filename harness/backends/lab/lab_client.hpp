#pragma once
// The lab as library calls: start (a daemonised lab process, or one that belongs to an owner
// process and ends with it), status, insert, remove, reset, stop. Typed values in and out; the
// `cardharness lab` commands and `run --lab` both go through here (no child process of our own
// binary, no text parsed back).
#include "backends/lab/lab_daemon.hpp"
#include "backends/lab/lab_process.hpp"
#include "services/lab/lab.hpp"
#include "services/lab/reader_model.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace harness::labd {

// One slot as the running lab reports it.
struct SlotInfo {
    lab::SlotStatus status; // slot, PC/SC reader name, model, interface, card, citizen, pins
    lab::UsbIdentity usb;   // the reader model's USB identity
    // A `lab start --usb` slot: pcscd names libccid's reader "<prefix> NN 00" (NN in order of
    // appearance), and what its emulated device reports (usb_device, ccid_status, firmware).
    std::optional<std::string> pcsc_reader_prefix;
    nlohmann::ordered_json device = nlohmann::ordered_json::object();
};

struct LabStatus {
    std::filesystem::path dir;
    std::string pcsc_socket; // for PCSCLITE_CSOCK_NAME
    std::string lab_socket;
    pid_t pid = -1;
    pid_t pcscd_pid = -1; // the private pcscd (-1 with the system pcscd)
    bool system_pcscd = false;
    std::optional<pid_t> owner_pid;
    nlohmann::ordered_json
        extra; // what a LabExtension added to the state (driver, usb_environment)
    std::vector<SlotInfo> slots;
    const SlotInfo* slot_of(const std::string& pcsc_reader) const;
};

struct StartOptions {
    // Stop the lab when this process ends (`run --lab` passes its own pid). The lab watches it
    // with a pidfd taken before start() returns, so a pid reused later cannot be mistaken.
    std::optional<pid_t> owner_pid;
    // Run the lab in the calling process (blocks until it stops) instead of a daemon.
    bool foreground = false;
    // How long start() waits for the lab (the first start may generate the emulators' test PKI).
    std::chrono::seconds ready_timeout{120};
    // Foreground only: called once the lab is ready, with the PCSCLITE_CSOCK_NAME to use.
    std::function<void(const std::string& pcsc_socket)> on_ready;
    // Daemon mode: more file descriptors the lab process keeps (the umockdev preload's).
    std::vector<int> keep_fds;
};

struct StartResult {
    std::string pcsc_socket; // for PCSCLITE_CSOCK_NAME
    std::size_t readers = 0;
    bool cleaned_stale = false;   // a dead lab's leftovers were removed first
    int exit_code = 0;            // foreground only: the lab's exit code once it stopped
    nlohmann::ordered_json extra; // what a LabExtension added to the state (usb_environment)
};

struct StopResult {
    bool was_running = false;   // a live lab was stopped
    bool cleaned_stale = false; // only leftovers of a dead lab were removed
};

class Client {
public:
    // A client of the lab in `dir` (absolute or relative; normalised).
    explicit Client(std::filesystem::path dir);

    const LabFolder& folder() const { return folder_; }

    // Starts the lab described by spec (spec.folder is this client's folder). Refuses
    // (EnvironmentError) when a lab runs there already; cleans up a dead lab's leftovers (state
    // file, sockets, its pcscd, a lab whose owner ended) first. Daemon mode forks: call it before
    // the caller starts threads. Throws EnvironmentError when the lab fails to come up (with its
    // reason), UsageError/ConfigError for a bad spec.
    StartResult start(LabSpec spec, const StartOptions& options = {}) const;

    // The state file of a lab that runs here (nullopt: none, or a dead lab's leftovers).
    std::optional<LabState> running() const;
    // Throws EnvironmentError (exit 3) when no lab runs here.
    LabStatus status() const;
    // Throw UsageError for an unknown slot or card profile, EnvironmentError when no lab runs.
    // `presented`: the interface the card is presented on (nullopt: the slot's, from the lab file).
    void insert(const std::string& slot, const std::optional<std::string>& profile, bool citizen,
                std::optional<lab::Interface> presented = std::nullopt) const;
    void remove(const std::string& slot) const;
    void reset() const;
    // `lab start --usb` only: hot-remove / plug back the USB device that holds a slot.
    void unplug(const std::string& slot) const;
    void plug(const std::string& slot) const;
    // Stops the lab and its pcscd and returns once both have ended. Throws EnvironmentError when
    // no lab (and no leftover) is there.
    StopResult stop() const;
    // Removes what a dead lab left: its pcscd (if it still runs), a lab whose owner ended, the
    // state file and sockets. True when something was cleaned.
    bool clean_stale() const;

private:
    labwire::Reply control(labwire::Op op, const std::string& slot = {}, std::uint32_t arg = 0,
                           Bytes data = {}) const;
    LabFolder folder_;
};

} // namespace harness::labd
