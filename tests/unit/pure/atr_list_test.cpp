#include "pure/atr.hpp"
#include "support/test_support.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace harness;

namespace {

const char* const installed_list = "/usr/share/pcsc/smartcard_list.txt";

std::string read_installed_list() {
    if (!std::filesystem::exists(installed_list))
        test::skip(std::string(installed_list) + " not installed (Debian package pcsc-tools)");
    std::ifstream in(installed_list, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

BOOST_AUTO_TEST_CASE(pattern_language_of_the_list) {
    struct Case {
        const char* pattern;
        const char* text;
        bool match;
    };
    for (auto [pattern, text, match] : {
             Case{"3B 02 14 50", "3B 02 14 50", true},
             Case{"3B 02 14 50", "3B 02 14 5", false},
             Case{"3B 02 14 50", "3B 02 14 50 00", false}, // anchored at both ends
             Case{"3b 02 14 5f", "3B 02 14 5F", true},     // case-insensitive
             Case{"3B .. 14 50", "3B 7F 14 50", true},
             Case{"3B 39 19 00 53 4F 3[1,3]", "3B 39 19 00 53 4F 33", true},
             Case{"3B 39 19 00 53 4F 3[1,3]", "3B 39 19 00 53 4F 32", false},
             Case{"3B 6F 00 0[1-5] 82", "3B 6F 00 04 82", true},
             Case{"3B 6F 00 0[1-5] 82", "3B 6F 00 06 82", false},
             Case{"3F 65 25 00 2[2C] 09 [F6]9 90 00", "3F 65 25 00 2C 09 69 90 00", true},
             Case{"3F 65 25 00 2[2C] 09 [F6]9 90 00", "3F 65 25 00 2C 09 79 90 00", false},
             Case{"3B EF 00 FF 81 31 42 45 .* 38", "3B EF 00 FF 81 31 42 45 38", false},
             Case{"3B EF 00 FF 81 31 42 45 .* 38", "3B EF 00 FF 81 31 42 45 01 02 38", true},
             Case{"3B EF 00 FF 81 31 42 45 .* 38", "3B EF 00 FF 81 31 42 45  38", true},
             Case{"3B 90 00.*", "3B 90 00", true},
             Case{"3B [^0]0", "3B 10", true},
             Case{"3B [^0]0", "3B 00", false},
         }) {
        BOOST_TEST(atr::pattern_matches(pattern, text) == match, pattern << " ~ " << text);
    }
    BOOST_TEST(atr::is_literal_pattern("3B 02 14 50"));
    BOOST_TEST(!atr::is_literal_pattern("3B .. 14 50"));
    BOOST_TEST(!atr::is_literal_pattern("3B 0[12]"));
    BOOST_TEST(!atr::is_literal_pattern(""));
}

BOOST_AUTO_TEST_CASE(parses_entries_descriptions_and_reports_bad_patterns) {
    const std::string text = "# comment\n"
                             "\n"
                             "3B 02 14 50\n"
                             "\tSchlumberger Multiflex 3k\n"
                             "\thttp://example.invalid/\n"
                             "\n"
                             "3B .. 88 80 01\r\n"
                             "\tAny card\n"
                             "\n"
                             "3B (12\n"
                             "\tbroken\n"
                             "\n"
                             "3B 0[12\n"
                             "\n"
                             "\tafter an empty line, still the last entry's\n";
    const auto list = atr::parse_list(text);
    BOOST_TEST_REQUIRE(list.entries.size() == 2u);
    BOOST_TEST(list.entries[0].pattern == "3B 02 14 50");
    BOOST_TEST(list.entries[0].line == 3u);
    BOOST_TEST(list.entries[0].descriptions.size() == 2u);
    BOOST_TEST(list.entries[1].pattern == "3B .. 88 80 01");
    BOOST_TEST(list.entries[1].descriptions.at(0) == "Any card");
    BOOST_TEST_REQUIRE(list.findings.size() == 2u);
    BOOST_TEST(list.findings[0].code == "list_bad_pattern");
    BOOST_TEST(list.findings[0].message.rfind("10:4: ", 0) == 0u, list.findings[0].message);
    BOOST_TEST(list.findings[1].message.rfind("13:5: expected ']'", 0) == 0u,
               list.findings[1].message);
    // "broken" went with its bad pattern; the one after the empty line was dropped with "3B 0[12"
    BOOST_TEST(list.entries[1].descriptions.size() == 1u);
    // a description after an empty line (the list has one) stays with the entry above it
    BOOST_TEST(atr::parse_list("3B 00\n\tone\n\n\ttwo\n").entries.at(0).descriptions.size() == 2u);
    const auto orphan = atr::parse_list("\tno ATR before me\n");
    BOOST_TEST_REQUIRE(orphan.findings.size() == 1u);
    BOOST_TEST(orphan.findings[0].code == "list_orphan_description");
    BOOST_TEST(orphan.findings[0].message.rfind("1:1: ", 0) == 0u);

    const auto names = atr::lookup(list, hex::parse("3B 02 14 50").value());
    BOOST_TEST_REQUIRE(names.size() == 2u);
    BOOST_TEST(names[0] == "Schlumberger Multiflex 3k");
    BOOST_TEST(atr::lookup(list, hex::parse("3B 7A 88 80 01").value()).size() == 1u);
    BOOST_TEST(atr::lookup(list, hex::parse("3B 7A 88 80 02").value()).empty());
}

BOOST_AUTO_TEST_CASE(decodes_every_literal_atr_of_the_installed_list) {
    const auto list = atr::parse_list(read_installed_list());
    BOOST_TEST(list.findings.empty());
    std::size_t literal = 0, with_errors = 0, contactless = 0, tck_bad = 0;
    std::map<std::string, std::size_t> by_code;
    for (const auto& e : list.entries) {
        if (!atr::is_literal_pattern(e.pattern))
            continue;
        ++literal;
        const auto bytes = hex::parse(e.pattern);
        BOOST_TEST_REQUIRE(bytes.has_value(), "line " << e.line);
        const auto a = atr::decode(*bytes);
        BOOST_TEST(a.raw == *bytes);
        BOOST_TEST(!a.protocols.empty());
        BOOST_TEST(std::is_sorted(a.protocols.begin(), a.protocols.end()));
        // The historical bytes are never longer than K.
        BOOST_TEST(a.historical_bytes.size() <= static_cast<std::size_t>(a.k));
        if (std::any_of(a.findings.begin(), a.findings.end(),
                        [](const Finding& f) { return f.severity == Severity::Error; }))
            ++with_errors;
        for (const auto& f : a.findings)
            ++by_code[f.code];
        if (a.contactless)
            ++contactless;
        if (a.tck_present && !a.tck_valid)
            ++tck_bad;
    }
    BOOST_TEST(literal > 1000u); // 3803 in pcsc-tools 1.6.2's list
    BOOST_TEST_MESSAGE("decoded " << literal << " wildcard-free ATRs of " << list.entries.size()
                                  << " list entries; " << with_errors << " with error findings, "
                                  << tck_bad << " with a wrong TCK, " << contactless
                                  << " PC/SC contactless pseudo-ATRs");
    std::printf("atr_list: decoded %zu wildcard-free ATRs of %zu entries (%zu with error "
                "findings, %zu wrong TCK, %zu contactless pseudo-ATRs)\n",
                literal, list.entries.size(), with_errors, tck_bad, contactless);
    for (const auto& [code, n] : by_code)
        std::printf("  %-28s %zu\n", code.c_str(), n);
}

BOOST_AUTO_TEST_CASE(every_literal_entry_finds_itself_and_my_number_is_named) {
    const auto list = atr::parse_list(read_installed_list());
    std::size_t checked = 0;
    for (std::size_t i = 0; i < list.entries.size(); i += 7) {
        const auto& e = list.entries[i];
        if (!atr::is_literal_pattern(e.pattern))
            continue;
        const auto names = atr::lookup(list, hex::parse(e.pattern).value());
        for (const auto& d : e.descriptions)
            BOOST_TEST((std::find(names.begin(), names.end(), d) != names.end()),
                       "line " << e.line << ": " << d);
        ++checked;
    }
    BOOST_TEST(checked > 100u);
    const auto names = atr::lookup(
        list, hex::parse("3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B").value());
    BOOST_TEST((std::any_of(names.begin(), names.end(), [](const std::string& n) {
        return n.find("My Number") != std::string::npos;
    })));
    // A wildcard entry: MIFARE Classic 1K with any standard byte and TCK.
    const auto mifare = atr::lookup(
        list, hex::parse("3B 8F 80 01 80 4F 0C A0 00 00 03 06 7E 00 01 00 00 00 00 14").value());
    BOOST_TEST((std::find(mifare.begin(), mifare.end(),
                          "MIFARE Classic 1K (as per PCSC std part3)") != mifare.end()));
}
