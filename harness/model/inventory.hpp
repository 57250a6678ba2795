#pragma once
// One inventory row: a PC/SC reader (slot) joined to the USB device behind it, or a USB device
// that has no PC/SC reader (with why). Built by services/inventory from plain values.
#include "model/pcsc_reader.hpp"
#include "model/usb_device.hpp"

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace harness::model {

// How a PC/SC reader was tied to its USB device, strongest first.
enum class JoinMethod {
    TlvAndChannel, // FEATURE_GET_TLV_PROPERTIES VID/PID + SCARD_ATTR_CHANNEL_ID bus/address
    Channel,       // SCARD_ATTR_CHANNEL_ID bus/address only
    Tlv,           // TLV VID/PID only (unique among the USB devices)
    Name,          // reader name contains the USB product string
    None,          // not joined
};
const char* to_string(JoinMethod method);
std::ostream& operator<<(std::ostream& out, JoinMethod method);

struct InventoryRow {
    std::optional<PcscReader> pcsc;       // absent: USB only
    std::optional<UsbDevice> usb;         // absent: PC/SC only (no libusb view: lab, network, …)
    std::optional<std::size_t> interface; // index into usb->interfaces for this reader
    std::optional<int> slot;              // slot number from the PC/SC name ("… 00 01" → 1)
    JoinMethod join = JoinMethod::None;
    std::optional<bool> contactless; // from the name, the ATR (PC/SC part 3 pseudo-ATR); unset
    std::string contactless_from;    // "atr", "name", ""
    std::string note_en;             // why a USB device has no PC/SC reader, etc.
    std::string note_ja;
};

struct Inventory {
    std::vector<InventoryRow> rows;
    bool pcsc_available = false;
    std::string pcsc_error; // why PC/SC could not be read (pcscd not running, …)
    bool usb_available = false;
    std::string usb_error;
};

} // namespace harness::model
