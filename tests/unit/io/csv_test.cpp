// io::csv, the one CSV reading layer of every data file: values as fast-cpp-csv-parser reads
// them, every problem at file:line:column (character columns), a UTF-8 BOM and "\r\n" accepted,
// size limits, and no echo of cells in secret mode (PIN files).
#include "io/csv.hpp"
#include "io/text_file.hpp"
#include "pure/error.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace harness;
namespace csv = harness::io::csv;

namespace {

std::string problems_of(std::string_view text, bool extra = false, bool secret = false) {
    const auto parsed =
        csv::parse(text, "t.csv", {"a", "b", "c"}, {.extra_columns = extra, .secret = secret});
    std::string out;
    for (const auto& p : parsed.problems)
        out += p.to_string() + "\n";
    return out;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

BOOST_AUTO_TEST_CASE(reads_values_in_the_callers_order) {
    const auto table = csv::parse_or_throw(
        "# comment\n c , a ,b\n\n3, 1 ,\"2, \"\"two\"\"\"\n   \n6,4,5\n", "t.csv", {"a", "b", "c"});
    BOOST_TEST(table.header_line() == 2U);
    BOOST_TEST_REQUIRE(table.rows().size() == 2U);
    BOOST_TEST(table.rows()[0].line == 4U);
    BOOST_TEST((table.rows()[0].cells == std::vector<std::string>{"1", "2, \"two\"", "3"}));
    BOOST_TEST((table.rows()[1].cells == std::vector<std::string>{"4", "5", "6"}));
    BOOST_TEST(table.cell(table.rows()[1], "c") == "6");
    // Columns of each named cell (c is first in the file).
    BOOST_TEST((table.columns(table.rows()[0]) == std::vector<std::size_t>{4, 8, 1}));
    // A column inside a quoted cell: content byte 3 of "2, ""two""" is the first '"' of "".
    BOOST_TEST(table.where(table.rows()[0], "b", 3).column == 11U);
}

BOOST_AUTO_TEST_CASE(a_bom_and_crlf_change_nothing_but_the_bytes) {
    const std::string plain = "a,b,c\n1,2,3\n4,\"5\",6\n";
    const std::string excel = "\xEF\xBB\xBF"
                              "a,b,c\r\n1,2,3\r\n4,\"5\",6\r\n";
    const auto p = csv::parse_or_throw(plain, "p.csv", {"a", "b", "c"});
    const auto e = csv::parse_or_throw(excel, "e.csv", {"a", "b", "c"});
    BOOST_TEST_REQUIRE(e.rows().size() == p.rows().size());
    for (std::size_t i = 0; i < p.rows().size(); ++i) {
        BOOST_TEST(e.rows()[i].cells == p.rows()[i].cells);
        BOOST_TEST(e.columns(e.rows()[i]) == p.columns(p.rows()[i]));
    }
    // The BOM is not a column either: the header's first cell is "a", at column 1.
    BOOST_TEST(problems_of("\xEF\xBB\xBF"
                           "a,b,c,d\n") ==
               "t.csv:1:7: expected only the columns a,b,c in the header, found \"d\"\n");
}

// "\r\n" ends a line like "\n", once: a '\r' before it is the cell's, in the values the parser
// reads as in the line io::csv points into (fuzz.csv_table found the parser dropping a second one).
BOOST_AUTO_TEST_CASE(only_one_cr_before_a_line_feed_ends_the_line) {
    const auto table =
        csv::parse_or_throw("a,b,c\r\n1,2,3\r\r\n4,5,6\r\n", "t.csv", {"a", "b", "c"});
    BOOST_TEST_REQUIRE(table.rows().size() == 2U);
    BOOST_TEST((table.rows()[0].cells == std::vector<std::string>{"1", "2", "3\r"}));
    BOOST_TEST((table.rows()[1].cells == std::vector<std::string>{"4", "5", "6"}));
}

BOOST_AUTO_TEST_CASE(every_problem_has_its_line_and_character_column) {
    BOOST_TEST(problems_of("") == "t.csv:1:1: expected a header line a,b,c\n");
    BOOST_TEST(problems_of("a,b\n") ==
               "t.csv:1:4: expected a column \"c\" in the header (columns: a,b,c)\n");
    BOOST_TEST(problems_of("b\n") == "t.csv:1:2: expected a column \"a\" in the header (also "
                                     "missing: \"c\"; columns: a,b,c)\n");
    BOOST_TEST(problems_of("a,b,a,c\n") ==
               "t.csv:1:5: expected each column name once, found \"a\" again\n");
    BOOST_TEST(problems_of("a,b,c,x\n", true).empty());
    BOOST_TEST(problems_of("a,\"b,c\n") == "t.csv:1:3: expected a closing '\"' in the header\n");
    // Columns count characters, not bytes: 日本 is two columns wide in an editor, six bytes.
    BOOST_TEST(problems_of("a,b,c\n日本,2\n") ==
               "t.csv:2:5: expected 3 cells as in the header, found 2 (quote cells that contain "
               "commas: \"a,b\")\n");
    BOOST_TEST(problems_of("a,b,c\n日本,2,3,4\n") ==
               "t.csv:2:8: expected 3 cells as in the header, found 4 (quote cells that contain "
               "commas: \"a,b\")\n");
    BOOST_TEST(problems_of("a,b,c\n1,\"2,3\n") ==
               "t.csv:2:3: expected a closing '\"' for the quoted cell\n");
    BOOST_TEST(problems_of(std::string("a,b,c\n1,2\0,3\n", 13)) ==
               "t.csv:2:4: expected text, found a NUL byte\n");
    // Several bad rows: each is reported, the good rows are still read.
    const auto parsed = csv::parse("a,b,c\n1\n1,2,3\n1,2,3,4\n", "t.csv", {"a", "b", "c"});
    BOOST_TEST(parsed.problems.size() == 2U);
    BOOST_TEST(parsed.table.rows().size() == 1U);
    BOOST_TEST(parsed.table.rows()[0].line == 3U);
}

BOOST_AUTO_TEST_CASE(fail_names_the_cell_and_fail_quiet_does_not_repeat_it) {
    const auto table = csv::parse_or_throw("a,b,c\n1, secret ,3\n", "t.csv", {"a", "b", "c"});
    const auto& row = table.rows().front();
    BOOST_TEST(error_of([&] { table.fail(row, "b", "a number"); }) ==
               "t.csv:2:4: expected a number in column b, found \"secret\"");
    BOOST_TEST(error_of([&] { table.fail_quiet(row, 1, "a PIN"); }) ==
               "t.csv:2:4: expected a PIN in column b");
    // In secret mode no header problem repeats a cell either.
    const auto secret = problems_of("1234,b,c,9876\n", false, true);
    BOOST_TEST(secret.find("1234") == std::string::npos);
    BOOST_TEST(secret.find("9876") == std::string::npos);
    BOOST_TEST(secret.find("t.csv:1:1: expected only the columns a,b,c in the header\n") == 0U);
}

BOOST_AUTO_TEST_CASE(files_are_read_with_a_size_limit) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("csv_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "big.csv";
    {
        std::ofstream out(file, std::ios::binary);
        out << "a,b,c\n";
        for (int i = 0; i < 100; ++i)
            out << "1,2,3\n";
    }
    BOOST_TEST(csv::read(file, {"a", "b", "c"}).rows().size() == 100U);
    BOOST_TEST(error_of([&] {
                   csv::read(file, {"a", "b", "c"}, {.max_file_bytes = 100});
               }) == file.string() + ":1:1: expected a readable CSV file (larger than 100 bytes)");
    BOOST_TEST(error_of([&] { csv::read(dir / "none.csv", {"a"}, {.what = "lab file"}); }) ==
               (dir / "none.csv").string() + ":1:1: expected a readable lab file (not found)");
    BOOST_TEST(error_of([&] { harness::io::read_text_file(dir, "suite file"); }) ==
               dir.string() + ":1:1: expected a readable suite file (it is a folder)");
    std::filesystem::remove_all(dir);
}
