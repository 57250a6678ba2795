#pragma once
// Processes of the virtual lab: the daemonised lab process and its private pcscd, started in a
// mount namespace of its own (domain.md §11). Linux only; root needed for the namespace.
// Waiting is on events (pidfd), never on a sleeping loop.
#include <chrono>
#include <cstdint>
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
    bool hide_usb_drivers = true;   // empty tmpfs over each /usr/lib/pcsc/drivers/*.bundle: no USB
                                    // hotplug readers (serial drivers stay)
    bool info = false;              // [survey hook] pcscd -i: info level (hotplug events)
    // [usblab hook] `lab start --usb`: bind mounts made in pcscd's namespace after /run/pcscd, in
    // order (source, target; recursive), and variables added to its environment (the umockdev
    // preload). Empty for the default lab.
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> bind_mounts;
    std::vector<std::pair<std::string, std::string>> environment;
};

// fork, unshare(CLONE_NEWNS), make every mount private, bind run_dir over /run/pcscd, hide the
// USB drivers, exec pcscd -f -c conf_dir. pcscd gets SIGTERM when the calling thread ends
// (PR_SET_PDEATHSIG: a lab process killed with SIGKILL takes its pcscd along), with default
// signal dispositions and no blocked signals. Returns the child's pid; throws EnvironmentError.
pid_t spawn_private_pcscd(const PcscdOptions& options);

// The socket a private pcscd serves, for PCSCLITE_CSOCK_NAME.
inline std::filesystem::path pcscd_socket(const std::filesystem::path& run_dir) {
    return run_dir / "pcscd.comm";
}

// Double fork + setsid; umask 077; stdin from /dev/null, stdout/stderr appended to log (0600);
// every other file descriptor closed except `keep`. Returns true in the daemon and false in the
// calling process (which the daemon is no child of). Fork only from a process without other
// threads (the daemon inherits the calling thread alone).
bool become_daemon(const std::filesystem::path& log, const std::vector<int>& keep = {});

// A process identity that survives PID reuse: the pid and its start time (clock ticks after
// boot, /proc/PID/stat field 22). start 0 means "unknown": the pid alone is compared.
struct ProcessId {
    pid_t pid = -1;
    std::uint64_t start = 0;
};
std::optional<std::uint64_t> process_start_time(pid_t pid);
ProcessId process_id(pid_t pid); // {pid, its start time or 0}
// Running (a zombie counts as gone; a zombie child of ours is reaped).
bool process_alive(pid_t pid);
// Running and the same process (its start time matches when known).
bool is_running(const ProcessId& id);
// The process's short name (/proc/PID/comm), empty when it is gone.
std::string process_name(pid_t pid);

// pidfd_open(): a descriptor that becomes readable when the process ends (also when it is not
// our child). -1 when the process does not exist.
int open_pidfd(pid_t pid);
// Waits until the process behind pidfd ends. True when it did within timeout.
bool wait_pidfd(int pidfd, std::chrono::milliseconds timeout);

// SIGTERM, then SIGKILL after grace; waits on a pidfd (no polling) and reaps the process if it
// is our child. True when gone.
bool terminate(pid_t pid, std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

std::optional<std::filesystem::path> find_executable(const std::string& name);
bool unshare_permitted(); // a throw-away child tries unshare(CLONE_NEWNS)

// Creates `dir` (parents as needed) and makes it a private folder of ours: a real directory
// (not a symlink) owned by the effective user, mode 0700. Throws EnvironmentError when it is a
// symlink, not a directory, or owned by another user (who could then reach the lab's cards).
void make_private_dir(const std::filesystem::path& dir);

// Runs argv (no shell) with its output appended to log, default signal dispositions and no
// blocked signals; returns its exit status (-1 when it could not run or was killed).
int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log);

} // namespace harness::labd
