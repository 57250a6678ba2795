// The PC/SC reader JSON contract (readers --json): keys, nulls for unavailable facts, failures
// kept.
#include "cli/json_pcsc.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;

namespace {

model::PcscReader ccid_reader() {
    model::PcscReader r;
    r.name = "SONY FeliCa RC-S300/P 00 00";
    r.state.present = true;
    r.state.raw = 0x00010022;
    r.state.event_count = 1;
    r.atr = {0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F};
    r.access = "shared";
    r.protocol = "T=1";
    r.vendor_name = "SONY";
    r.vendor_ifd_version = 0x01000000;
    r.channel_id = 0x00200305; // USB bus 3, address 5
    r.max_input = 512;
    r.features = std::vector<pcsc::Feature>{{pcsc::feature::get_tlv_properties, 0x42330012}};
    pcsc::TlvProperties tlv;
    tlv.raw = {{pcsc::property::id_vendor, {0x4C, 0x05}}};
    tlv.id_vendor = 0x054C;
    r.tlv_properties = tlv;
    r.failures.push_back({"SCARD_ATTR_VENDOR_IFD_SERIAL_NO", "SCardGetAttrib", 0x8010001F,
                          "SCARD_E_UNSUPPORTED_FEATURE", "Feature not supported."});
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(renders_every_contract_key) {
    const auto j = cli::to_json(ccid_reader());
    for (const char* key :
         {"name", "state", "atr", "access", "protocol", "vendor_name", "vendor_ifd_type",
          "vendor_ifd_version", "vendor_ifd_serial", "channel_id", "usb_bus", "usb_address",
          "max_input", "features", "tlv_properties", "failures", "findings"})
        BOOST_TEST(j.contains(key), key);
    BOOST_TEST(j["atr"] == "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F");
    BOOST_TEST(j["state"]["present"] == true);
    BOOST_TEST(j["state"]["event_count"] == 1);
    BOOST_TEST(j["usb_bus"] == 3);
    BOOST_TEST(j["usb_address"] == 5);
    BOOST_TEST(j["vendor_ifd_version"] == 0x01000000);
    BOOST_TEST(j["vendor_ifd_type"].is_null());
    BOOST_TEST(j["features"][0]["name"] == "FEATURE_GET_TLV_PROPERTIES");
    BOOST_TEST(j["features"][0]["control_code"] == 0x42330012);
    BOOST_TEST(j["tlv_properties"]["id_vendor"] == 0x054C);
    BOOST_TEST(j["tlv_properties"]["id_product"].is_null());
    BOOST_TEST(j["tlv_properties"]["raw"][0]["name"] == "wIdVendor");
    BOOST_TEST(j["tlv_properties"]["raw"][0]["value"] == "4C 05");
    BOOST_TEST(j["failures"][0]["code_name"] == "SCARD_E_UNSUPPORTED_FEATURE");
    BOOST_TEST(j["failures"][0]["raw_code"] == 0x8010001F);
}

BOOST_AUTO_TEST_CASE(unavailable_facts_are_null_not_absent) {
    model::PcscReader r;
    r.name = "Virtual PCD 00 01";
    r.state.empty = true;
    r.access = "direct";
    r.channel_id = 0x00000001; // not the USB channel type: no bus/address
    const auto j = cli::to_json(std::vector<model::PcscReader>{r});
    BOOST_TEST_REQUIRE(j.is_array());
    BOOST_TEST(j[0]["atr"] == "");
    BOOST_TEST(j[0]["protocol"].is_null());
    BOOST_TEST(j[0]["features"].is_null());
    BOOST_TEST(j[0]["tlv_properties"].is_null());
    BOOST_TEST(j[0]["usb_bus"].is_null());
    BOOST_TEST(j[0]["failures"].empty());
}

BOOST_AUTO_TEST_CASE(text_mentions_the_essentials) {
    const std::string text = cli::to_text(ccid_reader());
    for (const char* part :
         {"SONY FeliCa RC-S300/P 00 00", "ATR: 3B 88 80 01", "T=1", "USB bus 003 address 005",
          "FEATURE_GET_TLV_PROPERTIES", "not available: SCARD_ATTR_VENDOR_IFD_SERIAL_NO"})
        BOOST_TEST(text.find(part) != std::string::npos, part);
}
