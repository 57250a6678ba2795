#include "pure/error.hpp"
#include "pure/status_words.hpp"

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <utility>

using namespace harness;
using sw::Category;

BOOST_AUTO_TEST_CASE(exact_status_words_have_their_meaning) {
    struct Row {
        std::uint16_t sw;
        Category category;
        const char* text_part;
    };
    const Row rows[] = {
        {0x9000, Category::Ok, "Normal processing"},
        {0x6281, Category::Warning, "corrupted"},
        {0x6282, Category::Warning, "End of file"},
        {0x6283, Category::Warning, "deactivated"},
        {0x6300, Category::Warning, "no information"},
        {0x6400, Category::ExecutionError, "unchanged"},
        {0x6581, Category::ExecutionError, "Memory failure"},
        {0x6700, Category::CheckingError, "Wrong length"},
        {0x6881, Category::CheckingError, "Logical channel"},
        {0x6882, Category::CheckingError, "Secure messaging"},
        {0x6982, Category::Security, "Security status not satisfied"},
        {0x6983, Category::Security, "blocked"},
        {0x6984, Category::Security, "PIN blocked"},
        {0x6985, Category::CheckingError, "Conditions of use"},
        {0x6986, Category::CheckingError, "no current EF"},
        {0x6A80, Category::CheckingError, "data field"},
        {0x6A81, Category::CheckingError, "Function not supported"},
        {0x6A82, Category::CheckingError, "not found"},
        {0x6A83, Category::CheckingError, "Record not found"},
        {0x6A84, Category::CheckingError, "memory space"},
        {0x6A86, Category::CheckingError, "P1-P2"},
        {0x6A88, Category::CheckingError, "reference data not found"},
        {0x6B00, Category::CheckingError, "offset"},
        {0x6D00, Category::CheckingError, "Instruction"},
        {0x6E00, Category::CheckingError, "Class not supported"},
        {0x6F00, Category::CheckingError, "No precise diagnosis"},
    };
    for (const Row& row : rows) {
        const sw::Description d = sw::describe(row.sw);
        const std::string name = sw::format(row.sw);
        BOOST_TEST(d.known, name);
        BOOST_TEST(d.sw == row.sw);
        BOOST_TEST(d.mask == 0xFFFF, name);
        BOOST_TEST(d.value == row.sw, name);
        BOOST_TEST(sw::to_string(d.category) == sw::to_string(row.category), name);
        BOOST_TEST(d.text.find(row.text_part) != std::string::npos, name << ": " << d.text);
        BOOST_TEST(!d.text_ja.empty(), name);
        BOOST_TEST(!d.param.has_value(), name);
    }
}

BOOST_AUTO_TEST_CASE(every_status_word_the_emulator_reproduces_is_in_the_table) {
    // domain.md §6.
    const std::uint16_t words[] = {0x9000, 0x63C0, 0x63C2, 0x63C5, 0x6982, 0x6984, 0x6A82,
                                   0x6A86, 0x6B00, 0x6282, 0x6700, 0x6D00, 0x6E00};
    for (const std::uint16_t value : words) {
        const sw::Description d = sw::describe(value);
        BOOST_TEST(d.known, sw::format(value));
        BOOST_TEST(d.mask != 0xFF00, sw::format(value) << " must not fall to a SW1 family");
        BOOST_TEST(!d.text.empty());
        BOOST_TEST(!d.text_ja.empty());
    }
}

BOOST_AUTO_TEST_CASE(families_fill_in_their_parameter) {
    struct Row {
        std::uint16_t sw;
        Category category;
        unsigned param;
        const char* text_part;
        const char* text_ja_part;
    };
    const Row rows[] = {
        {0x6110, Category::Ok, 16, "16 response bytes", "残り16バイト"},
        {0x6101, Category::Ok, 1, "1 response bytes", "残り1バイト"},
        {0x61FF, Category::Ok, 255, "255 response bytes", "残り255バイト"},
        {0x6100, Category::Ok, 256, "256 response bytes", "残り256バイト"},
        {0x6C20, Category::CheckingError, 32, "exactly 32 bytes", "Le=32"},
        {0x6C00, Category::CheckingError, 256, "Le=256", "ちょうど256バイト"},
        {0x63C3, Category::Security, 3, "3 tries left", "残り3回"},
        {0x63C5, Category::Security, 5, "5 tries left", "残り5回"},
        {0x63CA, Category::Security, 10, "10 tries left", "残り10回"},
        {0x63C0, Category::Security, 0, "blocked", "ロック"},
    };
    for (const Row& row : rows) {
        const sw::Description d = sw::describe(row.sw);
        const std::string name = sw::format(row.sw);
        BOOST_TEST(d.known, name);
        BOOST_TEST(sw::to_string(d.category) == sw::to_string(row.category), name);
        BOOST_TEST_REQUIRE(d.param.has_value(), name);
        BOOST_TEST(*d.param == row.param, name);
        BOOST_TEST(d.text.find(row.text_part) != std::string::npos, name << ": " << d.text);
        BOOST_TEST(d.text_ja.find(row.text_ja_part) != std::string::npos,
                   name << ": " << d.text_ja);
        BOOST_TEST(d.text.find("{n}") == std::string::npos, name);
        BOOST_TEST(d.text_ja.find("{n}") == std::string::npos, name);
    }
    BOOST_TEST(sw::describe(0x63C1).mask == 0xFFF0);
    BOOST_TEST(sw::describe(0x63C0).mask == 0xFFFF);
}

BOOST_AUTO_TEST_CASE(unlisted_status_words_fall_back_to_their_sw1_family_or_the_catch_all) {
    struct Row {
        std::uint16_t sw;
        Category category;
        std::uint16_t mask;
        bool known;
    };
    const Row rows[] = {
        {0x6299, Category::Warning, 0xFF00, true},
        {0x6312, Category::Warning, 0xFF00, true},
        {0x6402, Category::ExecutionError, 0xFF00, true},
        {0x6510, Category::ExecutionError, 0xFF00, true},
        {0x6601, Category::ExecutionError, 0xFF00, true},
        {0x6701, Category::CheckingError, 0xFF00, true},
        {0x6899, Category::CheckingError, 0xFF00, true},
        {0x6999, Category::CheckingError, 0xFF00, true},
        {0x6A99, Category::CheckingError, 0xFF00, true},
        {0x6B01, Category::CheckingError, 0xFF00, true},
        {0x6D01, Category::CheckingError, 0xFF00, true},
        {0x6E01, Category::CheckingError, 0xFF00, true},
        {0x6F99, Category::CheckingError, 0xFF00, true},
        {0x9123, Category::Proprietary, 0xF000, true},
        {0x9F10, Category::Proprietary, 0xF000, true},
        {0x9001, Category::Proprietary, 0xF000, true},
        {0x6000, Category::Unknown, 0x0000, false},
        {0x1234, Category::Unknown, 0x0000, false},
        {0x0000, Category::Unknown, 0x0000, false},
        {0xFFFF, Category::Unknown, 0x0000, false},
    };
    for (const Row& row : rows) {
        const sw::Description d = sw::describe(row.sw);
        const std::string name = sw::format(row.sw);
        BOOST_TEST(sw::to_string(d.category) == sw::to_string(row.category), name);
        BOOST_TEST(d.mask == row.mask, name);
        BOOST_TEST(d.known == row.known, name);
        BOOST_TEST(!d.text.empty(), name);
        BOOST_TEST(!d.text_ja.empty(), name);
    }
}

BOOST_AUTO_TEST_CASE(the_table_is_well_formed) {
    std::set<std::pair<std::uint16_t, std::uint16_t>> seen;
    bool has_catch_all = false;
    for (const sw::Entry& e : sw::table()) {
        const std::string name = sw::format(e.value) + "/" + sw::format(e.mask);
        BOOST_TEST((e.value & ~e.mask & 0xFFFF) == 0, name << ": value has bits outside mask");
        BOOST_TEST(seen.insert({e.value, e.mask}).second, name << " listed twice");
        BOOST_TEST(!e.text.empty(), name);
        BOOST_TEST(!e.text_ja.empty(), name);
        const bool has_placeholder = e.text.find("{n}") != std::string_view::npos;
        BOOST_TEST(has_placeholder == (e.param != sw::Param::None), name);
        BOOST_TEST((e.text_ja.find("{n}") != std::string_view::npos) == has_placeholder, name);
        if (e.mask == 0)
            has_catch_all = true;
    }
    BOOST_TEST(has_catch_all);
    BOOST_TEST(sw::table().size() >= 50U);
}

// Over all 65536 words: describe() always answers, never leaves a placeholder, and agrees with
// ISO 7816-4's SW1 classes except where it refines a word to "security".
BOOST_AUTO_TEST_CASE(describe_covers_every_status_word_consistently) {
    for (unsigned value = 0; value <= 0xFFFF; ++value) {
        const auto word = static_cast<std::uint16_t>(value);
        const sw::Description d = sw::describe(word);
        if ((word & d.mask) != d.value)
            BOOST_ERROR(sw::format(word) << " matched an entry it does not fit");
        if (d.text.empty() || d.text.find("{n}") != std::string::npos)
            BOOST_ERROR(sw::format(word) << " has a bad text: " << d.text);
        if (d.category == Category::Security) {
            const unsigned sw1 = value >> 8;
            if (sw1 != 0x63 && sw1 != 0x69)
                BOOST_ERROR(sw::format(word) << " is security outside 63xx/69xx");
        } else if (d.category != sw::iso_category(word)) {
            BOOST_ERROR(sw::format(word)
                        << ": table says " << sw::to_string(d.category) << ", ISO class "
                        << sw::to_string(sw::iso_category(word)));
        }
    }
    BOOST_TEST(sw::describe(0x9000).known);
}

BOOST_AUTO_TEST_CASE(iso_categories_follow_sw1) {
    struct Row {
        std::uint16_t sw;
        Category category;
    };
    for (auto [value, category] :
         {Row{0x9000, Category::Ok}, Row{0x6100, Category::Ok}, Row{0x61FF, Category::Ok},
          Row{0x6282, Category::Warning}, Row{0x63C2, Category::Warning},
          Row{0x6400, Category::ExecutionError}, Row{0x6600, Category::ExecutionError},
          Row{0x6700, Category::CheckingError}, Row{0x6982, Category::CheckingError},
          Row{0x6FFF, Category::CheckingError}, Row{0x9001, Category::Proprietary},
          Row{0x9FFF, Category::Proprietary}, Row{0x6000, Category::Unknown},
          Row{0x0000, Category::Unknown}, Row{0xA000, Category::Unknown}})
        BOOST_TEST(sw::to_string(sw::iso_category(value)) == sw::to_string(category),
                   sw::format(value));
}

BOOST_AUTO_TEST_CASE(formats_four_upper_case_digits) {
    BOOST_TEST(sw::format(0x9000) == "9000");
    BOOST_TEST(sw::format(0x63C2) == "63C2");
    BOOST_TEST(sw::format(0x0001) == "0001");
    BOOST_TEST(std::string(sw::to_string(Category::ExecutionError)) == "execution_error");
    BOOST_TEST(std::string(sw::to_string(Category::CheckingError)) == "checking_error");
}

BOOST_AUTO_TEST_CASE(patterns_match_exact_words_families_and_alternatives) {
    struct Row {
        const char* pattern;
        std::initializer_list<std::uint16_t> yes;
        std::initializer_list<std::uint16_t> no;
        const char* canonical;
    };
    const Row rows[] = {
        {"9000", {0x9000}, {0x9001, 0x6282, 0x0000}, "9000"},
        {"63Cx", {0x63C0, 0x63C3, 0x63CF}, {0x63B0, 0x6300, 0x62C0, 0x63D0}, "63Cx"},
        {"63cx", {0x63C0, 0x63CF}, {0x63B0}, "63Cx"},
        {"61xx", {0x6100, 0x6110, 0x61FF}, {0x6200, 0x6000}, "61xx"},
        {"6Cxx", {0x6C00, 0x6C20}, {0x6D00}, "6Cxx"},
        {"6A82|6A86", {0x6A82, 0x6A86}, {0x6A83, 0x6A80, 0x9000}, "6A82|6A86"},
        {" 6a82 | 6B00 ", {0x6A82, 0x6B00}, {0x6A86}, "6A82|6B00"},
        {"6B00|6282", {0x6B00, 0x6282}, {0x6281}, "6B00|6282"},
        {"90 00", {0x9000}, {0x9001}, "9000"},
        {"6XXX", {0x6000, 0x6982, 0x6FFF}, {0x9000, 0x7000}, "6xxx"},
        {"xxxx", {0x0000, 0x9000, 0xFFFF}, {}, "xxxx"},
        {"x000", {0x9000, 0x6000}, {0x9001}, "x000"},
        {"any", {0x0000, 0x9000, 0x6982, 0xFFFF}, {}, "any"},
        {"ANY", {0x1234}, {}, "any"},
        {"*", {0x6A82}, {}, "any"},
        {"9000|any", {0x6A82}, {}, "any"},
    };
    for (const Row& row : rows) {
        sw::PatternError error;
        const auto pattern = sw::Pattern::parse(row.pattern, &error);
        BOOST_TEST_REQUIRE(pattern.has_value(), row.pattern << ": " << error.message);
        for (std::uint16_t value : row.yes)
            BOOST_TEST(pattern->matches(value),
                       row.pattern << " should match " << sw::format(value));
        for (std::uint16_t value : row.no)
            BOOST_TEST(!pattern->matches(value),
                       row.pattern << " should not match " << sw::format(value));
        BOOST_TEST(pattern->to_string() == row.canonical, row.pattern);
        // The canonical text parses back to an equal pattern.
        BOOST_TEST((sw::Pattern::parse(pattern->to_string()).value() == *pattern), row.pattern);
    }
}

BOOST_AUTO_TEST_CASE(pattern_errors_carry_the_column) {
    struct Row {
        const char* pattern;
        std::size_t column;
        const char* message_part;
    };
    const Row rows[] = {
        {"", 1, "expected a status word pattern"},
        {"  ", 3, "expected a status word pattern"},
        {"900", 4, "found 3"},
        {"90000", 5, "found more"},
        {"9G00", 2, "found 'G'"},
        {"9000|", 6, "expected a status word pattern"},
        {"|9000", 1, "expected a status word pattern"},
        {"9000||6A82", 6, "expected a status word pattern"},
        {"6A82|6Z86", 7, "found 'Z'"},
        {"9000 | 6A8", 11, "found 3"},
        {"ok", 1, "found 'o'"},
        {"0x9000", 5, "found more"},
    };
    for (const Row& row : rows) {
        sw::PatternError error;
        BOOST_TEST(!sw::Pattern::parse(row.pattern, &error).has_value(), row.pattern);
        BOOST_TEST(error.column == row.column, "\"" << row.pattern << "\"");
        BOOST_TEST(error.message.find(row.message_part) != std::string::npos,
                   row.pattern << ": " << error.message);
    }
    try {
        sw::Pattern::parse_or_throw("63Cy");
        BOOST_ERROR("expected a UsageError");
    } catch (const UsageError& e) {
        BOOST_TEST(std::string(e.what()).find("column 4") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(pattern_constructors) {
    BOOST_TEST(sw::Pattern::any().is_any());
    BOOST_TEST(sw::Pattern::any().matches(0x1234));
    const sw::Pattern exact = sw::Pattern::exact(0x6982);
    BOOST_TEST(exact.matches(0x6982));
    BOOST_TEST(!exact.matches(0x6983));
    BOOST_TEST(exact.to_string() == "6982");
    BOOST_TEST(!exact.is_any());
    BOOST_TEST(exact.alternatives().size() == 1U);
}
