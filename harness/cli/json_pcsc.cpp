#include "cli/json_pcsc.hpp"

#include "cli/json_common.hpp"

#include <fmt/core.h>

namespace harness::cli {

namespace {

nlohmann::json to_json(const pcsc::TlvProperties& p) {
    nlohmann::json raw = nlohmann::json::array();
    for (const auto& t : p.raw)
        raw.push_back({{"tag", t.tag},
                       {"name", pcsc::tlv_property_name(t.tag)},
                       {"value", hex::format(t.value)}});
    return {{"raw", raw},
            {"lcd_layout", optional_json(p.lcd_layout)},
            {"entry_validation_condition", optional_json(p.entry_validation_condition)},
            {"timeout2", optional_json(p.timeout2)},
            {"lcd_max_characters", optional_json(p.lcd_max_characters)},
            {"lcd_max_lines", optional_json(p.lcd_max_lines)},
            {"min_pin_size", optional_json(p.min_pin_size)},
            {"max_pin_size", optional_json(p.max_pin_size)},
            {"firmware_id", optional_json(p.firmware_id)},
            {"ppdu_support", optional_json(p.ppdu_support)},
            {"max_apdu_data_size", optional_json(p.max_apdu_data_size)},
            {"id_vendor", optional_json(p.id_vendor)},
            {"id_product", optional_json(p.id_product)}};
}

} // namespace

nlohmann::json to_json(const model::PcscReader& reader) {
    const auto& s = reader.state;
    nlohmann::json j;
    j["name"] = reader.name;
    j["state"] = {
        {"present", s.present},         {"empty", s.empty},     {"exclusive", s.exclusive},
        {"in_use", s.in_use},           {"mute", s.mute},       {"unpowered", s.unpowered},
        {"unavailable", s.unavailable}, {"unknown", s.unknown}, {"raw", s.raw},
        {"event_count", s.event_count}};
    j["atr"] = hex::format(reader.atr);
    j["access"] = reader.access;
    j["protocol"] = optional_json(reader.protocol);
    j["vendor_name"] = optional_json(reader.vendor_name);
    j["vendor_ifd_type"] = optional_json(reader.vendor_ifd_type);
    j["vendor_ifd_version"] = optional_json(reader.vendor_ifd_version);
    j["vendor_ifd_serial"] = optional_json(reader.vendor_ifd_serial);
    j["channel_id"] = optional_json(reader.channel_id);
    j["usb_bus"] = optional_json(reader.usb_bus());
    j["usb_address"] = optional_json(reader.usb_address());
    j["max_input"] = optional_json(reader.max_input);
    if (reader.features) {
        nlohmann::json features = nlohmann::json::array();
        for (const auto& f : *reader.features)
            features.push_back({{"tag", f.tag},
                                {"name", pcsc::feature_name(f.tag)},
                                {"control_code", f.control_code}});
        j["features"] = features;
    } else {
        j["features"] = nullptr;
    }
    j["tlv_properties"] = reader.tlv_properties ? to_json(*reader.tlv_properties) : nullptr;
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& f : reader.failures)
        failures.push_back({{"query", f.query},
                            {"call", f.call},
                            {"raw_code", f.raw_code},
                            {"code_name", f.code_name},
                            {"message", f.message}});
    j["failures"] = failures;
    j["findings"] = findings_json(reader.findings);
    return j;
}

nlohmann::json to_json(const std::vector<model::PcscReader>& readers) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : readers)
        j.push_back(to_json(r));
    return j;
}

std::string to_text(const model::PcscReader& reader) {
    std::string out =
        fmt::format("{}\n  card: {}", reader.name,
                    reader.state.present ? (reader.state.mute ? "mute" : "present") : "absent");
    if (!reader.atr.empty())
        out += fmt::format("\n  ATR: {}", hex::format(reader.atr));
    if (reader.protocol)
        out += fmt::format("\n  protocol: {}", *reader.protocol);
    if (reader.vendor_name)
        out += fmt::format("\n  vendor: {}", *reader.vendor_name);
    if (reader.vendor_ifd_type)
        out += fmt::format("\n  model: {}", *reader.vendor_ifd_type);
    if (reader.vendor_ifd_version)
        out += fmt::format("\n  IFD version: 0x{:08X}", *reader.vendor_ifd_version);
    if (reader.usb_bus() && reader.usb_address())
        out += fmt::format("\n  USB bus {:03d} address {:03d}", *reader.usb_bus(),
                           *reader.usb_address());
    if (reader.max_input)
        out += fmt::format("\n  max input: {}", *reader.max_input);
    if (reader.tlv_properties) {
        const auto& t = *reader.tlv_properties;
        if (t.id_vendor && t.id_product)
            out += fmt::format("\n  USB id: {:04X}:{:04X}", *t.id_vendor, *t.id_product);
        if (t.max_apdu_data_size)
            out += fmt::format("\n  max APDU data size: {}", *t.max_apdu_data_size);
    }
    if (reader.features && !reader.features->empty()) {
        out += "\n  features:";
        for (const auto& f : *reader.features)
            out += " " + pcsc::feature_name(f.tag);
    }
    for (const auto& f : reader.failures)
        out += fmt::format("\n  not available: {} ({})", f.query, f.code_name);
    return out;
}

} // namespace harness::cli
