#include "pure/error.hpp"
#include "services/suite/pin_source.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>

using namespace harness;
using namespace harness::suite;

namespace {

std::string error_of(const std::string& text) {
    try {
        parse_pin_file(text, "pins.csv");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

} // namespace

BOOST_AUTO_TEST_CASE(a_pin_file_names_each_pin_once) {
    const PinSource pins = parse_pin_file("# my PINs\npin,value\nauth,1234\r\n\n sign , "
                                          "CARD2026\ntext,\"4321\"\n",
                                          "pins.csv");
    BOOST_TEST(pins.get(PinName::Auth).value_or("") == "1234");
    BOOST_TEST(pins.get(PinName::Sign).value_or("") == "CARD2026");
    BOOST_TEST(pins.get(PinName::Text).value_or("") == "4321");
    BOOST_TEST(!pins.has(PinName::Juki));
    BOOST_TEST(pins.values().size() == 3u);
    // Excel saves CSV with a UTF-8 BOM and "\r\n".
    const PinSource excel = parse_pin_file("\xEF\xBB\xBFpin,value\r\njuki,5678\r\n", "pins.csv");
    BOOST_TEST(excel.get(PinName::Juki).value_or("") == "5678");
}

BOOST_AUTO_TEST_CASE(bad_pin_files_say_file_line_column_and_never_the_value) {
    struct Case {
        std::string text;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"", "pins.csv:1:1: expected a header line pin,value"},
        {"name,value\n", "pins.csv:1:1: expected only the columns pin,value in the header\n"},
        {"pin,val\n", "pins.csv:1:5: expected only the columns pin,value in the header\n"},
        // A file without its header: the first row is read as one, and its PIN is not repeated.
        {"auth,9999\n", "pins.csv:1:1: expected only the columns pin,value in the header\n"},
        {"pin,value\nadmin,9999\n", "pins.csv:2:1: expected a PIN name"},
        {"pin,value\nauth\n", "pins.csv:2:5: expected 2 cells as in the header, found 1"},
        {"pin,value\nauth,\n", "pins.csv:2:6: expected a PIN value"},
        {"pin,value\nauth,1234\nauth,5678\n", "pins.csv:3:1: expected each PIN once"},
        {"pin,value\nauth,12,34\n", "pins.csv:2:9: expected 2 cells as in the header, found 3"},
        {"pin,value\nsign,ABCDEFGH12345678X\n",
         "pins.csv:2:6: expected a PIN value of at most 16 characters (this one has 17) in column "
         "value"},
        {"pin,value\nauth,\"12\n", "pins.csv:2:6: expected a closing '\"'"},
    };
    for (const auto& c : cases) {
        const std::string message = error_of(c.text);
        BOOST_TEST(message.rfind(c.expected, 0) == 0, c.text << " -> " << message);
        BOOST_TEST(message.find("5678") == std::string::npos);
        BOOST_TEST(message.find("9999") == std::string::npos);
        BOOST_TEST(message.find("12") == std::string::npos);
        BOOST_TEST(message.find("ABCDEFGH") == std::string::npos);
    }
    BOOST_CHECK_THROW(load_pin_file("/nonexistent/pins.csv"), ConfigError);
}

BOOST_AUTO_TEST_CASE(pins_come_from_the_environment_too) {
    BOOST_TEST(pin_environment_variable(PinName::Juki) == "CARDHARNESS_PIN_JUKI");
    ::setenv("CARDHARNESS_PIN_AUTH", "2468", 1);
    ::unsetenv("CARDHARNESS_PIN_SIGN");
    const PinSource env = pins_from_environment();
    BOOST_TEST(env.get(PinName::Auth).value_or("") == "2468");
    BOOST_TEST(!env.has(PinName::Sign));
    PinSource file;
    file.set(PinName::Auth, "1111");
    file.merge(env); // the file wins; the environment fills gaps
    BOOST_TEST(file.get(PinName::Auth).value_or("") == "1111");
    ::unsetenv("CARDHARNESS_PIN_AUTH");
}
