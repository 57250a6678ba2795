#include "pure/ccid_driver_list.hpp"
#include "pure/error.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace harness;

namespace {

const char* const good = R"(<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<!-- <key>ifdVendorID</key> inside a comment does not count -->
	<key>ifdVendorID</key>
	<array>
		<string>0x072F</string>
		<string>0x054c</string>
		<string>0x04E6</string>
	</array>
	<key>ifdProductID</key>
	<array>
		<string>0xB100</string>
		<!-- RC-S300/S -->
		<string>0x0DC8</string>
		<string>0x5116</string>
	</array>
	<key>ifdFriendlyName</key>
	<array>
		<string>ACS ACR39U ICC Reader</string>
		<string>SONY FeliCa RC-S300/S</string>
		<string>Giesecke &amp; Devrient &lt;x&gt;</string>
	</array>
</dict>
</plist>
)";

std::string error_of(const std::string& text) {
    try {
        ccid_driver::parse_info_plist(text, "Info.plist");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

} // namespace

BOOST_AUTO_TEST_CASE(reads_index_aligned_arrays_and_decodes_entities) {
    const auto readers = ccid_driver::parse_info_plist(good, "Info.plist");
    BOOST_TEST_REQUIRE(readers.size() == 3U);
    BOOST_TEST(readers[0].vid == 0x072F);
    BOOST_TEST(readers[0].pid == 0xB100);
    BOOST_TEST(readers[0].name == "ACS ACR39U ICC Reader");
    BOOST_TEST(readers[1].vid == 0x054C); // lower-case hex accepted
    BOOST_TEST(readers[1].pid == 0x0DC8);
    BOOST_TEST(readers[2].name == "Giesecke & Devrient <x>");
}

BOOST_AUTO_TEST_CASE(errors_name_file_line_and_column) {
    struct Case {
        std::string text;
        std::string expected;
    };
    const Case cases[] = {
        {replace(good, "<string>0x054c</string>", "<string>054C</string>"),
         "Info.plist:8:11: expected a vendor ID like 0x072F"},
        {replace(good, "<string>0x5116</string>", "<string>0x51167</string>"),
         "Info.plist:16:11: expected a product ID like 0xB100"},
        {replace(good, "\t\t<string>0x0DC8</string>\n", ""),
         "Info.plist:16:10: expected 3 ifdProductID entries (as many as ifdVendorID), found 2"},
        {replace(good, "\t\t<string>ACS ACR39U ICC Reader</string>\n", ""),
         "Info.plist:22:10: expected 3 ifdFriendlyName entries (as many as ifdVendorID), found 2"},
        {replace(good, "<key>ifdFriendlyName</key>", "<key>Other</key>"),
         "Info.plist:1:1: expected a <key>ifdFriendlyName</key> entry (the CCID driver's reader "
         "list)"},
        {replace(good, "<string>0x072F</string>", "<integer>1</integer>"),
         "Info.plist:7:3: expected \"<string>\""},
        {replace(good, "Reader</string>", "Reader"), "Info.plist:21:3: expected \"</string>\""},
        {replace(good, "&amp;", "&bogus;"),
         "Info.plist:22:20: expected one of &amp; &lt; &gt; &quot; &apos;"},
    };
    for (const auto& c : cases)
        BOOST_TEST(error_of(c.text) == c.expected);
}

BOOST_AUTO_TEST_CASE(empty_arrays_give_an_empty_list) {
    const auto readers = ccid_driver::parse_info_plist(
        "<key>ifdVendorID</key><array></array><key>ifdProductID</key><array/>"
        "<key>ifdFriendlyName</key><array></array>",
        "x");
    BOOST_TEST(readers.empty());
}

BOOST_AUTO_TEST_CASE(add_readers_appends_to_the_three_arrays) {
    const std::string out = ccid_driver::add_readers(
        good, {{0xF1AB, 0x0101, "Lab TPDU Contact 100"}, {0xF1AB, 0x0261, "Lab A & B"}},
        "Info.plist");
    const auto readers = ccid_driver::parse_info_plist(out, "out");
    BOOST_TEST_REQUIRE(readers.size() == 5U);
    BOOST_TEST(readers[3].vid == 0xF1ABU);
    BOOST_TEST(readers[3].pid == 0x0101U);
    BOOST_TEST(readers[3].name == "Lab TPDU Contact 100");
    BOOST_TEST(readers[4].name == "Lab A & B"); // escaped in the XML, decoded again
    BOOST_TEST(out.find("Lab A &amp; B") != std::string::npos);
    // Everything else byte for byte: the system's entries stay first and unchanged.
    BOOST_TEST(out.find("<!-- RC-S300/S -->") != std::string::npos);
    BOOST_TEST(readers[0].name == "ACS ACR39U ICC Reader");
    BOOST_CHECK_THROW(ccid_driver::add_readers("<plist/>", {}, "x"), ConfigError);
}
