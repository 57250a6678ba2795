#pragma once
// JSON of a PC/SC reader, for `readers --json` and the test tools. Contract (snake_case keys):
// name, state {present, empty, exclusive, in_use, mute, unpowered, unavailable, unknown, raw,
// event_count}, atr (spaced hex, "" when none), access ("shared"/"direct"/"none"), protocol
// (null or "T=0"/"T=1"), vendor_name, vendor_ifd_type, vendor_ifd_version (integer 0xMMmmbbbb),
// vendor_ifd_serial, channel_id (integer), usb_bus, usb_address, max_input (null when the query
// failed), features [{tag, name, control_code}] (null when the request failed), tlv_properties
// {raw [{tag, name, value}], max_apdu_data_size, id_vendor, id_product, ...} (null when absent),
// failures [{query, call, raw_code, code_name, message}], findings [{severity, code, message}].
#include "model/pcsc_reader.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace harness::cli {

nlohmann::json to_json(const model::PcscReader& reader);
nlohmann::json to_json(const std::vector<model::PcscReader>& readers);

// Human-readable lines for one reader (no trailing newline).
std::string to_text(const model::PcscReader& reader);

} // namespace harness::cli
