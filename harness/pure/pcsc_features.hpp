#pragma once
// PC/SC part 10 reader features: the CM_IOCTL_GET_FEATURE_REQUEST answer (§2.2) and the
// FEATURE_GET_TLV_PROPERTIES answer (§2.6.14). Pure decoding: the SCardControl calls live in
// backends/pcsc. Both parsers return what they could read plus findings, never throw.
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::pcsc {

// SCARD_CTL_CODE(3400) as pcsc-lite defines it (reader.h); Windows uses another base.
inline constexpr std::uint32_t ctl_code_base = 0x42000000;
inline constexpr std::uint32_t ioctl_get_feature_request = ctl_code_base + 3400;

namespace feature {
inline constexpr std::uint8_t verify_pin_start = 0x01;
inline constexpr std::uint8_t verify_pin_finish = 0x02;
inline constexpr std::uint8_t modify_pin_start = 0x03;
inline constexpr std::uint8_t modify_pin_finish = 0x04;
inline constexpr std::uint8_t get_key_pressed = 0x05;
inline constexpr std::uint8_t verify_pin_direct = 0x06;
inline constexpr std::uint8_t modify_pin_direct = 0x07;
inline constexpr std::uint8_t mct_reader_direct = 0x08;
inline constexpr std::uint8_t mct_universal = 0x09;
inline constexpr std::uint8_t ifd_pin_properties = 0x0A;
inline constexpr std::uint8_t abort = 0x0B;
inline constexpr std::uint8_t set_spe_message = 0x0C;
inline constexpr std::uint8_t verify_pin_direct_app_id = 0x0D;
inline constexpr std::uint8_t modify_pin_direct_app_id = 0x0E;
inline constexpr std::uint8_t write_display = 0x0F;
inline constexpr std::uint8_t get_key = 0x10;
inline constexpr std::uint8_t ifd_display_properties = 0x11;
inline constexpr std::uint8_t get_tlv_properties = 0x12;
inline constexpr std::uint8_t ccid_esc_command = 0x13;
inline constexpr std::uint8_t execute_pace = 0x20;
} // namespace feature

namespace property {
inline constexpr std::uint8_t lcd_layout = 1;                 // wLcdLayout
inline constexpr std::uint8_t entry_validation_condition = 2; // bEntryValidationCondition
inline constexpr std::uint8_t timeout2 = 3;                   // bTimeOut2
inline constexpr std::uint8_t lcd_max_characters = 4;         // wLcdMaxCharacters
inline constexpr std::uint8_t lcd_max_lines = 5;              // wLcdMaxLines
inline constexpr std::uint8_t min_pin_size = 6;               // bMinPINSize
inline constexpr std::uint8_t max_pin_size = 7;               // bMaxPINSize
inline constexpr std::uint8_t firmware_id = 8;                // sFirmwareID
inline constexpr std::uint8_t ppdu_support = 9;               // bPPDUSupport
inline constexpr std::uint8_t max_apdu_data_size = 10;        // dwMaxAPDUDataSize
inline constexpr std::uint8_t id_vendor = 11;                 // wIdVendor
inline constexpr std::uint8_t id_product = 12;                // wIdProduct
} // namespace property

struct Feature {
    std::uint8_t tag = 0;
    std::uint32_t control_code = 0; // the SCardControl code to use for this feature
    bool operator==(const Feature&) const = default;
};

// "FEATURE_VERIFY_PIN_DIRECT", or "FEATURE_0x42" for a tag the spec does not name.
std::string feature_name(std::uint8_t tag);

struct FeatureList {
    std::vector<Feature> features;
    Findings findings;
};

// PC/SC part 10 §2.2: a sequence of TLV, tag (1), length 4, control code (4, big endian).
FeatureList parse_feature_request(ByteView answer);

std::optional<std::uint32_t> find_feature(const std::vector<Feature>& features, std::uint8_t tag);

struct TlvProperty {
    std::uint8_t tag = 0;
    Bytes value;
    bool operator==(const TlvProperty&) const = default;
};

// "wIdVendor" etc., or "tag_0x42" for a tag the spec does not name.
std::string tlv_property_name(std::uint8_t tag);

// PC/SC part 10 §2.6.14 properties; integers are little endian. Unknown tags stay in `raw`.
struct TlvProperties {
    std::vector<TlvProperty> raw; // every TLV in the order given
    std::optional<std::uint16_t> lcd_layout;
    std::optional<std::uint8_t> entry_validation_condition;
    std::optional<std::uint8_t> timeout2;
    std::optional<std::uint16_t> lcd_max_characters;
    std::optional<std::uint16_t> lcd_max_lines;
    std::optional<std::uint8_t> min_pin_size;
    std::optional<std::uint8_t> max_pin_size;
    std::optional<std::string> firmware_id;
    std::optional<std::uint8_t> ppdu_support;
    std::optional<std::uint32_t> max_apdu_data_size;
    std::optional<std::uint16_t> id_vendor;
    std::optional<std::uint16_t> id_product;
    Findings findings;
};

TlvProperties parse_tlv_properties(ByteView answer);

} // namespace harness::pcsc
