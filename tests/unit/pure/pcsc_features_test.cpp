#include "pure/pcsc_features.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace harness::pcsc;

namespace {
bool has_finding(const Findings& findings, const std::string& code) {
    return std::any_of(findings.begin(), findings.end(),
                       [&](const Finding& f) { return f.code == code; });
}
} // namespace

BOOST_AUTO_TEST_CASE(ioctl_matches_pcsc_lite) {
    BOOST_TEST(ioctl_get_feature_request == 0x42000D48u); // SCARD_CTL_CODE(3400)
}

BOOST_AUTO_TEST_CASE(parses_a_ccid_pinpad_feature_list) {
    // As the CCID driver answers for a PIN pad reader: big-endian SCARD_CTL_CODE(3400 + tag).
    const Bytes answer{0x06, 0x04, 0x42, 0x33, 0x00, 0x06, 0x07, 0x04, 0x42, 0x33, 0x00, 0x07,
                       0x0A, 0x04, 0x42, 0x33, 0x00, 0x0A, 0x12, 0x04, 0x42, 0x33, 0x00, 0x12};
    const FeatureList list = parse_feature_request(answer);
    BOOST_TEST(list.findings.empty());
    BOOST_TEST_REQUIRE(list.features.size() == 4u);
    BOOST_TEST(list.features[0].tag == feature::verify_pin_direct);
    BOOST_TEST(list.features[0].control_code == 0x42330006u);
    BOOST_TEST(find_feature(list.features, feature::get_tlv_properties).value() == 0x42330012u);
    BOOST_TEST(!find_feature(list.features, feature::ccid_esc_command).has_value());
}

BOOST_AUTO_TEST_CASE(feature_list_oddities_become_findings) {
    struct Case {
        Bytes answer;
        std::size_t features;
        const char* finding;
    };
    const Case cases[] = {
        {{}, 0, nullptr},
        {{0x12}, 0, "feature_list_truncated"},
        {{0x12, 0x04, 0x42, 0x33}, 0, "feature_list_truncated"},
        {{0x12, 0x02, 0x42, 0x33, 0x06, 0x04, 0x42, 0x33, 0x00, 0x06}, 1, "feature_bad_length"},
        {{0x12, 0x04, 0x42, 0x33, 0x00, 0x12, 0x12, 0x04, 0x42, 0x33, 0x00, 0x12},
         1,
         "feature_duplicate"},
    };
    for (const auto& c : cases) {
        const FeatureList list = parse_feature_request(c.answer);
        BOOST_TEST(list.features.size() == c.features);
        if (c.finding)
            BOOST_TEST(has_finding(list.findings, c.finding), c.finding);
        else
            BOOST_TEST(list.findings.empty());
    }
}

BOOST_AUTO_TEST_CASE(names_features_and_properties) {
    BOOST_TEST(feature_name(feature::verify_pin_direct) == "FEATURE_VERIFY_PIN_DIRECT");
    BOOST_TEST(feature_name(feature::get_tlv_properties) == "FEATURE_GET_TLV_PROPERTIES");
    BOOST_TEST(feature_name(feature::execute_pace) == "FEATURE_EXECUTE_PACE");
    BOOST_TEST(feature_name(0x42) == "FEATURE_0x42");
    BOOST_TEST(tlv_property_name(property::max_apdu_data_size) == "dwMaxAPDUDataSize");
    BOOST_TEST(tlv_property_name(0x42) == "tag_0x42");
}

BOOST_AUTO_TEST_CASE(parses_ccid_tlv_properties_little_endian) {
    // As the CCID driver answers for an extended-APDU reader 054C:0DC8 (Sony RC-S300-like).
    const Bytes answer{0x02, 0x01, 0x07,                   // bEntryValidationCondition
                       0x09, 0x01, 0x03,                   // bPPDUSupport
                       0x0B, 0x02, 0x4C, 0x05,             // wIdVendor 054C
                       0x0C, 0x02, 0xC8, 0x0D,             // wIdProduct 0DC8
                       0x0A, 0x04, 0x00, 0x00, 0x01, 0x00, // dwMaxAPDUDataSize 65536
                       0x08, 0x03, 'F',  'W',  '1'};       // sFirmwareID
    const TlvProperties p = parse_tlv_properties(answer);
    BOOST_TEST(p.findings.empty());
    BOOST_TEST(p.raw.size() == 6u);
    BOOST_TEST(p.entry_validation_condition.value() == 7);
    BOOST_TEST(p.ppdu_support.value() == 3);
    BOOST_TEST(p.id_vendor.value() == 0x054C);
    BOOST_TEST(p.id_product.value() == 0x0DC8);
    BOOST_TEST(p.max_apdu_data_size.value() == 65536u);
    BOOST_TEST(p.firmware_id.value() == "FW1");
    BOOST_TEST(!p.lcd_layout.has_value());
    BOOST_TEST(!p.min_pin_size.has_value());
}

BOOST_AUTO_TEST_CASE(parses_pin_pad_properties) {
    const Bytes answer{0x01, 0x02, 0x10, 0x02, 0x03, 0x01, 0x00, 0x04, 0x02, 0x10, 0x00,
                       0x05, 0x02, 0x02, 0x00, 0x06, 0x01, 0x04, 0x07, 0x01, 0x08};
    const TlvProperties p = parse_tlv_properties(answer);
    BOOST_TEST(p.findings.empty());
    BOOST_TEST(p.lcd_layout.value() == 0x0210);
    BOOST_TEST(p.timeout2.value() == 0);
    BOOST_TEST(p.lcd_max_characters.value() == 16);
    BOOST_TEST(p.lcd_max_lines.value() == 2);
    BOOST_TEST(p.min_pin_size.value() == 4);
    BOOST_TEST(p.max_pin_size.value() == 8);
}

BOOST_AUTO_TEST_CASE(tlv_oddities_become_findings_and_keep_the_rest) {
    struct Case {
        Bytes answer;
        const char* finding;
        std::size_t raw;
    };
    const Case cases[] = {
        {{0x0B, 0x02, 0x4C}, "tlv_properties_truncated", 0},
        {{0x0B}, "tlv_properties_truncated", 0},
        {{0x0B, 0x01, 0x4C, 0x0C, 0x02, 0xC8, 0x0D}, "tlv_property_bad_length", 2},
        {{0x42, 0x01, 0x00, 0x0C, 0x02, 0xC8, 0x0D}, "tlv_property_unknown", 2},
    };
    for (const auto& c : cases) {
        const TlvProperties p = parse_tlv_properties(c.answer);
        BOOST_TEST(has_finding(p.findings, c.finding), c.finding);
        BOOST_TEST(p.raw.size() == c.raw);
        BOOST_TEST(!p.id_vendor.has_value());
    }
    BOOST_TEST(
        parse_tlv_properties(Bytes{0x0B, 0x01, 0x4C, 0x0C, 0x02, 0xC8, 0x0D}).id_product.value() ==
        0x0DC8);
}
