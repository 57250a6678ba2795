#pragma once
// `cardharness lab start --usb`: the lab's readers as emulated USB CCID devices (umockdev) opened
// by the system's unmodified pcscd + libccid + libusb, instead of our reader driver. Wiring only:
// the testbed and the devices are backends/umockdev, the cards and the firmware services/lab.
#include "backends/lab/lab_client.hpp"
#include "backends/lab/lab_daemon.hpp"
#include "services/lab/lab.hpp"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace harness::cli::labccid {

// Lives in the lab process for as long as the lab runs.
class UsbRuntime final : public labd::LabExtension {
public:
    // Creates the testbed, one device per slot (plugged by plug_all()) and the private driver
    // bundle in <lab dir>/usb-drivers. Throws EnvironmentError (no umockdev, no libccid).
    UsbRuntime(lab::Lab& lab, const std::filesystem::path& lab_dir, lab::Logger log);
    ~UsbRuntime() override;
    UsbRuntime(const UsbRuntime&) = delete;
    UsbRuntime& operator=(const UsbRuntime&) = delete;

    // pcscd under the umockdev preload, with the private bundle instead of the USB drivers.
    void configure(labd::PcscdOptions& options) const override;
    // A comment only: libccid finds the readers by hotplug.
    std::string reader_conf() const override;
    // Tells the lab about the devices and plugs every one in (before pcscd starts).
    void plug_all();
    // libccid has opened every plugged device.
    bool ready() const override;
    std::vector<std::string> unclaimed() const;
    std::string not_ready() const override;
    // state.json fields: driver, usb_environment, driver_bundle, libccid.
    nlohmann::ordered_json state() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The lab extension `lab start --usb` passes in its LabSpec: a UsbRuntime, every device plugged.
labd::ExtensionFactory usb_extension();

// The environment a client needs to see the lab's USB devices (from state.json).
std::vector<std::pair<std::string, std::string>>
usb_environment(const nlohmann::ordered_json& state);

// `lab status` of a --usb lab: pcscd names libccid readers "<friendly> (<serial>) NN 00" with NN
// in order of appearance, so each slot's pcsc_reader is looked up among the readers the lab's
// pcscd lists (empty while unplugged or not yet opened).
void resolve_reader_names(std::vector<labd::SlotInfo>& slots, const std::string& pcsc_socket);

} // namespace harness::cli::labccid

namespace harness::cli::labccid {

// umockdev sends uevents (hotplug add/remove) only from a process under its preload: `lab start
// --usb` re-executes itself once with the preload in LD_PRELOAD (inactive until the testbed sets
// UMOCKDEV_DIR). Returns only when already preloaded; throws EnvironmentError when exec fails.
void reexec_under_preload();
// The file descriptors the preload holds (recorded by reexec_under_preload once preloaded): a
// daemonised lab must keep them open.
std::vector<int> preload_fds();

} // namespace harness::cli::labccid
