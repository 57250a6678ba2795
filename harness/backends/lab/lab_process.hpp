#pragma once
// Processes of the virtual lab: the daemonised lab process and its private pcscd, started in a
// mount namespace of its own (domain.md §11). Linux only; root needed for the namespace.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace harness::labd {

struct PcscdOptions {
    std::filesystem::path pcscd = "/usr/sbin/pcscd";
    std::filesystem::path conf_dir; // replaces /etc/reader.conf.d (pcscd -c)
    std::filesystem::path run_dir;  // bind-mounted over /run/pcscd: holds pcscd.comm
    std::filesystem::path log;      // pcscd -f output
    bool debug = false;             // pcscd -d (never -a: APDUs may carry PINs)
    bool info = false;              // [survey hook] pcscd -i: info level (hotplug events)
    bool hide_usb_drivers = true; // empty tmpfs over /usr/lib/pcsc/drivers: no USB hotplug readers
    // [usblab hook] `lab start --usb`: bind mounts made in pcscd's namespace after /run/pcscd, in
    // order (source, target; recursive), and variables added to its environment (the umockdev
    // preload). Empty for the default lab.
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> bind_mounts;
    std::vector<std::pair<std::string, std::string>> environment;
};

// fork, unshare(CLONE_NEWNS), make every mount private, bind run_dir over /run/pcscd, hide the
// USB drivers, exec pcscd -f -c conf_dir. Returns the child's pid; throws EnvironmentError.
pid_t spawn_private_pcscd(const PcscdOptions& options);

// The socket a private pcscd serves, for PCSCLITE_CSOCK_NAME.
inline std::filesystem::path pcscd_socket(const std::filesystem::path& run_dir) {
    return run_dir / "pcscd.comm";
}

// Double fork + setsid; stdin from /dev/null, stdout/stderr appended to log. Returns true in
// the daemon and false in the calling process (which the daemon is no child of).
bool become_daemon(const std::filesystem::path& log);

bool process_alive(pid_t pid);
// SIGTERM, then SIGKILL after grace; reaps the process if it is our child. True when gone.
bool terminate(pid_t pid, std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
std::optional<std::filesystem::path> find_executable(const std::string& name);
bool unshare_permitted(); // a throw-away child tries unshare(CLONE_NEWNS)

} // namespace harness::labd
