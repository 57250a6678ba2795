#pragma once
// The lab's umockdev testbed (domain.md §13): a private sysfs + /dev tree in which emulated USB
// CCID readers live. Processes started with environment() (the umockdev preload and
// UMOCKDEV_DIR) see exactly these devices through libudev and libusb, and their usbdevfs ioctls
// reach each device's handler in this process. The only includer of umockdev.h is this folder.
#include "backends/umockdev/usb_reader.hpp"

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace harness::umock {

class Testbed {
public:
    // Creates the testbed (a temporary folder); throws EnvironmentError when umockdev is unusable.
    // Hotplug (uevents after pcscd started) needs this process under the umockdev preload
    // (in_mock_environment()): umockdev sends uevents through the preloaded libudev.
    Testbed();
    ~Testbed();
    Testbed(const Testbed&) = delete;
    Testbed& operator=(const Testbed&) = delete;

    // UMOCKDEV_DIR of the testbed.
    const std::filesystem::path& root() const { return root_; }
    // LD_PRELOAD (the umockdev preload library, before any preload already set) and UMOCKDEV_DIR.
    std::map<std::string, std::string> environment() const;
    // The umockdev preload library this machine has (libumockdev-preload.so.0), or empty.
    static std::filesystem::path preload_library();
    // This process runs under the preload (umockdev_in_mock_environment()).
    static bool in_mock_environment();

    // Plugs a reader in: attaches its ioctl handler at its device node, adds its sysfs device and
    // interfaces, and announces them with "add" uevents (pcscd's libudev hotplug sees them).
    // `address` is the USB device address on bus 1 (2..127); the reader's firmware stays owned
    // by the caller and must outlive the device. Returns the device (owned by the testbed).
    // [survey hook] `port`: the port path below the root hub ("1.4"; default: the address) —
    // umockdev keeps a removed device's bus link, so a long survey gives each plug its own path.
    UsbReader& plug(const usbdesc::Device& description, unsigned address, ReaderFirmware firmware,
                    const std::string& port = {});
    // Hot-unplugs a device: its pending transfers end with ESHUTDOWN, its node answers ENODEV,
    // "remove" uevents go out and the sysfs entries disappear.
    void unplug(UsbReader& reader);
    // Devices currently plugged in.
    std::vector<UsbReader*> readers();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::filesystem::path root_;
};

} // namespace harness::umock
