#include "cli/json_usb.hpp"

#include "cli/json_common.hpp"
#include "pure/ccid.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

namespace harness::cli {
namespace {

nlohmann::json interface_json(const model::UsbInterface& interface) {
    nlohmann::json j{
        {"number", interface.number},
        {"alternate_setting", interface.alternate_setting},
        {"interface_class", interface.interface_class},
        {"interface_subclass", interface.interface_subclass},
        {"interface_protocol", interface.interface_protocol},
        {"endpoints", interface.endpoint_count},
        {"name", optional_json(interface.name)},
        {"descriptor_placement",
         interface.placement ? nlohmann::json(ccid::to_string(*interface.placement)) : nullptr},
    };
    if (interface.ccid_descriptor.empty()) {
        j["ccid"] = false;
        for (const char* key : {"exchange_level", "max_message_length", "protocols", "slots",
                                "ccid_descriptor", "prediction"})
            j[key] = nullptr;
        j["findings"] = nlohmann::json::array();
        return j;
    }
    const auto decoded = ccid::decode(interface.ccid_descriptor);
    const auto& d = decoded.descriptor;
    j["ccid"] = true;
    j["ccid_descriptor"] = hex::format(interface.ccid_descriptor, hex::Style::Packed);
    j["bcd_ccid"] = d.bcd_ccid;
    j["exchange_level"] = ccid::to_string(d.exchange_level());
    j["max_message_length"] = d.max_message_length;
    j["protocols"] = d.protocol_numbers();
    j["slots"] = d.slots();
    j["max_ifsd"] = d.max_ifsd;
    j["voltage_support"] = d.voltage_support;
    j["default_clock_khz"] = d.default_clock_khz;
    j["maximum_clock_khz"] = d.maximum_clock_khz;
    j["data_rate_bps"] = d.data_rate_bps;
    j["max_data_rate_bps"] = d.max_data_rate_bps;
    j["features"] = d.features;
    j["feature_names"] = ccid::feature_names(d.features);
    j["pin_support"] = d.pin_support;
    j["max_busy_slots"] = d.max_busy_slots;
    j["findings"] = findings_json(decoded.findings);
    j["prediction"] = prediction_json(ccid::predict(d));
    return j;
}

} // namespace

nlohmann::json to_json(const model::UsbDevice& device) {
    auto interfaces = nlohmann::json::array();
    for (const auto& interface : device.interfaces)
        interfaces.push_back(interface_json(interface));
    nlohmann::json catalogue = nullptr;
    if (device.catalogue)
        catalogue = {{"maker", device.catalogue->maker},
                     {"product", device.catalogue->product},
                     {"interface_class", device.catalogue->interface_class},
                     {"note_en", device.catalogue->note_en},
                     {"note_ja", device.catalogue->note_ja}};
    return {
        {"bus", device.bus},
        {"address", device.address},
        {"port_path", device.port_path},
        {"vid", device.vid},
        {"pid", device.pid},
        {"bcd_device", device.bcd_device},
        {"vid_pid", model::vid_pid_string(device.vid, device.pid)},
        {"manufacturer", optional_json(device.manufacturer)},
        {"product", optional_json(device.product)},
        {"serial", optional_json(device.serial)},
        {"listed_because", device.listed_because},
        {"listed_by_ccid_driver", device.listed_by_ccid_driver
                                      ? nlohmann::json(*device.listed_by_ccid_driver)
                                      : nlohmann::json(nullptr)},
        {"ccid_driver_name", optional_json(device.ccid_driver_name)},
        {"catalogue", catalogue},
        {"interfaces", interfaces},
    };
}

nlohmann::json to_json(const std::vector<model::UsbDevice>& devices) {
    auto out = nlohmann::json::array();
    for (const auto& device : devices)
        out.push_back(to_json(device));
    return out;
}

std::string to_text(const model::UsbDevice& device) {
    std::string out =
        fmt::format("USB {} {} (bus {} address {}, port {}) firmware {:x}.{:02x}",
                    model::vid_pid_string(device.vid, device.pid),
                    device.product.value_or("(product unknown)"), device.bus, device.address,
                    device.port_path, device.bcd_device >> 8, device.bcd_device & 0xFF);
    if (device.manufacturer)
        out += fmt::format("\n  manufacturer: {}", *device.manufacturer);
    out += fmt::format("\n  listed because: {}", device.listed_because);
    if (device.listed_by_ccid_driver)
        out += fmt::format("\n  CCID driver: {}",
                           *device.listed_by_ccid_driver
                               ? "listed (" + device.ccid_driver_name.value_or("") + ")"
                               : std::string("not listed"));
    if (device.catalogue)
        out += fmt::format("\n  note: {}", device.catalogue->note_en);
    for (const auto& interface : device.interfaces) {
        out += fmt::format("\n  interface {} class 0x{:02X}", interface.number,
                           interface.interface_class);
        if (interface.ccid_descriptor.empty())
            continue;
        const auto decoded = ccid::decode(interface.ccid_descriptor);
        const auto& d = decoded.descriptor;
        out += fmt::format(": {} exchange, dwMaxCCIDMessageLength {}, protocols T={}, {} slot(s), "
                           "My Number: {}",
                           ccid::to_string(d.exchange_level()), d.max_message_length,
                           fmt::join(d.protocol_numbers(), "/T="), d.slots(),
                           ccid::to_string(ccid::predict(d).likelihood));
        for (const auto& f : decoded.findings)
            out += fmt::format("\n    {}: {}", to_string(f.severity), f.message);
    }
    return out;
}

} // namespace harness::cli

namespace harness::cli {

nlohmann::json prediction_json(const ccid::Prediction& prediction) {
    auto reasons = nlohmann::json::array();
    for (const auto& r : prediction.reasons)
        reasons.push_back({{"code", r.code},
                           {"effect", ccid::to_string(r.effect)},
                           {"message", r.message},
                           {"message_ja", r.message_ja}});
    return {{"likelihood", ccid::to_string(prediction.likelihood)}, {"reasons", reasons}};
}

} // namespace harness::cli
