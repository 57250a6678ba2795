#include "cli/lab_ccid.hpp"

#include "backends/pcsc/context.hpp"
#include "backends/umockdev/testbed.hpp"
#include "backends/umockdev/usb_lab.hpp"
#include "pure/error.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <sys/prctl.h>
#include <unistd.h>

namespace harness::cli::labccid {
namespace fs = std::filesystem;

struct UsbRuntime::Impl {
    lab::Lab& lab;
    umock::Testbed testbed;
    std::unique_ptr<umock::UsbLab> usb;
    umock::DriverBundle bundle;
    explicit Impl(lab::Lab& l) : lab(l) {}
};

UsbRuntime::UsbRuntime(lab::Lab& lab, const fs::path& lab_dir, lab::Logger log)
    : impl_(std::make_unique<Impl>(lab)) {
    impl_->usb = std::make_unique<umock::UsbLab>(lab, impl_->testbed, log);
    std::vector<const lab::ReaderModel*> models;
    for (const auto& slot : lab.slot_ids())
        models.push_back(&lab.model_of(slot));
    std::error_code ec;
    fs::remove_all(lab_dir / "usb-drivers", ec);
    impl_->bundle = umock::write_driver_bundle(lab_dir / "usb-drivers", models);
    impl_->usb->use_names(impl_->bundle);
    if (log) {
        log(fmt::format("USB lab: testbed {}, system libccid {}", impl_->testbed.root().string(),
                        impl_->bundle.system_library.string()));
        for (const auto& r : impl_->bundle.added)
            log(fmt::format("USB lab: the private Info.plist adds {:04X}:{:04X} \"{}\"", r.vid,
                            r.pid, r.name));
    }
}

UsbRuntime::~UsbRuntime() {
    impl_->lab.attach_devices(nullptr);
}

void UsbRuntime::configure(labd::PcscdOptions& options) const {
    // umockdev's preload ends every forwarded ioctl with usleep(0), which sleeps for the thread's
    // timer slack (50 µs by default; measured here: usleep(0) 75 µs, 35 µs with 1 ns), 6 ioctls per
    // APDU. pcscd inherits this thread's slack (fork keeps it, exec too): ~0.25 ms less per APDU.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    options.hide_usb_drivers = false; // replaced by the private bundle
    options.bind_mounts = impl_->bundle.mounts();
    for (const auto& [name, value] : impl_->testbed.environment())
        options.environment.emplace_back(name, value);
}

void UsbRuntime::plug_all() {
    impl_->lab.attach_devices(impl_->usb.get());
    impl_->usb->plug_all();
}

bool UsbRuntime::ready() const {
    return impl_->usb->all_claimed();
}

std::vector<std::string> UsbRuntime::unclaimed() const {
    return impl_->usb->unclaimed();
}

std::string UsbRuntime::not_ready() const {
    return fmt::format("libccid did not open the USB readers of slots {}",
                       fmt::join(unclaimed(), ", "));
}

std::string UsbRuntime::reader_conf() const {
    return "# `cardharness lab start --usb`: the readers are USB devices (libccid hotplug)\n";
}

labd::ExtensionFactory usb_extension() {
    return [](lab::Lab& lab, const fs::path& lab_dir,
              lab::Logger log) -> std::unique_ptr<labd::LabExtension> {
        auto runtime = std::make_unique<UsbRuntime>(lab, lab_dir, std::move(log));
        runtime->plug_all();
        return runtime;
    };
}

nlohmann::ordered_json UsbRuntime::state() const {
    nlohmann::ordered_json env = nlohmann::ordered_json::object();
    for (const auto& [name, value] : impl_->testbed.environment())
        env[name] = value;
    nlohmann::ordered_json added = nlohmann::ordered_json::array();
    for (const auto& r : impl_->bundle.added)
        added.push_back(fmt::format("{:04X}:{:04X}", r.vid, r.pid));
    return {{"driver", "ccid"},
            {"driver_name", "libccid " + impl_->bundle.version},
            {"usb_environment", env},
            {"driver_bundle", impl_->bundle.drivers_dir.string()},
            {"driver_bundle_added", added},
            {"libccid", impl_->bundle.system_library.string()}};
}

std::vector<std::pair<std::string, std::string>>
usb_environment(const nlohmann::ordered_json& state) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!state.contains("usb_environment"))
        return out;
    for (const auto& [name, value] : state["usb_environment"].items())
        out.emplace_back(name, value.get<std::string>());
    return out;
}

void resolve_reader_names(std::vector<labd::SlotInfo>& slots, const std::string& pcsc_socket) {
    std::vector<std::string> readers;
    try {
        // libpcsclite honours the variable by itself; this process talks to the lab's pcscd.
        ::setenv("PCSCLITE_CSOCK_NAME", pcsc_socket.c_str(), 1);
        pcsc::Context context;
        readers = context.list_readers();
    } catch (const std::exception&) {
        // pcscd not reachable: every name stays unknown
    }
    for (auto& slot : slots) {
        if (!slot.pcsc_reader_prefix)
            continue;
        const std::string prefix = *slot.pcsc_reader_prefix + " ";
        std::string name;
        for (const auto& r : readers)
            if (r.rfind(prefix, 0) == 0)
                name = r;
        slot.status.pcsc_reader = name;
    }
}

} // namespace harness::cli::labccid

namespace harness::cli::labccid {

static std::vector<int>& preload_fd_list() {
    static std::vector<int> fds;
    return fds;
}

void reexec_under_preload() {
    const std::string preload = umock::Testbed::preload_library().string();
    const char* current = std::getenv("LD_PRELOAD");
    if (preload.empty() || (current && std::string(current).find(preload) != std::string::npos)) {
        // Already preloaded: what is open now beyond stdio is the preload's own (a daemonised
        // lab keeps it, or umockdev's uevents stop reaching pcscd).
        auto& fds = preload_fd_list();
        fds.clear();
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
            int fd = -1;
            const std::string name = entry.path().filename().string();
            if (std::from_chars(name.data(), name.data() + name.size(), fd).ec == std::errc{} &&
                fd > 2)
                fds.push_back(fd);
        }
        return;
    }
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string arg; std::getline(in, arg, '\0');)
        args.push_back(arg);
    if (args.empty())
        throw EnvironmentError("lab start --usb: cannot read /proc/self/cmdline");
    const std::string value = current && *current ? preload + ":" + current : preload;
    ::setenv("LD_PRELOAD", value.c_str(), 1);
    ::unsetenv("UMOCKDEV_DIR"); // the preload stays inactive until our testbed exists
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);
    ::execv("/proc/self/exe", argv.data());
    throw EnvironmentError(fmt::format("lab start --usb: cannot re-execute under the umockdev "
                                       "preload: {}",
                                       std::strerror(errno)));
}

std::vector<int> preload_fds() {
    return preload_fd_list();
}

} // namespace harness::cli::labccid
