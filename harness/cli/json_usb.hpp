#pragma once
// JSON of a USB smart-card reader, shared by `describe --usb` and `readers --json`.
// Contract other tools parse: vid, pid, bcd_device (integers) and interfaces[] with, per CCID
// interface, exchange_level (character/tpdu/short_apdu/extended_apdu), max_message_length,
// protocols (e.g. [0,1]) and slots (bMaxSlotIndex + 1). snake_case keys throughout.
#include "model/usb_device.hpp"
#include "pure/ccid.hpp"

#include <nlohmann/json.hpp>
#include <vector>

namespace harness::cli {

nlohmann::json to_json(const model::UsbDevice& device);
nlohmann::json to_json(const std::vector<model::UsbDevice>& devices);

// Human-readable lines for one device (fmt text, no trailing newline).
std::string to_text(const model::UsbDevice& device);

// {likelihood, reasons: [{code, effect, message, message_ja}]} of ccid::predict(); callers add
// their own notes. Shared by readers, describe and the USB device JSON.
nlohmann::json prediction_json(const ccid::Prediction& prediction);

} // namespace harness::cli
