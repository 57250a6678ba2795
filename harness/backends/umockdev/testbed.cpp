#include "backends/umockdev/testbed.hpp"

#include "backends/umockdev/glib_umockdev.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace harness::umock {

struct Testbed::Impl {
    UMockdevTestbed* testbed = nullptr;
    std::mutex mutex;
    std::vector<std::unique_ptr<UsbReader>> plugged;
    // Unplugged readers stay alive: a client that still holds the old device node open keeps
    // talking to their handler (and gets ENODEV) until it closes it.
    std::vector<std::unique_ptr<UsbReader>> gone;
};

namespace {

std::string take_string(gchar* text) {
    std::string out = text ? text : "";
    g_free(text);
    return out;
}

std::string error_text(GError* error) {
    std::string out = error && error->message ? error->message : "unknown error";
    if (error)
        g_error_free(error);
    return out;
}

} // namespace

Testbed::Testbed() : impl_(std::make_unique<Impl>()) {
    if (preload_library().empty())
        throw EnvironmentError(
            "umockdev's preload library (libumockdev-preload.so.0) is not installed "
            "(apt-get install umockdev)");
    impl_->testbed = umockdev_testbed_new();
    if (!impl_->testbed)
        throw EnvironmentError("umockdev: could not create a testbed");
    root_ = take_string(umockdev_testbed_get_root_dir(impl_->testbed));
}

Testbed::~Testbed() {
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& reader : impl_->plugged)
            reader->disconnect();
    }
    // The testbed's worker thread ends and its folder is removed with the last reference.
    g_object_unref(impl_->testbed);
    impl_->plugged.clear();
    impl_->gone.clear();
}

std::filesystem::path Testbed::preload_library() {
    for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                            "/usr/lib", "/usr/local/lib"}) {
        const auto candidate = std::filesystem::path(dir) / "libumockdev-preload.so.0";
        std::error_code ec;
        if (std::filesystem::exists(candidate, ec))
            return candidate;
    }
    return {};
}

std::map<std::string, std::string> Testbed::environment() const {
    std::string preload = preload_library().string();
    // Keep what else is preloaded, but name the umockdev preload once (a process re-executed under
    // it already has it in LD_PRELOAD).
    if (const char* existing = std::getenv("LD_PRELOAD"); existing && *existing) {
        std::string rest;
        std::string_view list(existing);
        while (!list.empty()) {
            const auto colon = list.find(':');
            const std::string_view item = list.substr(0, colon);
            if (!item.empty() && item != preload)
                rest += ":" + std::string(item);
            list = colon == std::string_view::npos ? std::string_view() : list.substr(colon + 1);
        }
        preload += rest;
    }
    return {{"LD_PRELOAD", preload}, {"UMOCKDEV_DIR", root_.string()}};
}

UsbReader& Testbed::plug(const usbdesc::Device& description, unsigned address,
                         ReaderFirmware firmware, const std::string& port) {
    if (address < 2 || address > 127)
        throw Error(fmt::format("umockdev: USB address {} outside 2..127", address));
    std::lock_guard lock(impl_->mutex);
    usbdesc::Location location;
    location.bus = 1;
    location.address = address;
    location.port = port;
    auto reader = std::make_unique<UsbReader>(description, location, std::move(firmware));
    GError* error = nullptr;
    if (!umockdev_testbed_attach_ioctl(impl_->testbed, location.device_node().c_str(),
                                       static_cast<UMockdevIoctlBase*>(reader->handler()), &error))
        throw EnvironmentError(fmt::format("umockdev: cannot attach a handler to {}: {}",
                                           location.device_node(), error_text(error)));
    // The device node: a FIFO made before the device appears (see usb_reader.hpp), so no client
    // ever opens umockdev's always-ready regular file.
    const auto node = root_ / location.device_node().substr(1);
    std::filesystem::create_directories(node.parent_path());
    std::filesystem::remove(node);
    if (::mkfifo(node.c_str(), 0666) != 0)
        throw EnvironmentError(fmt::format("umockdev: cannot make the device node {}: {}",
                                           node.string(), std::strerror(errno)));
    const int fifo = ::open(node.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fifo < 0)
        throw EnvironmentError(fmt::format("umockdev: cannot open the device node {}: {}",
                                           node.string(), std::strerror(errno)));
    reader->set_wakeup_fifo(fifo);
    const std::string text =
        usbdesc::umockdev_description(description, location, /*device_node=*/false);
    if (!umockdev_testbed_add_from_string(impl_->testbed, text.c_str(), &error))
        throw EnvironmentError(fmt::format("umockdev: cannot add the device {}: {}",
                                           location.sysfs_path(), error_text(error)));
    // Under the preload, add_from_string() announced the device and its interfaces with "add"
    // uevents (pcscd's libudev hotplug listens for usb_interface devices); without it nobody
    // hears of a device added after pcscd started.
    impl_->plugged.push_back(std::move(reader));
    return *impl_->plugged.back();
}

void Testbed::unplug(UsbReader& reader) {
    std::lock_guard lock(impl_->mutex);
    auto it = std::find_if(impl_->plugged.begin(), impl_->plugged.end(),
                           [&](const auto& r) { return r.get() == &reader; });
    if (it == impl_->plugged.end())
        return;
    const auto& location = reader.location();
    reader.disconnect();
    for (const auto& iface : reader.description().interfaces)
        umockdev_testbed_uevent(impl_->testbed,
                                ("/sys" + location.interface_sysfs_path(iface.info.number)).c_str(),
                                "remove");
    umockdev_testbed_uevent(impl_->testbed, ("/sys" + location.sysfs_path()).c_str(), "remove");
    umockdev_testbed_remove_device(impl_->testbed, ("/sys" + location.sysfs_path()).c_str());
    GError* error = nullptr;
    if (!umockdev_testbed_detach_ioctl(impl_->testbed, location.device_node().c_str(), &error))
        g_clear_error(&error);
    impl_->gone.push_back(std::move(*it));
    impl_->plugged.erase(it);
}

std::vector<UsbReader*> Testbed::readers() {
    std::lock_guard lock(impl_->mutex);
    std::vector<UsbReader*> out;
    for (auto& r : impl_->plugged)
        out.push_back(r.get());
    return out;
}

} // namespace harness::umock

namespace harness::umock {

bool Testbed::in_mock_environment() {
    return umockdev_in_mock_environment() != 0;
}

} // namespace harness::umock
