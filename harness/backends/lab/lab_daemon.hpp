#pragma once
// The lab process: a services/lab Lab served on the lab socket, and the pcscd that loads one
// reader per slot through our driver. It waits on events only (a signalfd, an eventfd woken by
// the socket server, pidfds of pcscd and of an owner process, inotify for pcscd's socket):
// nothing sleeps on a clock, so start-up and stop cost what pcscd costs.
#include "backends/lab/lab_process.hpp"
#include "services/lab/lab.hpp"
#include "services/lab/lab_config.hpp"
#include "services/lab/reader_model.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace harness::labd {

// The files of a lab folder (owner-only, 0700): the one place that names them.
struct LabFolder {
    std::filesystem::path dir;
    std::filesystem::path socket() const { return dir / "lab.sock"; } // the lab wire socket
    std::filesystem::path state() const { return dir / "state.json"; }
    std::filesystem::path log() const { return dir / "lab.log"; }
    std::filesystem::path pcscd_log() const { return dir / "pcscd.log"; }
    std::filesystem::path conf_dir() const { return dir / "reader.conf.d"; }
    std::filesystem::path run_dir() const { return dir / "run"; } // pcscd's /run/pcscd
};

// The system pcscd's reader.conf entry when the lab uses it (--system-pcscd).
inline const char* system_reader_conf = "/etc/reader.conf.d/cardharness-lab.conf";
// The system pcscd's socket is open to every local user (pcscd makes it 0666): a lab that serves
// it holds no citizen card, neither from the lab file nor inserted later.
inline const char* citizen_needs_private_pcscd =
    "a citizen card needs the lab's private pcscd: the system pcscd (--system-pcscd) lets every "
    "local user send commands to its cards";

// state.json, written by the lab process (atomically, 0600) and read by the client.
struct LabState {
    pid_t pid = -1; // the lab process
    std::uint64_t pid_start = 0;
    pid_t pcscd_pid = -1; // -1 with the system pcscd
    std::uint64_t pcscd_start = 0;
    bool system_pcscd = false;
    std::string socket;     // pcscd's socket: PCSCLITE_CSOCK_NAME
    std::string lab_socket; // the lab wire socket
    bool ready = false;
    std::optional<pid_t> owner_pid; // the lab stops when this process ends
    std::uint64_t owner_start = 0;
    // Fields a LabExtension added (`lab start --usb`: driver, driver_name, usb_environment, ...).
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};
// nullopt when the file is missing or not a lab state.
std::optional<LabState> read_state(const std::filesystem::path& file);
void write_state(const std::filesystem::path& file, const LabState& state);

// More that the lab process runs beside the Lab: `lab start --usb` serves the readers as emulated
// USB CCID devices to the system's CCID driver instead of our reader driver. Made in the lab
// process once the Lab exists (its devices already plugged), and lives as long as the lab.
class LabExtension {
public:
    virtual ~LabExtension() = default;
    // pcscd's reader.conf, instead of one reader per slot on our driver.
    virtual std::string reader_conf() const = 0;
    // How the private pcscd runs (preload, mounts, environment).
    virtual void configure(PcscdOptions& options) const = 0;
    // Start-up is over once pcscd accepts connections and this holds. Polled: the extension's
    // devices do not ring the lab socket.
    virtual bool ready() const = 0;
    // Why it is not ready, for the start-up timeout's message.
    virtual std::string not_ready() const = 0;
    // Fields added to state.json.
    virtual nlohmann::ordered_json state() const = 0;
};
using ExtensionFactory = std::function<std::unique_ptr<LabExtension>(
    lab::Lab& lab, const std::filesystem::path& lab_dir, lab::Logger log)>;

// Everything the lab process needs, as values.
struct LabSpec {
    LabFolder folder;
    std::vector<lab::ReaderModel> models;
    std::vector<lab::SlotConfig> slots;
    lab::CardFactory factory; // services/emu, wired by the caller
    lab::PinProbe probe;
    std::filesystem::path driver; // libifdcardharness.so
    std::filesystem::path pcscd;  // the pcscd executable
    bool system_pcscd = false;    // register with the system pcscd instead of a private one
    bool pcscd_debug = false;     // pcscd -d
    // More reader.conf files for the private pcscd (e.g. a vpcd reader to compare the lab's
    // readers with, in the same pcscd). Not with the system pcscd.
    std::vector<std::filesystem::path> extra_reader_confs;
    std::chrono::seconds start_timeout{60};
    // Empty: the readers are ours (reader.conf on libifdcardharness.so).
    ExtensionFactory extension;
};

struct LabHooks {
    // Called once: with "" when pcscd lists every lab reader, else with why start-up failed.
    std::function<void(const std::string& error)> on_ready;
    // The process the lab belongs to, and a pidfd of it (pidfd_open, taken while it was known
    // to run): the lab stops when it ends. Recorded in the state file.
    std::optional<ProcessId> owner;
    int owner_pidfd = -1;
};

// The reader.conf that gives pcscd one reader per slot on our driver.
std::string reader_conf(const lab::Lab& lab, const std::filesystem::path& lab_socket,
                        const std::filesystem::path& driver);

// Runs the lab in the calling process until a Stop request, SIGTERM/SIGINT, the end of pcscd or
// the end of the owner; then stops pcscd and removes the state file. Logs to stderr. Returns
// the exit code (0 stopped, 1 failed). Call from the main thread (pcscd's death signal follows
// the thread that started it) before other threads exist (SIGTERM/SIGINT are blocked for a
// signalfd).
int run_lab(const LabSpec& spec, const LabHooks& hooks);

} // namespace harness::labd
