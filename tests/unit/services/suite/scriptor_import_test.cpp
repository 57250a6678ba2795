#include "pure/error.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/scriptor_import.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace harness;
using namespace harness::suite;

namespace {

ScriptorImport import(const std::string& text) {
    return import_scriptor_text(text, "dir/My Script.scr", {});
}

std::vector<std::string> errors_of(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& e : import(text).errors)
        out.push_back(e.to_string());
    return out;
}

// The imported suite, written as CSV, passes the loader.
void expect_valid_suite(const model::Suite& suite) {
    const auto check = check_suite_text(to_csv(suite), "imported.csv", suite.id);
    for (const auto& e : check.errors)
        BOOST_ERROR(e.to_string());
}

} // namespace

BOOST_AUTO_TEST_CASE(man_page_example) {
    const auto result = import("# reset the card\n"
                               "reset\n"
                               "\n"
                               "# Select MF 3F00\n"
                               "A0 A4 00 00 02 3F 00\n"
                               "\n"
                               "# Get Response\n"
                               "# 17 is the value of second SW from the previous command\n"
                               "A0 C0 00 00 17\n"
                               "A0A4000002 7F10\n"
                               "A0A40000027F10\n");
    BOOST_REQUIRE(result.errors.empty());
    const auto& steps = result.suite.steps;
    BOOST_TEST(result.suite.id == "my_script");
    BOOST_REQUIRE_EQUAL(steps.size(), 5u);
    BOOST_TEST(steps[0].action == "reset");
    BOOST_TEST(steps[0].args == "kind=warm");
    BOOST_TEST(steps[0].title_en == "reset the card");
    BOOST_TEST(steps[1].id == "my_script.002");
    BOOST_TEST(steps[1].group == "my_script");
    BOOST_TEST(steps[1].action == "apdu");
    BOOST_TEST(steps[1].args == "A0 A4 00 00 02 3F 00");
    BOOST_TEST(steps[1].expect_sw == "any"); // record-only
    BOOST_TEST(steps[1].title_en == "Select MF 3F00");
    BOOST_TEST(steps[2].title_en == "17 is the value of second SW from the previous command");
    BOOST_TEST(steps[3].args == "A0 A4 00 00 02 7F 10");
    BOOST_TEST(steps[4].args == "A0 A4 00 00 02 7F 10"); // packed hex
    BOOST_TEST(steps[4].title_en == "scriptor line 11: A0 A4 00 00");
    BOOST_TEST(steps[4].title_ja.find("11行目") != std::string::npos);
    BOOST_TEST(steps[4].location.line == 11u);
    expect_valid_suite(result.suite);
}

BOOST_AUTO_TEST_CASE(continuations_comments_and_exit) {
    const auto result = import("00 A4 04 00 \\\n"
                               "# a comment inside a continuation is skipped, as scriptor does\n"
                               "   0A D3 92 F0 00 \\\n"
                               "26 01 00 00 00 01\n"
                               "RESET\n"
                               "80 10 00 00\n"
                               "exit\n"
                               "80 20 00 00 00\n");
    BOOST_REQUIRE(result.errors.empty());
    const auto& steps = result.suite.steps;
    BOOST_REQUIRE_EQUAL(steps.size(), 3u);
    BOOST_TEST(steps[0].args == "00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01");
    BOOST_TEST(steps[0].location.line == 1u);
    BOOST_TEST(steps[1].action == "reset");
    BOOST_TEST(steps[2].args == "80 10 00 00");
    expect_valid_suite(result.suite);
}

BOOST_AUTO_TEST_CASE(expected_responses_become_expectations) {
    const auto result = import("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01\n"
                               "< 90 00\n"
                               "00 B0 00 00 04\n"
                               "< 30 82 05 1A 90 00 : Normal processing.\n"
                               "80 10 00 00\n"
                               "< 6A 82\n");
    BOOST_REQUIRE(result.errors.empty());
    const auto& steps = result.suite.steps;
    BOOST_REQUIRE_EQUAL(steps.size(), 3u);
    BOOST_TEST(steps[0].expect_sw == "9000");
    BOOST_TEST(steps[0].expect_data.empty());
    BOOST_TEST(steps[1].expect_sw == "9000");
    BOOST_TEST(steps[1].expect_data == "30 82 05 1A");
    BOOST_TEST(steps[2].expect_sw == "6A82");
    expect_valid_suite(result.suite);
}

BOOST_AUTO_TEST_CASE(saved_scriptor_session_with_wrapped_responses) {
    const auto result = import("> RESET\n"
                               "< OK: 3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B \n"
                               "> 80 20 00 00 14\n"
                               "< 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F \n"
                               "10 11 12 13 90 00 : Normal processing.\n"
                               "> 80 10 00 00\n"
                               "< 90 00 : Normal processing.\n");
    for (const auto& e : result.errors)
        BOOST_ERROR(e.to_string());
    const auto& steps = result.suite.steps;
    BOOST_REQUIRE_EQUAL(steps.size(), 3u);
    BOOST_TEST(steps[0].action == "reset");
    BOOST_TEST(steps[1].args == "80 20 00 00 14");
    BOOST_TEST(steps[1].expect_sw == "9000");
    BOOST_TEST(steps[1].expect_data ==
               "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13");
    BOOST_TEST(steps[2].expect_sw == "9000");
    expect_valid_suite(result.suite);
}

BOOST_AUTO_TEST_CASE(errors_with_positions) {
    struct Case {
        std::string text;
        std::string expected; // prefix of the first error
    };
    const std::vector<Case> cases = {
        {"00 A4 0G 00\n", "dir/My Script.scr:1:8: expected a hex digit, found 'G'"},
        {"# c\n  00 A4 \\\n  00 Z0\n", "dir/My Script.scr:3:6: expected a hex digit, found 'Z'"},
        {"00 A4 \\\n", "dir/My Script.scr:1:7: expected another command line after the '\\'"},
        {"< 90 00\n", "dir/My Script.scr:1:1: expected a command before the response line"},
        {"80 10 00 00\n< 9\n", "dir/My Script.scr:2:3: expected two hex digits per byte"},
        {"80 10 00 00\n< 90\n", "dir/My Script.scr:2:3: expected at least the two status bytes"},
        {"00 20 00 80 04 31 32 33 34\n", "dir/My Script.scr:1:4: expected no PIN data in a VERIFY"},
    };
    for (const auto& c : cases) {
        const auto errors = errors_of(c.text);
        BOOST_REQUIRE_MESSAGE(!errors.empty(), "no error for: " + c.text);
        BOOST_TEST(errors[0].rfind(c.expected, 0) == 0u,
                   "got " << errors[0] << "\nexpected " << c.expected);
    }
    // every error of a script is reported
    BOOST_TEST(errors_of("00 XX\n00 YY\n").size() == 2u);
    // the file API throws ConfigError
    BOOST_CHECK_THROW(import_scriptor_file("/nonexistent.scr"), ConfigError);
}

BOOST_AUTO_TEST_CASE(id_option_and_names) {
    const auto result = import_scriptor_text("80 10 00 00\n", "x.scr", {"Reader Smoke-Test"});
    BOOST_REQUIRE(result.errors.empty());
    BOOST_TEST(result.suite.id == "reader_smoke-test");
    BOOST_TEST(result.suite.steps.at(0).id == "reader_smoke-test.001");
    BOOST_TEST(suite_id_from_name("日本語") == "scriptor");
    BOOST_TEST(suite_id_from_name("a..b") == "a_b");
}
