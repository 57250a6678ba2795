#include "cli/usb_facts.hpp"

#include "cli/usb_source.hpp"
#include "pure/ccid.hpp"
#include "services/inventory/inventory.hpp"

#include <optional>

namespace harness::cli {
namespace {

const std::vector<model::UsbDevice>& usb_devices() {
    static const std::vector<model::UsbDevice> devices = [] {
        try {
            return discover_usb_readers();
        } catch (const std::exception&) {
            return std::vector<model::UsbDevice>{}; // no libusb access: PC/SC facts only
        }
    }();
    return devices;
}

struct Joined {
    model::UsbDevice usb;
    std::optional<std::size_t> interface;
};

std::optional<Joined> joined(const model::PcscReader& info) {
    if (usb_devices().empty())
        return std::nullopt;
    inventory::Sources sources;
    sources.pcsc = {info};
    sources.pcsc_available = true;
    sources.usb = usb_devices();
    sources.usb_available = true;
    for (const auto& row : inventory::join(sources).rows)
        if (row.pcsc && row.pcsc->name == info.name && row.usb)
            return Joined{*row.usb, row.interface};
    return std::nullopt;
}

} // namespace

void add_usb_descriptor(const model::PcscReader& info, plan::ReaderFacts& facts) {
    if (facts.descriptor)
        return;
    const auto j = joined(info);
    if (!j || !j->interface || *j->interface >= j->usb.interfaces.size())
        return;
    const auto& raw = j->usb.interfaces[*j->interface].ccid_descriptor;
    if (!raw.empty())
        facts.descriptor = ccid::decode(raw).descriptor;
}

void add_usb_identity(const model::PcscReader& info, model::ReaderIdentity& identity) {
    const auto j = joined(info);
    if (!j)
        return;
    if (!identity.vid)
        identity.vid = j->usb.vid;
    if (!identity.pid)
        identity.pid = j->usb.pid;
    if (!identity.bcd_device)
        identity.bcd_device = j->usb.bcd_device;
    if (identity.manufacturer.empty())
        identity.manufacturer = j->usb.manufacturer.value_or("");
    if (identity.product.empty())
        identity.product = j->usb.product.value_or("");
    if (identity.serial.empty())
        identity.serial = j->usb.serial.value_or("");
}

} // namespace harness::cli
