// `cardharness doctor [--json] [--lang ja|en]`: why is my reader not there / not working? Gathers
// what the machine shows (backends/host, pcsc, usb; the inventory join) and prints the judgement
// of services/doctor. Exit 0 when nothing blocks a test, 3 when something does.
#include "services/doctor/doctor.hpp"

#include "backends/host/host.hpp"
#include "backends/lab/lab_process.hpp"
#include "backends/usb/usb.hpp"
#include "cli/commands.hpp"
#include "cli/inventory_source.hpp"
#include "cli/lang.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace harness::cli {
namespace {

namespace fs = std::filesystem;

doctor::SocketState socket_state(host::SocketState s) {
    switch (s) {
    case host::SocketState::Missing:
        return doctor::SocketState::Missing;
    case host::SocketState::NotASocket:
        return doctor::SocketState::NotASocket;
    case host::SocketState::Refused:
        return doctor::SocketState::Refused;
    case host::SocketState::Denied:
        return doctor::SocketState::Denied;
    case host::SocketState::Accepts:
        return doctor::SocketState::Accepts;
    case host::SocketState::Failed:
        return doctor::SocketState::Failed;
    }
    return doctor::SocketState::Failed;
}

doctor::PcscdFacts pcscd_facts(std::string& user) {
    doctor::PcscdFacts p;
    p.package_version = host::installed_package_version("pcscd");
    p.executable_found = labd::find_executable("pcscd").has_value();
    for (const auto& process : host::processes_named("pcscd")) {
        if (process.own_mount_namespace) {
            p.private_pids.push_back(process.pid);
            continue;
        }
        p.pids.push_back(process.pid);
        if (!p.uid) {
            p.uid = process.uid;
            p.gid = process.gid;
            p.groups = process.groups;
            user = host::user_name(process.uid);
        }
    }
    const auto socket = host::pcsc_socket();
    p.socket = socket.path.string();
    p.socket_from_env = socket.from_environment;
    const auto probe = host::probe_unix_socket(socket.path);
    p.socket_state = socket_state(probe.state);
    p.socket_error = probe.error;
    p.systemd = host::systemd_running();
    p.socket_unit = host::systemd_unit_state("pcscd.socket");
    return p;
}

doctor::DriverFacts driver_facts() {
    doctor::DriverFacts d;
    d.libccid_version = host::installed_package_version("libccid");
    const auto plist = usb::default_ccid_info_plist_path();
    try {
        usb::load_ccid_driver_list(plist);
        d.reader_list_read = true;
    } catch (const Error& e) {
        d.reader_list_error = e.what();
    }
    return d;
}

doctor::UsbFacts usb_facts(const model::UsbDevice& device) {
    doctor::UsbFacts u;
    u.bus = device.bus;
    u.address = device.address;
    const auto node = host::device_node(host::usb_device_node(device.bus, device.address));
    u.node.path = node.path.string();
    u.node.exists = node.exists;
    u.node.mode = node.mode;
    u.node.uid = node.uid;
    u.node.gid = node.gid;
    u.node.owner = node.owner;
    u.node.group = node.group;
    if (node.exists)
        for (const auto& p : host::processes_holding(node.path))
            if (p.name != "pcscd") // pcscd holding its own reader is how it should be
                u.holders.push_back({p.pid, p.name});
    return u;
}

doctor::Input gather() {
    doctor::Input in;
    in.pcscd = pcscd_facts(in.pcscd_user);
    in.driver = driver_facts();
    std::vector<model::UsbDevice> hardware;
    in.inventory = inventory::join(gather_inventory_sources(&hardware));
    for (const auto& device : hardware)
        in.usb.push_back(usb_facts(device));
    const fs::path profiles = io::paths::profiles_dir();
    in.profiles_dir = profiles.string();
    std::error_code ec;
    in.profiles_found = fs::is_directory(profiles / "suites", ec);
    const fs::path minimums = profiles / "readers" / "ccid_firmware_minimums.csv";
    if (fs::exists(minimums, ec))
        in.firmware_minimums = doctor::load_firmware_minimums(minimums);
    return in;
}

nlohmann::ordered_json to_json(const doctor::Report& report) {
    nlohmann::ordered_json out;
    out["ok"] = report.ok;
    out["findings"] = nlohmann::ordered_json::array();
    for (const auto& f : report.findings)
        out["findings"].push_back({{"code", f.code},
                                   {"severity", to_string(f.severity)},
                                   {"message", f.message},
                                   {"message_ja", f.message_ja},
                                   {"fix", f.fix},
                                   {"fix_ja", f.fix_ja}});
    return out;
}

void print_text(const doctor::Report& report, bool ja) {
    fmt::print("{}\n", ja ? "cardharness doctor: 試験に必要なものの確認"
                          : "cardharness doctor: what a test needs, checked");
    std::size_t errors = 0;
    for (const Severity level : {Severity::Error, Severity::Warning, Severity::Info})
        for (const auto& f : report.findings) {
            if (f.severity != level)
                continue;
            errors += level == Severity::Error ? 1 : 0;
            const char* mark = level == Severity::Error     ? (ja ? "[要対応]" : "[ERROR]")
                               : level == Severity::Warning ? (ja ? "[注意]" : "[WARN]")
                                                            : (ja ? "[OK]" : "[ok]");
            fmt::print("{} {}  ({})\n", mark, ja ? f.message_ja : f.message, f.code);
            const std::string& fix = ja ? f.fix_ja : f.fix;
            if (!fix.empty())
                fmt::print("    {} {}\n", ja ? "対処:" : "fix:", fix);
        }
    if (report.ok)
        fmt::print("{}\n",
                   ja ? "結果: 試験を妨げるものはありません" : "Result: nothing blocks a test");
    else
        fmt::print("{}\n", ja ? fmt::format("結果: {} 件の問題が試験を妨げています", errors)
                              : fmt::format("Result: {} problem{} block{} a test", errors,
                                            errors == 1 ? "" : "s", errors == 1 ? "s" : ""));
}

} // namespace

void add_doctor_command(CLI::App& app, Context& context) {
    struct Options {
        bool json = false;
        std::string lang;
    };
    auto options = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "doctor", "Why is my reader not there / not working? Checks pcscd, the CCID driver, USB "
                  "readers and cards, and says what to do (exit 0: nothing blocks a test, 3: "
                  "something does)");
    cmd->add_flag("--json", options->json,
                  "JSON: {ok, findings: [{code, severity, message, message_ja, fix, fix_ja}]}");
    add_lang_option(cmd, options->lang, "Language of the text output", "en");
    cmd->callback([options, &context] {
        const auto report = doctor::diagnose(gather());
        if (options->json)
            fmt::print("{}\n", to_json(report).dump(2));
        else
            print_text(report, resolve_lang(options->lang, "en") == "ja");
        context.exit_code = report.ok ? exit_code::ok : exit_code::environment;
    });
}

} // namespace harness::cli
