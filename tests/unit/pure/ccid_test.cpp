#include "pure/ccid.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <set>
#include <string>

using namespace harness;
using namespace harness::ccid;

namespace {

bool has_code(const Findings& findings, const std::string& code) {
    return std::any_of(findings.begin(), findings.end(),
                       [&](const Finding& f) { return f.code == code; });
}

bool has_reason(const Prediction& p, const std::string& code) {
    return std::any_of(p.reasons.begin(), p.reasons.end(),
                       [&](const Reason& r) { return r.code == code; });
}

// A well-behaved reader: CCID 1.10, T=0+T=1, short+extended APDU, automatic PPS, 271 bytes.
Descriptor good() {
    Descriptor d;
    d.features = 0x000400FE;
    d.max_message_length = 65544 + 10;
    return d;
}

// Sony RC-S300-like: extended level, dwMaxCCIDMessageLength 522 (domain §9).
Descriptor rcs300_like() {
    Descriptor d;
    d.protocols = 0x2;
    d.features = 0x000404BE;
    d.max_message_length = 522;
    return d;
}

Bytes ep(std::uint8_t address, std::uint8_t attributes) {
    return {7, 0x05, address, attributes, 0x40, 0x00, 0};
}

Bytes iface(std::uint8_t number, std::uint8_t cls, std::uint8_t endpoints) {
    return {9, 0x04, number, 0, endpoints, cls, 0, 0, 0};
}

void append(Bytes& out, const Bytes& more) {
    out.insert(out.end(), more.begin(), more.end());
}

Bytes configuration(const std::vector<Bytes>& parts) {
    Bytes body;
    for (const auto& p : parts)
        append(body, p);
    const auto total = static_cast<std::uint16_t>(body.size() + 9);
    Bytes out{9,
              0x02,
              static_cast<std::uint8_t>(total),
              static_cast<std::uint8_t>(total >> 8U),
              1,
              1,
              0,
              0x80,
              50};
    append(out, body);
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(decodes_every_field_at_its_offset_little_endian) {
    Bytes raw(descriptor_length);
    for (std::size_t i = 0; i < raw.size(); ++i)
        raw[i] = static_cast<std::uint8_t>(i + 1);
    const auto d = decode(raw).descriptor;
    BOOST_TEST(d.length == 0x01);
    BOOST_TEST(d.type == 0x02);
    BOOST_TEST(d.bcd_ccid == 0x0403);
    BOOST_TEST(d.max_slot_index == 0x05);
    BOOST_TEST(d.voltage_support == 0x06);
    BOOST_TEST(d.protocols == 0x0A090807U);
    BOOST_TEST(d.default_clock_khz == 0x0E0D0C0BU);
    BOOST_TEST(d.maximum_clock_khz == 0x1211100FU);
    BOOST_TEST(d.num_clock_supported == 0x13);
    BOOST_TEST(d.data_rate_bps == 0x17161514U);
    BOOST_TEST(d.max_data_rate_bps == 0x1B1A1918U);
    BOOST_TEST(d.num_data_rates_supported == 0x1C);
    BOOST_TEST(d.max_ifsd == 0x201F1E1DU);
    BOOST_TEST(d.synch_protocols == 0x24232221U);
    BOOST_TEST(d.mechanical == 0x28272625U);
    BOOST_TEST(d.features == 0x2C2B2A29U);
    BOOST_TEST(d.max_message_length == 0x302F2E2DU);
    BOOST_TEST(d.class_get_response == 0x31);
    BOOST_TEST(d.class_envelope == 0x32);
    BOOST_TEST(d.lcd_layout == 0x3433);
    BOOST_TEST(d.pin_support == 0x35);
    BOOST_TEST(d.max_busy_slots == 0x36);
    BOOST_TEST(encode(d) == raw);
}

BOOST_AUTO_TEST_CASE(encode_is_54_bytes_and_round_trips) {
    for (const auto& d : {Descriptor{}, good(), rcs300_like()}) {
        const auto bytes = encode(d);
        BOOST_TEST(bytes.size() == descriptor_length);
        BOOST_TEST(bytes[0] == 0x36);
        BOOST_TEST(bytes[1] == 0x21);
        BOOST_TEST((decode(bytes).descriptor == d));
    }
}

BOOST_AUTO_TEST_CASE(exchange_level_from_feature_byte_2) {
    struct Case {
        std::uint32_t features;
        ExchangeLevel level;
        const char* name;
    };
    for (auto [features, level, name] :
         {Case{0x00000000, ExchangeLevel::Character, "character"},
          Case{0x000100BA, ExchangeLevel::Tpdu, "tpdu"},
          Case{0x000204BA, ExchangeLevel::ShortApdu, "short_apdu"},
          Case{0x000400FE, ExchangeLevel::ExtendedApdu, "extended_apdu"},
          Case{0x00030000, ExchangeLevel::Reserved, "reserved"},
          Case{0x00070000, ExchangeLevel::Reserved, "reserved"}}) {
        Descriptor d;
        d.features = features;
        BOOST_TEST((d.exchange_level() == level), name);
        BOOST_TEST(std::string(to_string(level)) == name);
        BOOST_TEST((exchange_level_from_string(name) == level));
    }
    BOOST_TEST(!exchange_level_from_string("apdu").has_value());
}

BOOST_AUTO_TEST_CASE(every_feature_bit_has_a_name_and_the_parse_wording) {
    std::set<std::string> names;
    std::uint32_t all = 0;
    for (const auto& bit : feature_bits()) {
        BOOST_TEST(std::string(bit.text).size() > 5);
        BOOST_TEST(std::string(bit.tag).size() == 6);
        names.insert(bit.name);
        all |= bit.mask;
        const auto listed = feature_names(bit.mask | 0x00010000U);
        BOOST_TEST((std::find(listed.begin(), listed.end(), bit.name) != listed.end()), bit.name);
        BOOST_TEST(unknown_feature_bits(bit.mask) == 0U);
    }
    BOOST_TEST(names.size() == feature_bits().size());
    BOOST_TEST(all == 0x00100FFEU);
    BOOST_TEST(unknown_feature_bits(0x00000001U) == 0x00000001U);
    BOOST_TEST(unknown_feature_bits(0x80081000U | 0x000400FEU) == 0x80081000U);
    const auto names_of = feature_names(0x000400C1U);
    const std::vector<std::string> expected{"auto_param_negotiation", "auto_pps",
                                            "level_extended_apdu", "unknown_0x00000001"};
    BOOST_TEST(names_of == expected, boost::test_tools::per_element());
    // The other bit fields, as parse names them.
    BOOST_TEST(std::string(voltage_bits()[0].text) == "5.0V");
    BOOST_TEST(std::string(protocol_bits()[1].text) == "T=1");
    BOOST_TEST(std::string(synch_bits()[2].text) == "I2C protocol");
    BOOST_TEST(std::string(mechanical_bits()[3].text) == "Card lock/unlock mechanism");
    BOOST_TEST(std::string(pin_bits()[1].text) == "PIN Modification supported");
}

BOOST_AUTO_TEST_CASE(derived_values) {
    Descriptor d;
    d.protocols = 0x3;
    d.max_slot_index = 2;
    BOOST_TEST(d.supports_t0());
    BOOST_TEST(d.supports_t1());
    BOOST_TEST(d.slots() == 3U);
    BOOST_TEST((d.protocol_numbers() == std::vector<int>{0, 1}));
    d.protocols = 0x2;
    BOOST_TEST(!d.supports_t0());
    BOOST_TEST((d.protocol_numbers() == std::vector<int>{1}));
    // Reserved bits are a finding (reserved_protocol_bits), never "T=8" or "T=17".
    d.protocols = 0x00020003;
    BOOST_TEST((d.protocol_numbers() == std::vector<int>{0, 1}));
    d.protocols = 0x00000300;
    BOOST_TEST(d.protocol_numbers().empty());
}

BOOST_AUTO_TEST_CASE(a_good_descriptor_has_no_warnings) {
    const auto findings = check(good());
    for (const auto& f : findings)
        BOOST_TEST((f.severity == Severity::Info), f.code);
    BOOST_TEST(decode(encode(good())).findings.empty());
}

BOOST_AUTO_TEST_CASE(each_finding_is_raised_by_its_oddity) {
    struct Case {
        const char* code;
        std::function<void(Descriptor&)> make;
    };
    const std::vector<Case> cases{
        {"unexpected_length", [](Descriptor& d) { d.length = 0x35; }},
        {"proprietary_descriptor_type", [](Descriptor& d) { d.type = 0xFF; }},
        {"unexpected_descriptor_type", [](Descriptor& d) { d.type = 0x22; }},
        {"unusual_bcd_ccid", [](Descriptor& d) { d.bcd_ccid = 0x1000; }},
        {"no_voltage", [](Descriptor& d) { d.voltage_support = 0; }},
        {"no_protocol", [](Descriptor& d) { d.protocols = 0; }},
        {"reserved_protocol_bits", [](Descriptor& d) { d.protocols = 0x00020003; }},
        {"default_clock_above_maximum", [](Descriptor& d) { d.default_clock_khz = 5000; }},
        {"data_rate_above_maximum",
         [](Descriptor& d) { d.data_rate_bps = d.max_data_rate_bps + 1; }},
        {"max_ifsd_zero", [](Descriptor& d) { d.max_ifsd = 0; }},
        {"no_busy_slots", [](Descriptor& d) { d.max_busy_slots = 0; }},
        {"multi_slot", [](Descriptor& d) { d.max_slot_index = 1; }},
        {"unknown_feature_bits", [](Descriptor& d) { d.features |= 0x01000000; }},
        {"message_length_too_small", [](Descriptor& d) { d.max_message_length = 10; }},
        {"character_level", [](Descriptor& d) { d.features = 0x000000FE; }},
        {"reserved_exchange_level", [](Descriptor& d) { d.features = 0x000300FE; }},
        {"tpdu_without_t1",
         [](Descriptor& d) {
             d.features = 0x000100FE;
             d.protocols = 1;
         }},
        {"no_t1", [](Descriptor& d) { d.protocols = 1; }},
        {"short_apdu_message_too_small",
         [](Descriptor& d) {
             d.features = 0x000200FE;
             d.max_message_length = 270;
         }},
        {"response_258_does_not_fit",
         [](Descriptor& d) {
             d.features = 0x000200FE;
             d.max_message_length = 267;
         }},
        {"extended_needs_chaining", [](Descriptor& d) { d.max_message_length = 522; }},
        {"no_automatic_pps", [](Descriptor& d) { d.features = 0x0004003E; }},
    };
    for (const auto& c : cases) {
        BOOST_TEST(!has_code(check(good()), c.code), c.code);
        auto d = good();
        c.make(d);
        const auto findings = check(d);
        BOOST_TEST(has_code(findings, c.code), c.code);
        for (const auto& f : findings) {
            BOOST_TEST(!f.message.empty(), f.code);
            BOOST_TEST(!f.message_ja.empty(), f.code);
        }
    }
}

BOOST_AUTO_TEST_CASE(message_length_thresholds) {
    auto at = [](std::uint32_t features, std::uint32_t length) {
        auto d = good();
        d.features = features;
        d.max_message_length = length;
        return check(d);
    };
    BOOST_TEST(!has_code(at(0x000200FE, 271), "short_apdu_message_too_small"));
    BOOST_TEST(has_code(at(0x000200FE, 270), "short_apdu_message_too_small"));
    BOOST_TEST(!has_code(at(0x000200FE, 268), "response_258_does_not_fit"));
    BOOST_TEST(has_code(at(0x000200FE, 268), "short_apdu_message_too_small"));
    BOOST_TEST(has_code(at(0x000400FE, 267), "response_258_does_not_fit"));
    BOOST_TEST(!has_code(at(0x000100FE, 200), "response_258_does_not_fit")); // T=1 TPDU splits
    BOOST_TEST(
        has_code(at(0x000400FE, 65553), "extended_needs_chaining")); // 65544-byte APDU + 10 header
    BOOST_TEST(!has_code(at(0x000400FE, 65554), "extended_needs_chaining"));
    BOOST_TEST(!has_code(at(0x000200FE, 261), "extended_needs_chaining"));
}

BOOST_AUTO_TEST_CASE(truncated_and_long_input_are_findings_not_exceptions) {
    auto bytes = encode(good());
    bytes.resize(20);
    const auto short_one = decode(bytes);
    BOOST_TEST(has_code(short_one.findings, "descriptor_truncated"));
    BOOST_TEST(short_one.descriptor.max_message_length == 0U);
    BOOST_TEST(short_one.descriptor.default_clock_khz == good().default_clock_khz);
    auto longer = encode(good());
    longer.push_back(0x99);
    const auto long_one = decode(longer);
    BOOST_TEST(has_code(long_one.findings, "descriptor_too_long"));
    BOOST_TEST((long_one.descriptor == good()));
    BOOST_TEST(has_code(decode(Bytes{}).findings, "descriptor_truncated"));
}

BOOST_AUTO_TEST_CASE(prediction_rcs300_like_extended_522_is_likely) {
    const auto p = predict(rcs300_like());
    BOOST_TEST(std::string(to_string(p.likelihood)) == "likely");
    BOOST_TEST(has_reason(p, "t1_supported"));
    BOOST_TEST(has_reason(p, "response_258_fits"));
    BOOST_TEST(has_reason(p, "extended_via_chaining"));
    BOOST_TEST(has_reason(p, "pps_by_reader"));
    for (const auto& r : p.reasons) {
        BOOST_TEST(!r.message.empty());
        BOOST_TEST(!r.message_ja.empty());
    }
}

BOOST_AUTO_TEST_CASE(prediction_short_apdu_261_cannot_carry_258_bytes) {
    auto d = good();
    d.features = 0x000204BA;
    d.max_message_length = 261;
    const auto p = predict(d);
    BOOST_TEST(std::string(to_string(p.likelihood)) == "unlikely");
    BOOST_TEST(has_reason(p, "response_258_too_big"));
    BOOST_TEST(has_reason(p, "extended_impossible"));
}

BOOST_AUTO_TEST_CASE(prediction_short_apdu_271_is_at_risk_only_for_extended) {
    auto d = good();
    d.features = 0x000204BA;
    d.max_message_length = 271;
    const auto p = predict(d);
    BOOST_TEST(std::string(to_string(p.likelihood)) == "at_risk");
    BOOST_TEST(has_reason(p, "response_258_fits"));
    BOOST_TEST(has_reason(p, "extended_impossible"));
}

BOOST_AUTO_TEST_CASE(prediction_tpdu_t1_is_likely_through_t1_blocks) {
    auto d = good();
    d.features = 0x00010030; // TPDU, no automatic PPS: the driver makes it
    d.max_message_length = 271;
    const auto p = predict(d);
    BOOST_TEST(std::string(to_string(p.likelihood)) == "likely");
    BOOST_TEST(has_reason(p, "response_258_t1_blocks"));
    BOOST_TEST(has_reason(p, "extended_via_t1"));
    BOOST_TEST(has_reason(p, "pps_by_driver"));
    d.max_ifsd = 0;
    BOOST_TEST(std::string(to_string(predict(d).likelihood)) == "at_risk");
    d.max_ifsd = 254;
    d.max_message_length = 100;
    BOOST_TEST(has_reason(predict(d), "t1_block_too_big"));
}

BOOST_AUTO_TEST_CASE(prediction_tpdu_t0_only_is_unlikely) {
    auto d = good();
    d.features = 0x000100BA;
    d.protocols = 0x1;
    const auto p = predict(d);
    BOOST_TEST(std::string(to_string(p.likelihood)) == "unlikely");
    BOOST_TEST(has_reason(p, "t1_missing"));
}

BOOST_AUTO_TEST_CASE(prediction_character_level_is_at_risk) {
    auto d = good();
    d.features = 0x00000030;
    const auto p = predict(d);
    BOOST_TEST(std::string(to_string(p.likelihood)) == "at_risk");
    BOOST_TEST(has_reason(p, "character_level"));
}

BOOST_AUTO_TEST_CASE(prediction_native_extended_and_unclear_pps) {
    auto p = predict(good());
    BOOST_TEST(has_reason(p, "extended_native"));
    auto d = good();
    d.features = 0x0004003E; // APDU level without automatic PPS or negotiation
    p = predict(d);
    BOOST_TEST(has_reason(p, "pps_unclear"));
    BOOST_TEST(std::string(to_string(p.likelihood)) == "at_risk");
    d = good();
    d.max_data_rate_bps = 10752; // 4 MHz * 4 / 372 = 43010 bps needed
    BOOST_TEST(has_reason(predict(d), "di4_above_max_rate"));
    BOOST_TEST(!has_reason(predict(good()), "di4_above_max_rate"));
}

BOOST_AUTO_TEST_CASE(locates_descriptors_in_configuration_bytes) {
    const auto ccid = encode(good());
    auto vendor = encode(rcs300_like());
    const auto config = configuration({
        iface(0, 0x0B, 3), ccid, ep(0x81, 2), ep(0x02, 2), ep(0x83, 3), // §5.1 placement
        iface(1, 0xFF, 2), ep(0x84, 2), ep(0x05, 2), vendor, // class 0xFF, after endpoints
        iface(2, 0x03, 1), ep(0x86, 3),                      // HID: ignored
        iface(3, 0x0B, 2), ep(0x87, 2), ep(0x08, 2),         // CCID without descriptor
    });
    const auto result = locate_in_configuration(config);
    BOOST_TEST_REQUIRE(result.interfaces.size() == 2U);
    const auto& first = result.interfaces[0];
    BOOST_TEST(first.interface.number == 0);
    BOOST_TEST(first.interface.interface_class == 0x0B);
    BOOST_TEST(std::string(to_string(first.placement)) == "interface_extra");
    BOOST_TEST((first.descriptor == good()));
    BOOST_TEST(!has_code(first.findings, "vendor_class_interface"));
    const auto& second = result.interfaces[1];
    BOOST_TEST(second.interface.number == 1);
    BOOST_TEST(std::string(to_string(second.placement)) == "after_endpoints");
    BOOST_TEST((second.descriptor == rcs300_like()));
    BOOST_TEST(has_code(second.findings, "vendor_class_interface"));
    BOOST_TEST(has_code(second.findings, "descriptor_after_endpoints"));
    BOOST_TEST(has_code(result.findings, "ccid_interface_without_descriptor"));
}

BOOST_AUTO_TEST_CASE(locate_skips_a_leading_device_descriptor_and_reports_malformed_bytes) {
    Bytes sysfs{18, 0x01, 0x00, 0x02, 0, 0, 0, 64, 0x4C, 0x05, 0xDC, 0x0D, 0x00, 0x01, 1, 2, 3, 1};
    append(sysfs, configuration({iface(0, 0x0B, 0), encode(good())}));
    const auto ok = locate_in_configuration(sysfs);
    BOOST_TEST(ok.interfaces.size() == 1U);
    BOOST_TEST(ok.findings.empty());

    auto broken = configuration({iface(0, 0x0B, 0), encode(good())});
    broken.resize(broken.size() - 3);
    const auto cut = locate_in_configuration(broken);
    BOOST_TEST(cut.interfaces.empty());
    BOOST_TEST(has_code(cut.findings, "descriptor_overruns"));
    BOOST_TEST(has_code(cut.findings, "ccid_interface_without_descriptor"));

    const auto zero = locate_in_configuration(Bytes{9, 0x02, 9, 0, 1, 1, 0, 0x80, 50, 0, 0});
    BOOST_TEST(has_code(zero.findings, "malformed_descriptor"));
    BOOST_TEST(
        has_code(locate_in_configuration(Bytes{9, 0x02, 10, 0, 1, 1, 0, 0x80, 50, 7}).findings,
                 "trailing_bytes"));
}

BOOST_AUTO_TEST_CASE(locates_descriptors_in_libusb_extras) {
    InterfaceInfo info;
    info.number = 4;
    const auto ccid = encode(good());
    auto in_interface = locate_in_extras(info, ccid, {});
    BOOST_TEST_REQUIRE(in_interface.has_value());
    BOOST_TEST(in_interface->interface.number == 4);
    BOOST_TEST((in_interface->placement == Placement::InterfaceExtra));
    auto after = locate_in_extras(info, {}, ccid);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST((after->placement == Placement::AfterEndpoints));
    BOOST_TEST(has_code(after->findings, "descriptor_after_endpoints"));
    // A 54-byte descriptor among other class descriptors in the extra bytes.
    Bytes mixed{3, 0x24, 0x01};
    append(mixed, ccid);
    BOOST_TEST(locate_in_extras(info, mixed, {}).has_value());
    BOOST_TEST(!locate_in_extras(info, Bytes{3, 0x24, 0x01}, {}).has_value());
    BOOST_TEST(!locate_in_extras(info, {}, {}).has_value());
}
