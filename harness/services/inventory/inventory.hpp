#pragma once
// Joins what libusb sees with what PC/SC sees into one inventory (domain.md §10): each PC/SC
// reader to its USB device by TLV VID/PID + channel id bus/address, falling back to names.
// Pure: takes values, returns values; the CLI gathers them from the backends.
#include "model/inventory.hpp"

#include <string>
#include <vector>

namespace harness::inventory {

struct Sources {
    std::vector<model::PcscReader> pcsc;
    bool pcsc_available = false;
    std::string pcsc_error;
    std::vector<model::UsbDevice> usb;
    bool usb_available = false;
    std::string usb_error;
};

model::Inventory join(const Sources& sources);

// "Lab Reader A 01 00" → 0 (pcsc-lite names end in "<reader index> <slot>", both 2 hex digits).
std::optional<int> slot_from_name(const std::string& pcsc_name);

// Contactless from a PC/SC part 3 pseudo-ATR (3B 8n 80 01 …), else from name words
// (PICC, Contactless, NFC, CL), else unknown.
std::optional<bool> contactless_from_atr(ByteView atr);
std::optional<bool> contactless_from_name(const std::string& name);

// What a reader is, for people and scripts: "usb" (a USB reader: joined to its libusb device, or
// its driver gives a VID:PID), "vpcd" (vsmartcard's virtual reader "Virtual PCD …": a socket, no
// USB device behind it), "no_usb_identity" (a PC/SC reader whose driver tells no USB identity:
// serial, network or another virtual reader), "usb_only" (a USB device PC/SC does not show).
struct ReaderKind {
    std::string code;
    std::string en; // one line, e.g. "virtual reader (vsmartcard vpcd): no USB device"
    std::string ja;
};
ReaderKind reader_kind(const model::InventoryRow& row);

} // namespace harness::inventory
