// The parse-dump reader on hand-made text (no shared data): values, old layouts, exact errors.
#include "pure/ccid_dump.hpp"
#include "pure/error.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace harness;
using namespace harness::ccid;

namespace {

const std::string header = " idVendor: 0x072F\n"
                           "  iManufacturer: ACS\n"
                           " idProduct: 0x223B\n"
                           "  iProduct: ACR1252 Dual Reader\n"
                           " bcdDevice: 1.00 (firmware release?)\n"
                           " bLength: 9\n"
                           " bDescriptorType: 4\n"
                           " bInterfaceNumber: 1\n"
                           " bAlternateSetting: 0\n"
                           " bNumEndpoints: 3\n"
                           "  bulk-IN, bulk-OUT and Interrupt-IN\n"
                           " bInterfaceClass: 0x0B [Chip Card Interface Device Class (CCID)]\n"
                           " bInterfaceSubClass: 0\n"
                           " bInterfaceProtocol: 0\n"
                           "  bulk transfer, optional interrupt-IN (CCID)\n"
                           " iInterface: ACR1252 Dual Reader SAM\n";

const std::string descriptor_text =
    " CCID Class Descriptor\n"
    "  bLength: 0x36\n"
    "  bDescriptorType: 0x21\n"
    "  bcdCCID: 1.10\n"
    "  bMaxSlotIndex: 0x00\n"
    "  bVoltageSupport: 0x01\n"
    "   5.0V\n"
    "  dwProtocols: 0x0000 0x0003\n"
    "   T=0\n"
    "   T=1\n"
    "  dwDefaultClock: 3.420 MHz\n"
    "  dwMaximumClock: 3.420 MHz\n"
    "  bNumClockSupported: 0 (will use whatever is returned)\n"
    "   IFD does not support GET CLOCK FREQUENCIES request: Success\n"
    "  dwDataRate: 9193 bps\n"
    "  dwMaxDataRate: 213750 bps\n"
    "  bNumDataRatesSupported: 0 (will use whatever is returned)\n"
    "   IFD does not support GET_DATA_RATES request: Success\n"
    "  dwMaxIFSD: 254\n"
    "  dwSynchProtocols: 0x00000000\n"
    "  dwMechanical: 0x00000000\n"
    "   No special characteristics\n"
    "  dwFeatures: 0x000204BA\n"
    "   ....02 Automatic parameter configuration based on ATR data\n"
    "   ....08 Automatic ICC voltage selection\n"
    "   ....10 Automatic ICC clock frequency change according to parameters\n"
    "   ....20 Automatic baud rate change according to frequency and Fi, Di params\n"
    "   ....80 Automatic PPS made by the CCID\n"
    "   ..04.. Automatic IFSD exchange as first exchange (T=1)\n"
    "   02.... Short APDU level exchange\n"
    "  dwMaxCCIDMessageLength: 288 bytes\n"
    "  bClassGetResponse: 0x00\n"
    "  bClassEnvelope: 0x00\n"
    "  wLcdLayout: 0x0000\n"
    "  bPINSupport: 0x00\n"
    "  bMaxCCIDBusySlots: 1\n";

std::string replace(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

// The "file:line:column: expected …" message of a parse error, or "" when it parsed.
std::string error_of(const std::string& text) {
    try {
        (void)parse_dump(text, "r.txt");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(reads_every_value_of_a_block) {
    const auto dump = parse_dump(header + descriptor_text, "r.txt");
    BOOST_TEST(dump.file == "r.txt");
    BOOST_TEST_REQUIRE(dump.blocks.size() == 1U);
    const auto& b = dump.blocks.front();
    BOOST_TEST(b.line == 1U);
    BOOST_TEST(b.identity.vendor_id == 0x072F);
    BOOST_TEST(b.identity.product_id == 0x223B);
    BOOST_TEST(b.identity.bcd_device == 0x0100);
    BOOST_TEST(b.identity.manufacturer.value() == "ACS");
    BOOST_TEST(b.identity.product.value() == "ACR1252 Dual Reader");
    BOOST_TEST(b.interface.number == 1);
    BOOST_TEST(b.interface.num_endpoints == 3);
    BOOST_TEST(b.interface.interface_class == 0x0B);
    BOOST_TEST(b.interface.name.value() == "ACR1252 Dual Reader SAM");
    BOOST_TEST_REQUIRE(b.descriptor.has_value());
    const auto& d = *b.descriptor;
    BOOST_TEST(d.bcd_ccid == 0x0110);
    BOOST_TEST(d.voltage_support == 0x01);
    BOOST_TEST(d.protocols == 0x3U);
    BOOST_TEST(d.default_clock_khz == 3420U);
    BOOST_TEST(d.data_rate_bps == 9193U);
    BOOST_TEST(d.max_data_rate_bps == 213750U);
    BOOST_TEST(d.max_ifsd == 254U);
    BOOST_TEST(d.features == 0x000204BAU);
    BOOST_TEST(d.max_message_length == 288U);
    BOOST_TEST(d.max_busy_slots == 1);
    BOOST_TEST(b.feature_texts.size() == 7U);
    BOOST_TEST(b.feature_texts.back() == "02.... Short APDU level exchange");
}

BOOST_AUTO_TEST_CASE(the_formatter_prints_what_parse_printed) {
    const auto dump = parse_dump(header + descriptor_text, "r.txt");
    // parse's live GET CLOCK FREQUENCIES / GET DATA RATES failures are not part of the descriptor.
    std::string expected = descriptor_text;
    expected =
        replace(expected, "   IFD does not support GET CLOCK FREQUENCIES request: Success\n", "");
    expected = replace(expected, "   IFD does not support GET_DATA_RATES request: Success\n", "");
    BOOST_TEST(format_descriptor(*dump.blocks.front().descriptor) == expected);
    BOOST_TEST(format_block(dump.blocks.front()) == header + expected);
}

BOOST_AUTO_TEST_CASE(accepts_crlf_old_layouts_wrapped_lines_and_missing_strings) {
    std::string text = header + descriptor_text;
    text = replace(text, "  iManufacturer: ACS\n", "  Can't get iManufacturer string\n");
    text =
        replace(text, " iInterface: ACR1252 Dual Reader SAM\n", " Can't get iInterface string\n");
    text = replace(text, " bcdDevice: 1.00", " bcdDevice: 1.0");
    text = replace(text, "Fi, Di params\n", "Fi, Di\nparams\n");
    text = replace(text, "  bNumClockSupported: 0 (will use whatever is returned)\n",
                   "  bNumClockSupported: 2\n   Support 3420 kHz\n   Support 6840 kHz\n");
    text = replace(text, "  bNumDataRatesSupported: 0 (will use whatever is returned)\n",
                   "  bNumDataRatesSupported: 1 \n   Support 9193 bps\n");
    std::string crlf;
    for (char c : text) {
        if (c == '\n')
            crlf += '\r';
        crlf += c;
    }
    const auto b = parse_dump(crlf + crlf, "r.txt").blocks;
    BOOST_TEST_REQUIRE(b.size() == 2U);
    BOOST_TEST(b[1].line > b[0].line);
    BOOST_TEST(!b[0].identity.manufacturer.has_value());
    BOOST_TEST(!b[0].interface.name.has_value());
    BOOST_TEST(b[0].identity.bcd_device == 0x0100);
    BOOST_TEST((b[0].clock_frequencies_khz == std::vector<std::uint32_t>{3420, 6840}));
    BOOST_TEST((b[0].data_rates_bps == std::vector<std::uint32_t>{9193}));
    BOOST_TEST(b[0].descriptor->num_clock_supported == 2);
    BOOST_TEST(b[0].feature_texts[3] ==
               "....20 Automatic baud rate change according to frequency and Fi, Di params");
    // A reprint keeps the GET answers and parses back to the same block.
    const auto again = parse_dump(format_block(b[0]), "again").blocks.front();
    BOOST_TEST((again.clock_frequencies_khz == b[0].clock_frequencies_khz));
    BOOST_TEST((again.descriptor == b[0].descriptor));
    BOOST_TEST((again.identity == b[0].identity));
}

BOOST_AUTO_TEST_CASE(a_block_without_descriptor_is_kept) {
    const auto dump = parse_dump(header, "r.txt");
    BOOST_TEST_REQUIRE(dump.blocks.size() == 1U);
    BOOST_TEST(!dump.blocks.front().descriptor.has_value());
}

BOOST_AUTO_TEST_CASE(errors_name_file_line_and_column) {
    struct Case {
        std::string text;
        std::string message;
    };
    const std::string full = header + descriptor_text;
    const std::vector<Case> cases{
        {"", "r.txt:1:1: expected ' idVendor: 0x....'"},
        {"hello\n", "r.txt:1:1: expected an indented 'key: value' line"},
        {"  bLength: 9\n", "r.txt:1:3: expected ' idVendor: 0x....'"},
        {replace(full, "idProduct: 0x223B", "idProduct: 223B"),
         "r.txt:3:13: expected a hex number like 0x1A after 'idProduct:'"},
        {replace(full, "bcdDevice: 1.00", "bcdDevice: 1-00"),
         "r.txt:5:14: expected '.' after 'bcdDevice:'"},
        {replace(full, "bLength: 9", "bLength: 900"),
         "r.txt:6:11: expected a value of one byte (0..255) after 'bLength:'"},
        {replace(full, "3.420 MHz\n  dwMax", "3.420 GHz\n  dwMax"),
         "r.txt:27:24: expected ' MHz' after 'dwDefaultClock:'"},
        {replace(full, "9193 bps", "9193"), "r.txt:31:19: expected ' ' after 'dwDataRate:'"},
        {replace(full, "288 bytes", "288 octets"),
         "r.txt:47:31: expected 'bytes' after 'dwMaxCCIDMessageLength:'"},
        {replace(full, "0x000204BA", "0x000204BAZ"),
         "r.txt:39:25: expected the end of the line after 'dwFeatures:'"},
        {replace(full, "  bPINSupport: 0x00\n", ""),
         "r.txt:52:1: expected a 'bPINSupport:' line in the block that starts at line 17"},
        {replace(full, " bInterfaceNumber: 1\n", ""),
         "expected a 'bInterfaceNumber:' line in the block that starts at line 1"},
        {full + "  bcdCCID: 1.00\n",
         "r.txt:53:3: expected ' idVendor:' (a new block) before a second 'bcdCCID:'"},
        {full + " CCID Class Descriptor\n",
         "r.txt:53:2: expected ' idVendor:' (a new block) before a second CCID Class"},
    };
    for (const auto& c : cases) {
        const auto message = error_of(c.text);
        BOOST_TEST(message.find(c.message) != std::string::npos,
                   "got \"" << message << "\", want \"" << c.message << "\"");
    }
}

BOOST_AUTO_TEST_CASE(supported_readers_lines_and_errors) {
    const std::string text =
        "#\n# section: supported\n##########\n\n# ACS\n0x072F:0x90CC:ACS ACR 38U-CCID\n"
        "# section: disabled\n#0x1DB2:0x0600:DUALi DE-ABCM6\n";
    const auto list = parse_supported_readers(text, "s.txt");
    BOOST_TEST_REQUIRE(list.size() == 2U);
    BOOST_TEST(list[0].line == 6U);
    BOOST_TEST(list[0].section == "supported");
    BOOST_TEST(list[0].vendor_id == 0x072F);
    BOOST_TEST(list[0].product_id == 0x90CC);
    BOOST_TEST(list[0].name == "ACS ACR 38U-CCID");
    BOOST_TEST(!list[0].commented_out);
    BOOST_TEST(list[1].section == "disabled");
    BOOST_TEST(list[1].commented_out);
    for (auto [bad, where] :
         {std::pair{"0x072F:90CC:X\n", "s.txt:1:8: expected '0x'"},
          std::pair{"0x072FF:0x90CC:X\n", "s.txt:1:3: expected one to four hex digits"},
          std::pair{"0x072F;0x90CC:X\n", "s.txt:1:7: expected ':'"},
          std::pair{"0x072F:0x90CC:\n", "s.txt:1:15: expected a reader name"},
          std::pair{"#0x072F:0x90ZZ:X\n", "s.txt:1:13: expected ':'"}}) {
        std::string message;
        try {
            (void)parse_supported_readers(bad, "s.txt");
        } catch (const ConfigError& e) {
            message = e.what();
        }
        BOOST_TEST(message.find(where) != std::string::npos,
                   "got \"" << message << "\", want \"" << where << "\"");
    }
}
