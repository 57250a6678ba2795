#pragma once
// `lab start --usb`: every lab slot as an emulated USB CCID reader in the lab's umockdev testbed,
// run by a CcidFirmware built from the slot's reader model, opened by the system's pcscd +
// libccid + libusb (domain.md §13). The lab (services/lab Lab) keeps the cards; this side hears
// of every change (lab::SlotDevices) and turns it into NotifySlotChange, and unplugs / plugs the
// USB device that holds a slot.
#include "backends/umockdev/testbed.hpp"
#include "pure/ccid_driver_list.hpp"
#include "services/lab/lab.hpp"

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace harness::umock {

// The USB device a lab reader model is: its identity and CCID descriptor (a real reader's dump
// for descriptor_dump models), one CCID interface with bulk IN/OUT + interrupt IN endpoints, and
// a serial made for the slot.
usbdesc::Device usb_device_of(const lab::ReaderModel& model, const std::string& serial);
// The friendly name the private Info.plist gives a lab model: the product of a fictitious
// ("Lab …") reader, "<manufacturer> <product>" for a real reader's dump.
std::string friendly_name_of(const lab::ReaderModel& model);

// The private CCID driver bundle for pcscd's namespace: <dir>/ifd-ccid.bundle/Contents/Info.plist
// is the system's list plus the lab's VID:PIDs; Contents/Linux/libccid.so is a placeholder onto
// which the SYSTEM's libccid.so is bind-mounted (so pcscd maps the system file, unmodified).
struct DriverBundle {
    std::filesystem::path drivers_dir; // mounted over /usr/lib/pcsc/drivers
    std::filesystem::path system_library;
    std::string version; // the system libccid's CFBundleShortVersionString, e.g. "1.5.2"
    std::vector<ccid_driver::SupportedReader> added;  // lab VID:PIDs the system list lacks
    std::vector<ccid_driver::SupportedReader> listed; // lab VID:PIDs the system list has
    // The name pcscd will give readers of this VID:PID (empty: not a lab VID:PID).
    std::string friendly_name(std::uint16_t vid, std::uint16_t pid) const;
    // What spawn_private_pcscd must mount, in order (source, target).
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> mounts() const;
};
inline constexpr const char* system_ccid_bundle = "/usr/lib/pcsc/drivers/ifd-ccid.bundle";
// Throws EnvironmentError when the system's libccid is not installed.
DriverBundle write_driver_bundle(const std::filesystem::path& dir,
                                 const std::vector<const lab::ReaderModel*>& models);

class UsbLab final : public lab::SlotDevices {
public:
    // One device per slot of `lab` (plugged by plug_all()); `log` gets one line per event.
    UsbLab(const lab::Lab& lab, Testbed& testbed, lab::Logger log = {});
    ~UsbLab() override;

    void plug_all();
    // The Info.plist names pcscd uses (pcsc_name_prefix()).
    void use_names(const DriverBundle& bundle);
    // Every plugged device has been opened (interface claimed) by libccid.
    bool all_claimed() const;
    std::vector<std::string> unclaimed() const;
    // "<friendly name> (<serial>)": the PC/SC reader name pcscd gives the slot, without its
    // " NN 00" index suffix (pcscd numbers libccid readers in the order they appear).
    std::string pcsc_name_prefix(const std::string& slot) const;
    // The CCID messages the slot's firmware saw and sent (not redacted: the caller redacts).
    std::vector<lab::FirmwareTrace> trace(const std::string& slot) const;
    UsbCounters usb_counters(const std::string& slot) const;

    // lab::SlotDevices
    void card_changed(const std::string& slot, std::shared_ptr<io::VirtualCard> card,
                      lab::Interface interface) override;
    void await_host(const std::string& slot) override;
    void unplug(const std::string& slot) override;
    void plug(const std::string& slot) override;
    nlohmann::json slot_status(const std::string& slot) const override;
    nlohmann::json trace(const std::string& slot, std::int64_t since_ns) const override;

private:
    struct Slot {
        std::string id;
        lab::ReaderModel model;
        usbdesc::Device description;
        std::shared_ptr<io::VirtualCard> card;
        lab::Interface interface = lab::Interface::Contact;
        ReaderFirmware firmware;
        UsbReader* device = nullptr; // null while unplugged
        unsigned address = 0;
        std::uint64_t plugs = 0;
        std::string friendly_name;           // from the driver bundle
        std::uint64_t submits_at_change = 0; // the device's URB count when the card changed
        std::uint64_t interrupts_at_change = 0;
        bool change_queued = false; // the last change queued a NotifySlotChange
    };
    Slot& find(const std::string& slot);
    const Slot& find(const std::string& slot) const;
    void plug_locked(Slot& slot);
    void log(const std::string& line) const;

    Testbed& testbed_;
    lab::Logger log_;
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Slot>> slots_;
    unsigned next_address_ = 2;
};

} // namespace harness::umock
