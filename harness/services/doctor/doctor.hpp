#pragma once
// `cardharness doctor`: why is my reader not there / not working? Pure judgement over what the
// machine showed (gathered by the CLI from the backends: host, pcsc, usb, the inventory join);
// every finding says what to do, in English and Japanese. Values in, values out.
#include "model/inventory.hpp"
#include "pure/finding.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace harness::doctor {

struct Finding {
    std::string code;                   // stable snake_case key
    Severity severity = Severity::Info; // Error: something blocks a test
    std::string message;
    std::string message_ja;
    std::string fix; // what to do; empty for plain information
    std::string fix_ja;
};

struct Report {
    bool ok = true; // no Error finding
    std::vector<Finding> findings;
};

// How the pcscd socket answered a connect().
enum class SocketState { Missing, NotASocket, Refused, Denied, Accepts, Failed };

struct PcscdFacts {
    std::optional<std::string> package_version; // the pcscd package (package database)
    bool executable_found = false;              // a pcscd program on this machine
    std::vector<int> pids;                      // running pcscd processes in this mount namespace
    std::vector<int> private_pids;    // pcscd in mount namespaces of their own (labs, tests)
    std::optional<std::uint32_t> uid; // the user the (first) pcscd runs as
    std::optional<std::uint32_t> gid;
    std::vector<std::uint32_t> groups;
    std::string socket;           // the socket this process's PC/SC calls use
    bool socket_from_env = false; // it came from PCSCLITE_CSOCK_NAME
    SocketState socket_state = SocketState::Missing;
    std::string socket_error;
    bool systemd = false;                   // systemd is the init system
    std::optional<std::string> socket_unit; // `systemctl is-active pcscd.socket`
};

struct DriverFacts {
    std::optional<std::string> libccid_version; // the libccid package (package database)
    bool reader_list_read = false;              // its Info.plist was read
    std::string reader_list_error;              // why not, when it was not
};

// A USB device node and who may open it.
struct NodeFacts {
    std::string path; // /dev/bus/usb/BBB/DDD
    bool exists = false;
    std::uint32_t mode = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string owner;
    std::string group;
};

struct Holder {
    int pid = 0;
    std::string name;
};

// One USB device libusb enumerated (never a lab reader's virtual identity) and its node.
struct UsbFacts {
    std::uint8_t bus = 0;
    std::uint8_t address = 0;
    NodeFacts node;
    std::vector<Holder> holders; // processes other than pcscd with the node open
};

// The CCID driver refuses firmware older than this for a VID:PID (libccid's deny-list,
// profiles/readers/ccid_firmware_minimums.csv).
struct FirmwareMinimum {
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::uint16_t min_bcd_device = 0;
    std::string name;
};

struct Input {
    PcscdFacts pcscd;
    DriverFacts driver;
    model::Inventory inventory; // PC/SC readers joined to USB devices (lab readers included)
    std::vector<UsbFacts> usb;  // per libusb device: its node and holders
    std::vector<FirmwareMinimum> firmware_minimums;
    std::string pcscd_user; // name of pcscd's user, for messages
    std::string profiles_dir;
    bool profiles_found = true;
};

Report diagnose(const Input& input);

// "1.02" for bcdDevice 0x0102.
std::string firmware_text(std::uint16_t bcd_device);

// Can a process with this uid/gid/groups open the node for reading and writing (libusb needs
// both)? Root always can.
bool can_open_read_write(const NodeFacts& node, std::uint32_t uid, std::uint32_t gid,
                         const std::vector<std::uint32_t>& groups);

// profiles/readers/ccid_firmware_minimums.csv: header vid,pid,min_bcd_device,name (hex without
// 0x; '#' lines are comments). Throws ConfigError "file:line:column: expected ..." on bad data.
std::vector<FirmwareMinimum> load_firmware_minimums(const std::filesystem::path& path);
std::vector<FirmwareMinimum> parse_firmware_minimums(const std::string& text,
                                                     const std::string& source);

} // namespace harness::doctor
