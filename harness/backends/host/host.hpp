#pragma once
// What the machine shows about the PC/SC stack, for `doctor`: installed packages (the package
// database, through dpkg-query), processes (/proc), Unix sockets (connect), systemd units
// (systemctl), device nodes and who holds them open. Probes only: they read, never change, and
// never throw for an answer that is "no" (a missing package, socket or node is a value).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::host {

// The installed version of a Debian package ("1.5.2-1"), from dpkg-query; nullopt when it is not
// installed or there is no package database.
std::optional<std::string> installed_package_version(const std::string& package);

struct Process {
    int pid = 0;
    std::string name; // /proc/PID/comm
    std::string exe;  // /proc/PID/exe target ("" when unreadable)
    std::vector<std::string> args;
    std::uint32_t uid = 0; // effective
    std::uint32_t gid = 0; // effective
    std::vector<std::uint32_t> groups;
    bool own_mount_namespace = false; // runs in another mount namespace than this process (a
                                      // lab's or a test's private pcscd)
};

// Every process whose name (comm) is `name`, by pid.
std::vector<Process> processes_named(std::string_view name);

// The pcscd socket this process's PC/SC calls use: $PCSCLITE_CSOCK_NAME, else pcsc-lite's
// default /run/pcscd/pcscd.comm. `from_environment` says which.
struct PcscSocket {
    std::filesystem::path path;
    bool from_environment = false;
};
PcscSocket pcsc_socket();

enum class SocketState {
    Missing,    // no such file
    NotASocket, // a file that is not a socket
    Refused,    // a socket nobody listens on (a stale one)
    Denied,     // no permission to connect
    Accepts,    // connect() succeeded
    Failed,     // another error (see SocketProbe::error)
};
const char* to_string(SocketState state);

struct SocketProbe {
    SocketState state = SocketState::Missing;
    std::string error; // strerror text for Refused / Denied / Failed
};
// Connects to a Unix stream socket and closes it again.
SocketProbe probe_unix_socket(const std::filesystem::path& path);

// True when systemd is the init system (/run/systemd/system exists).
bool systemd_running();
// `systemctl is-active UNIT` ("active", "inactive", "failed", …); nullopt without systemd.
std::optional<std::string> systemd_unit_state(const std::string& unit);

struct DeviceNode {
    std::filesystem::path path;
    bool exists = false;
    std::uint32_t mode = 0; // permission bits
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string owner; // user and group names (or numbers)
    std::string group;
};
// stat() of a device node.
DeviceNode device_node(const std::filesystem::path& path);
// /dev/bus/usb/BBB/DDD of a USB device.
std::filesystem::path usb_device_node(std::uint8_t bus, std::uint8_t address);

// Processes (other than this one) with `path` open, from /proc/*/fd.
std::vector<Process> processes_holding(const std::filesystem::path& path);

// A user's name ("root", "pcscd") or its number.
std::string user_name(std::uint32_t uid);

} // namespace harness::host
