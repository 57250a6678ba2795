#include "pure/pcsc_features.hpp"

#include <algorithm>
#include <fmt/core.h>

namespace harness::pcsc {

namespace {

Finding finding(Severity severity, std::string code, std::string message) {
    return Finding{severity, std::move(code), std::move(message), {}};
}

std::uint32_t little_endian(ByteView v) {
    std::uint32_t value = 0;
    for (std::size_t i = v.size(); i-- > 0;)
        value = (value << 8) | v[i];
    return value;
}

} // namespace

std::string feature_name(std::uint8_t tag) {
    switch (tag) {
    case feature::verify_pin_start:
        return "FEATURE_VERIFY_PIN_START";
    case feature::verify_pin_finish:
        return "FEATURE_VERIFY_PIN_FINISH";
    case feature::modify_pin_start:
        return "FEATURE_MODIFY_PIN_START";
    case feature::modify_pin_finish:
        return "FEATURE_MODIFY_PIN_FINISH";
    case feature::get_key_pressed:
        return "FEATURE_GET_KEY_PRESSED";
    case feature::verify_pin_direct:
        return "FEATURE_VERIFY_PIN_DIRECT";
    case feature::modify_pin_direct:
        return "FEATURE_MODIFY_PIN_DIRECT";
    case feature::mct_reader_direct:
        return "FEATURE_MCT_READER_DIRECT";
    case feature::mct_universal:
        return "FEATURE_MCT_UNIVERSAL";
    case feature::ifd_pin_properties:
        return "FEATURE_IFD_PIN_PROPERTIES";
    case feature::abort:
        return "FEATURE_ABORT";
    case feature::set_spe_message:
        return "FEATURE_SET_SPE_MESSAGE";
    case feature::verify_pin_direct_app_id:
        return "FEATURE_VERIFY_PIN_DIRECT_APP_ID";
    case feature::modify_pin_direct_app_id:
        return "FEATURE_MODIFY_PIN_DIRECT_APP_ID";
    case feature::write_display:
        return "FEATURE_WRITE_DISPLAY";
    case feature::get_key:
        return "FEATURE_GET_KEY";
    case feature::ifd_display_properties:
        return "FEATURE_IFD_DISPLAY_PROPERTIES";
    case feature::get_tlv_properties:
        return "FEATURE_GET_TLV_PROPERTIES";
    case feature::ccid_esc_command:
        return "FEATURE_CCID_ESC_COMMAND";
    case feature::execute_pace:
        return "FEATURE_EXECUTE_PACE";
    default:
        return fmt::format("FEATURE_0x{:02X}", tag);
    }
}

FeatureList parse_feature_request(ByteView answer) {
    FeatureList out;
    std::size_t i = 0;
    while (i < answer.size()) {
        if (answer.size() - i < 2) {
            out.findings.push_back(
                finding(Severity::Warning, "feature_list_truncated",
                        fmt::format("feature list ends inside a TLV header at byte {}", i)));
            break;
        }
        const std::uint8_t tag = answer[i];
        const std::size_t length = answer[i + 1];
        if (answer.size() - i - 2 < length) {
            out.findings.push_back(
                finding(Severity::Warning, "feature_list_truncated",
                        fmt::format("feature 0x{:02X} announces {} bytes but only {} remain", tag,
                                    length, answer.size() - i - 2)));
            break;
        }
        const ByteView value = answer.subspan(i + 2, length);
        if (length != 4) {
            out.findings.push_back(finding(
                Severity::Warning, "feature_bad_length",
                fmt::format("feature 0x{:02X} has a {}-byte value; PC/SC part 10 §2.2 says 4", tag,
                            length)));
        } else {
            const std::uint32_t code = (static_cast<std::uint32_t>(value[0]) << 24) |
                                       (static_cast<std::uint32_t>(value[1]) << 16) |
                                       (static_cast<std::uint32_t>(value[2]) << 8) | value[3];
            if (find_feature(out.features, tag))
                out.findings.push_back(
                    finding(Severity::Warning, "feature_duplicate",
                            fmt::format("{} is listed more than once", feature_name(tag))));
            else
                out.features.push_back(Feature{tag, code});
        }
        i += 2 + length;
    }
    return out;
}

std::optional<std::uint32_t> find_feature(const std::vector<Feature>& features, std::uint8_t tag) {
    const auto it = std::find_if(features.begin(), features.end(),
                                 [tag](const Feature& f) { return f.tag == tag; });
    if (it == features.end())
        return std::nullopt;
    return it->control_code;
}

std::string tlv_property_name(std::uint8_t tag) {
    switch (tag) {
    case property::lcd_layout:
        return "wLcdLayout";
    case property::entry_validation_condition:
        return "bEntryValidationCondition";
    case property::timeout2:
        return "bTimeOut2";
    case property::lcd_max_characters:
        return "wLcdMaxCharacters";
    case property::lcd_max_lines:
        return "wLcdMaxLines";
    case property::min_pin_size:
        return "bMinPINSize";
    case property::max_pin_size:
        return "bMaxPINSize";
    case property::firmware_id:
        return "sFirmwareID";
    case property::ppdu_support:
        return "bPPDUSupport";
    case property::max_apdu_data_size:
        return "dwMaxAPDUDataSize";
    case property::id_vendor:
        return "wIdVendor";
    case property::id_product:
        return "wIdProduct";
    default:
        return fmt::format("tag_0x{:02X}", tag);
    }
}

TlvProperties parse_tlv_properties(ByteView answer) {
    TlvProperties out;
    std::size_t i = 0;
    while (i < answer.size()) {
        if (answer.size() - i < 2) {
            out.findings.push_back(
                finding(Severity::Warning, "tlv_properties_truncated",
                        fmt::format("TLV properties end inside a TLV header at byte {}", i)));
            break;
        }
        const std::uint8_t tag = answer[i];
        const std::size_t length = answer[i + 1];
        if (answer.size() - i - 2 < length) {
            out.findings.push_back(
                finding(Severity::Warning, "tlv_properties_truncated",
                        fmt::format("property {} announces {} bytes but only {} remain",
                                    tlv_property_name(tag), length, answer.size() - i - 2)));
            break;
        }
        const ByteView value = answer.subspan(i + 2, length);
        out.raw.push_back(TlvProperty{tag, Bytes(value.begin(), value.end())});
        i += 2 + length;

        std::size_t expected = 0;
        switch (tag) {
        case property::entry_validation_condition:
        case property::timeout2:
        case property::min_pin_size:
        case property::max_pin_size:
        case property::ppdu_support:
            expected = 1;
            break;
        case property::lcd_layout:
        case property::lcd_max_characters:
        case property::lcd_max_lines:
        case property::id_vendor:
        case property::id_product:
            expected = 2;
            break;
        case property::max_apdu_data_size:
            expected = 4;
            break;
        case property::firmware_id:
            out.firmware_id = std::string(value.begin(), value.end());
            continue;
        default:
            out.findings.push_back(
                finding(Severity::Info, "tlv_property_unknown",
                        fmt::format("unknown TLV property tag 0x{:02X} ({} bytes)", tag, length)));
            continue;
        }
        if (length != expected) {
            out.findings.push_back(
                finding(Severity::Warning, "tlv_property_bad_length",
                        fmt::format("{} has {} bytes; PC/SC part 10 §2.6.14 says {}",
                                    tlv_property_name(tag), length, expected)));
            continue;
        }
        const std::uint32_t v = little_endian(value);
        switch (tag) {
        case property::lcd_layout:
            out.lcd_layout = static_cast<std::uint16_t>(v);
            break;
        case property::entry_validation_condition:
            out.entry_validation_condition = static_cast<std::uint8_t>(v);
            break;
        case property::timeout2:
            out.timeout2 = static_cast<std::uint8_t>(v);
            break;
        case property::lcd_max_characters:
            out.lcd_max_characters = static_cast<std::uint16_t>(v);
            break;
        case property::lcd_max_lines:
            out.lcd_max_lines = static_cast<std::uint16_t>(v);
            break;
        case property::min_pin_size:
            out.min_pin_size = static_cast<std::uint8_t>(v);
            break;
        case property::max_pin_size:
            out.max_pin_size = static_cast<std::uint8_t>(v);
            break;
        case property::ppdu_support:
            out.ppdu_support = static_cast<std::uint8_t>(v);
            break;
        case property::max_apdu_data_size:
            out.max_apdu_data_size = v;
            break;
        case property::id_vendor:
            out.id_vendor = static_cast<std::uint16_t>(v);
            break;
        case property::id_product:
            out.id_product = static_cast<std::uint16_t>(v);
            break;
        default:
            break;
        }
    }
    return out;
}

} // namespace harness::pcsc
