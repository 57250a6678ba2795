#include "cli/describe.hpp"

#include "cli/commands.hpp"
#include "cli/json_common.hpp"
#include "cli/json_usb.hpp"
#include "cli/lang.hpp"
#include "cli/usb_source.hpp"
#include "io/text_file.hpp"
#include "pure/ccid_dump.hpp"
#include "pure/error.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <sstream>

namespace harness::cli {
namespace {

const std::string& pick(const Finding& f, Language language) {
    return language == Language::Ja && !f.message_ja.empty() ? f.message_ja : f.message;
}

const std::string& pick(const ccid::Reason& r, Language language) {
    return language == Language::Ja && !r.message_ja.empty() ? r.message_ja : r.message;
}

nlohmann::json bits_json(std::uint32_t value, std::span<const ccid::NamedBit> bits) {
    auto out = nlohmann::json::array();
    for (const auto& bit : bits)
        if (value & bit.mask)
            out.push_back(bit.name);
    return out;
}

nlohmann::json descriptor_json(const ccid::Descriptor& d) {
    return {
        {"length", d.length},
        {"descriptor_type", d.type},
        {"bcd_ccid", d.bcd_ccid},
        {"bcd_ccid_text", fmt::format("{:X}.{:02X}", d.bcd_ccid >> 8U, d.bcd_ccid & 0xFFU)},
        {"max_slot_index", d.max_slot_index},
        {"voltage_support", d.voltage_support},
        {"voltages", bits_json(d.voltage_support, ccid::voltage_bits())},
        {"protocols", d.protocols},
        {"default_clock_khz", d.default_clock_khz},
        {"maximum_clock_khz", d.maximum_clock_khz},
        {"num_clock_supported", d.num_clock_supported},
        {"data_rate_bps", d.data_rate_bps},
        {"max_data_rate_bps", d.max_data_rate_bps},
        {"num_data_rates_supported", d.num_data_rates_supported},
        {"max_ifsd", d.max_ifsd},
        {"synch_protocols", d.synch_protocols},
        {"synch_protocol_names", bits_json(d.synch_protocols, ccid::synch_bits())},
        {"mechanical", d.mechanical},
        {"mechanical_names", bits_json(d.mechanical, ccid::mechanical_bits())},
        {"features", d.features},
        {"max_message_length", d.max_message_length},
        {"class_get_response", d.class_get_response},
        {"class_envelope", d.class_envelope},
        {"lcd_layout", d.lcd_layout},
        {"lcd_lines", d.lcd_layout >> 8U},
        {"lcd_characters_per_line", d.lcd_layout & 0xFFU},
        {"pin_support", d.pin_support},
        {"pin_support_names", bits_json(d.pin_support, ccid::pin_bits())},
        {"max_busy_slots", d.max_busy_slots},
    };
}

nlohmann::json interface_json(const DescribedInterface& in) {
    nlohmann::json j;
    if (in.interface) {
        const auto& i = *in.interface;
        j = {{"number", i.number},
             {"alternate_setting", i.alternate_setting},
             {"interface_class", i.interface_class},
             {"interface_subclass", i.subclass},
             {"interface_protocol", i.protocol},
             {"endpoints", i.num_endpoints},
             {"name", optional_json(i.name)}};
    } else {
        for (const char* key : {"number", "alternate_setting", "interface_class",
                                "interface_subclass", "interface_protocol", "endpoints", "name"})
            j[key] = nullptr;
    }
    j["findings"] = findings_json(in.findings);
    if (!in.descriptor) {
        j["ccid"] = false;
        j["descriptor_placement"] = nullptr;
        for (const char* key : {"exchange_level", "max_message_length", "protocols", "slots",
                                "features", "ccid_descriptor", "descriptor", "prediction",
                                "clock_frequencies_khz", "data_rates_bps"})
            j[key] = nullptr;
        return j;
    }
    const auto& d = *in.descriptor;
    j["ccid"] = true;
    j["descriptor_placement"] = ccid::to_string(in.placement);
    j["exchange_level"] = ccid::to_string(d.exchange_level());
    j["max_message_length"] = d.max_message_length;
    j["protocols"] = d.protocol_numbers();
    j["slots"] = d.slots();
    j["features"] = ccid::feature_names(d.features);
    j["ccid_descriptor"] =
        hex::format(in.raw.empty() ? ccid::encode(d) : in.raw, hex::Style::Packed);
    j["descriptor"] = descriptor_json(d);
    j["clock_frequencies_khz"] = in.clock_frequencies_khz;
    j["data_rates_bps"] = in.data_rates_bps;
    j["prediction"] = prediction_json(ccid::predict(d));
    j["prediction"]["estimate_only"] = true;
    return j;
}

DescribedInterface from_located(const ccid::Located& located, ByteView raw) {
    DescribedInterface out;
    out.interface = located.interface;
    out.placement = located.placement;
    out.descriptor = located.descriptor;
    out.raw.assign(raw.begin(), raw.end());
    out.findings = located.findings;
    return out;
}

} // namespace

DescribeInput describe_ccid_dump(const std::filesystem::path& file) {
    // A parse dump is a few kB; 1 MiB is far above any real one.
    const auto dump =
        ccid::parse_dump(io::read_text_file(file, "CCID descriptor dump", 1 << 20), file.string());
    DescribeInput out;
    out.source = "ccid-dump " + file.string();
    out.identity = dump.blocks.front().identity;
    for (const auto& block : dump.blocks) {
        if (!(block.identity == *out.identity))
            out.findings.push_back(
                {Severity::Warning, "identity_changes",
                 fmt::format("the block at line {} names another device", block.line),
                 fmt::format("{} 行目のブロックは別のデバイスを示す", block.line)});
        DescribedInterface in;
        in.interface = block.interface;
        in.placement = ccid::Placement::Given;
        in.clock_frequencies_khz = block.clock_frequencies_khz;
        in.data_rates_bps = block.data_rates_bps;
        if (block.descriptor) {
            in.raw = ccid::encode(*block.descriptor);
            auto decoded = ccid::decode(in.raw);
            in.descriptor = decoded.descriptor;
            in.findings = std::move(decoded.findings);
            if (block.interface.interface_class != ccid::interface_class_ccid)
                in.findings.insert(
                    in.findings.begin(),
                    {Severity::Warning, "vendor_class_interface",
                     fmt::format("interface {} declares class 0x{:02X}, not CCID (0x0B), yet "
                                 "carries a CCID descriptor",
                                 block.interface.number, block.interface.interface_class),
                     fmt::format("インターフェース {} のクラスは CCID (0x0B) ではなく 0x{:02X} "
                                 "だが CCID ディスクリプタを持つ",
                                 block.interface.number, block.interface.interface_class)});
        }
        out.interfaces.push_back(std::move(in));
    }
    return out;
}

DescribeInput describe_descriptor_hex(const std::string& text) {
    const auto bytes = hex::parse_or_throw(text);
    // A configuration descriptor's wTotalLength is 16 bits; nothing longer is a descriptor.
    if (bytes.empty() || bytes.size() > 0xFFFF)
        throw UsageError(fmt::format(
            "--descriptor-hex: expected the 54-byte CCID class descriptor or a configuration "
            "descriptor (at most 65535 bytes) in hex, found {} bytes",
            bytes.size()));
    DescribeInput out;
    out.source = "descriptor-hex";
    const bool configuration = bytes.size() >= 9 && ((bytes[0] == 9 && bytes[1] == 0x02) ||
                                                     (bytes[0] == 18 && bytes[1] == 0x01));
    if (!configuration) {
        auto decoded = ccid::decode(bytes);
        DescribedInterface in;
        in.descriptor = decoded.descriptor;
        in.raw = bytes;
        in.findings = std::move(decoded.findings);
        out.interfaces.push_back(std::move(in));
        return out;
    }
    const auto located = ccid::locate_in_configuration(bytes);
    out.findings = located.findings;
    for (const auto& l : located.interfaces)
        out.interfaces.push_back(from_located(l, ccid::encode(l.descriptor)));
    if (located.interfaces.empty())
        out.findings.push_back({Severity::Warning, "no_ccid_descriptor",
                                "the configuration carries no CCID class descriptor",
                                "構成ディスクリプタに CCID クラスディスクリプタがない"});
    return out;
}

DescribeInput describe_usb_device(const model::UsbDevice& device) {
    DescribeInput out;
    out.source = "usb " + model::vid_pid_string(device.vid, device.pid);
    out.identity = ccid::DeviceIdentity{device.vid, device.pid, device.bcd_device,
                                        device.manufacturer, device.product};
    for (const auto& i : device.interfaces) {
        ccid::InterfaceInfo info;
        info.number = i.number;
        info.alternate_setting = i.alternate_setting;
        info.interface_class = i.interface_class;
        info.subclass = i.interface_subclass;
        info.protocol = i.interface_protocol;
        info.num_endpoints = i.endpoint_count;
        if (i.ccid_descriptor.empty()) {
            DescribedInterface in;
            in.interface = info;
            out.interfaces.push_back(std::move(in));
            continue;
        }
        const auto placement = i.placement.value_or(ccid::Placement::InterfaceExtra);
        const ByteView none;
        auto located = placement == ccid::Placement::AfterEndpoints
                           ? ccid::locate_in_extras(info, none, i.ccid_descriptor)
                           : ccid::locate_in_extras(info, i.ccid_descriptor, none);
        if (located) {
            out.interfaces.push_back(from_located(*located, i.ccid_descriptor));
        } else {
            auto decoded = ccid::decode(i.ccid_descriptor);
            DescribedInterface in;
            in.interface = info;
            in.placement = placement;
            in.descriptor = decoded.descriptor;
            in.raw = i.ccid_descriptor;
            in.findings = std::move(decoded.findings);
            out.interfaces.push_back(std::move(in));
        }
    }
    return out;
}

std::string render_text(const DescribeInput& input, Language language) {
    std::string out;
    const bool ja = language == Language::Ja;
    for (const auto& f : input.findings)
        out += fmt::format("{} {}: {}\n", to_string(f.severity), f.code, pick(f, language));
    for (std::size_t n = 0; n < input.interfaces.size(); ++n) {
        const auto& in = input.interfaces[n];
        if (n > 0)
            out += '\n';
        if (input.identity && in.interface) {
            ccid::DumpBlock block;
            block.identity = *input.identity;
            block.interface = *in.interface;
            block.descriptor = in.descriptor;
            block.clock_frequencies_khz = in.clock_frequencies_khz;
            block.data_rates_bps = in.data_rates_bps;
            out += ccid::format_block(block);
        } else if (in.descriptor) {
            out += ccid::format_descriptor(*in.descriptor);
        }
        if (!in.descriptor) {
            out += ja ? " CCID ディスクリプタなし\n" : " no CCID descriptor\n";
            continue;
        }
        const auto& d = *in.descriptor;
        out += fmt::format(
            fmt::runtime(
                ja ? " 要約: {} 交換, T={}, {} スロット, 最大メッセージ {} バイト, 配置 {}\n"
                   : " Summary: {} exchange, T={}, {} slot(s), max message {} bytes, placement "
                     "{}\n"),
            ccid::to_string(d.exchange_level()), fmt::join(d.protocol_numbers(), ","), d.slots(),
            d.max_message_length, ccid::to_string(in.placement));
        out += ja ? " 所見:" : " Findings:";
        out += in.findings.empty() ? (ja ? " なし\n" : " none\n") : "\n";
        for (const auto& f : in.findings)
            out += fmt::format("  {} {}: {}\n", to_string(f.severity), f.code, pick(f, language));
        const auto p = ccid::predict(d);
        out += fmt::format(fmt::runtime(ja ? " マイナンバーカード対応の見込み "
                                             "(ディスクリプタからの推定であり判定ではない): "
                                             "{}\n"
                                           : " My Number card capability (estimate from the "
                                             "descriptor, not a verdict): {}\n"),
                           ccid::to_string(p.likelihood));
        for (const auto& r : p.reasons)
            out += fmt::format("  [{}] {}: {}\n", ccid::to_string(r.effect), r.code,
                               pick(r, language));
    }
    return out;
}

nlohmann::json render_json(const DescribeInput& input) {
    nlohmann::json j{{"source", input.source}, {"findings", findings_json(input.findings)}};
    if (input.identity) {
        const auto& id = *input.identity;
        j["vid"] = id.vendor_id;
        j["pid"] = id.product_id;
        j["bcd_device"] = id.bcd_device;
        j["vid_pid"] = model::vid_pid_string(id.vendor_id, id.product_id);
        j["firmware"] = fmt::format("{:X}.{:02X}", id.bcd_device >> 8U, id.bcd_device & 0xFFU);
        j["manufacturer"] = optional_json(id.manufacturer);
        j["product"] = optional_json(id.product);
    } else {
        for (const char* key :
             {"vid", "pid", "bcd_device", "vid_pid", "firmware", "manufacturer", "product"})
            j[key] = nullptr;
    }
    auto interfaces = nlohmann::json::array();
    for (const auto& in : input.interfaces)
        interfaces.push_back(interface_json(in));
    j["interfaces"] = interfaces;
    return j;
}

std::vector<DescribeSource> describe_sources() {
    return {
        {"--ccid-dump", "FILE",
         "a descriptor dump in the CCID driver's parse format (its readers/*.txt)",
         [](const std::string& v) { return describe_ccid_dump(v); }},
        {"--descriptor-hex", "HEX",
         "the 54-byte CCID class descriptor, or a configuration descriptor (09 02 ...), in hex",
         [](const std::string& v) { return describe_descriptor_hex(v); }},
        {"--usb", "VID:PID", "a USB reader found through libusb (works while pcscd holds it)",
         [](const std::string& v) { return describe_usb(v); }},
        {"--reader", "NAME",
         "a PC/SC reader (exact name, or a unique part of it), through its USB device",
         [](const std::string& v) { return describe_pcsc_reader(v); }},
    };
}

void add_describe_command(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("describe",
                                   "Decode a reader's CCID descriptor: fields as the CCID driver's "
                                   "parse prints them, findings, and the predicted My Number "
                                   "card capability (an estimate, never a verdict)");
    struct State {
        std::vector<DescribeSource> sources = describe_sources();
        std::vector<std::string> values;
        std::vector<CLI::Option*> options;
        bool json = false;
        std::string lang;
    };
    auto state = std::make_shared<State>();
    state->values.resize(state->sources.size());
    for (std::size_t i = 0; i < state->sources.size(); ++i) {
        const auto& s = state->sources[i];
        state->options.push_back(
            cmd->add_option(s.option, state->values[i], s.help)->type_name(s.value_name));
    }
    cmd->add_flag("--json", state->json, "JSON output (snake_case keys)");
    add_lang_option(cmd, state->lang, "language of the text output", "en");
    cmd->callback([state, &context] {
        std::vector<std::size_t> given;
        std::string names;
        for (std::size_t i = 0; i < state->sources.size(); ++i) {
            names += (names.empty() ? "" : ", ") + state->sources[i].option + " " +
                     state->sources[i].value_name;
            if (state->options[i]->count() > 0)
                given.push_back(i);
        }
        if (given.size() != 1)
            throw UsageError(fmt::format("describe: give exactly one source ({}); {} given", names,
                                         given.size()));
        const auto& source = state->sources[given.front()];
        const auto input = source.resolve(state->values[given.front()]);
        if (state->json)
            fmt::print("{}\n", render_json(input).dump(2));
        else
            fmt::print("{}",
                       render_text(input, resolve_lang(state->lang, "en") == "ja" ? Language::Ja
                                                                                  : Language::En));
        context.exit_code = exit_code::ok;
    });
}

} // namespace harness::cli
