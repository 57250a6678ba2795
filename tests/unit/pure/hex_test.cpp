#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;

BOOST_AUTO_TEST_CASE(parses_spaced_packed_and_prefixed_forms) {
    const Bytes expected{0x00, 0xA4, 0x04, 0x0C};
    for (const char* text : {"00 A4 04 0C", "00A4040C", "00:a4:04:0c", "0x00 0xA4 0x04 0x0C",
                             "0x00A4040C", " 00  A4\t04\n0C "})
        BOOST_TEST(hex::parse(text).value() == expected, text);
}

BOOST_AUTO_TEST_CASE(reports_the_column_of_the_first_error) {
    struct Case {
        const char* text;
        std::size_t column;
    };
    for (auto [text, column] :
         {Case{"00 G4", 4}, Case{"00 A", 4}, Case{"0 A4", 1}, Case{"00A", 3}}) {
        hex::ParseError error;
        BOOST_TEST(!hex::parse(text, &error).has_value(), text);
        BOOST_TEST(error.column == column, text);
        BOOST_TEST(!error.message.empty());
    }
    BOOST_CHECK_THROW(hex::parse_or_throw("zz"), UsageError);
}

BOOST_AUTO_TEST_CASE(formats_spaced_and_packed_and_round_trips) {
    const Bytes bytes{0x3B, 0x88, 0x80, 0x01, 0x0F};
    BOOST_TEST(hex::format(bytes) == "3B 88 80 01 0F");
    BOOST_TEST(hex::format(bytes, hex::Style::Packed) == "3B8880010F");
    BOOST_TEST(hex::format(Bytes{}) == "");
    Bytes all(256);
    for (int i = 0; i < 256; ++i)
        all[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    BOOST_TEST(hex::parse(hex::format(all)).value() == all);
    BOOST_TEST(hex::parse(hex::format(all, hex::Style::Packed)).value() == all);
}

BOOST_AUTO_TEST_CASE(parse_number_takes_only_bare_hex_digits_within_the_limit) {
    BOOST_TEST(hex::parse_number("072F", 4).value() == 0x072Fu);
    BOOST_TEST(hex::parse_number("ff", 2).value() == 0xFFu);
    BOOST_TEST(hex::parse_number("0", 1).value() == 0u);
    BOOST_TEST(hex::parse_number("FFFFFFFF", 8).value() == 0xFFFFFFFFu);
    for (const char* bad : {"", "12345", "0x12", "12 ", "-1", "G1"})
        BOOST_TEST(!hex::parse_number(bad, 4).has_value(), bad);
    BOOST_TEST(!hex::parse_number("123456789", 9).has_value()); // more than an unsigned holds
}
