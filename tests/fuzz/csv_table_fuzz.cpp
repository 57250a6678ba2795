// Fuzzes io::csv, the one CSV reading layer: fast-cpp-csv-parser's values and io::csv's own
// reading of each line (split_line, used for every error column) always agree, every problem is
// located on the input, and a BOM or "\r\n" changes nothing but the bytes.
#include "fuzz_check.hpp"
#include "io/csv.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace csv = harness::io::csv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const bool extra = (data[0] & 1) != 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto parsed =
        csv::parse(text, "f.csv", {"a", "b", "c"}, {.extra_columns = extra, .secret = false});
    const auto lines = csv::physical_lines(text);
    for (const auto& p : parsed.problems) {
        FUZZ_CHECK(p.where.file == "f.csv");
        FUZZ_CHECK(p.where.line >= 1 && p.where.line <= lines.size() + 1);
        FUZZ_CHECK(p.where.column >= 1);
        FUZZ_CHECK(p.message.rfind("expected", 0) == 0);
        FUZZ_CHECK(p.message.find("well-formed CSV row") == std::string::npos);
    }
    const auto& table = parsed.table;
    std::size_t previous = table.header_line();
    for (const auto& row : table.rows()) {
        FUZZ_CHECK(row.line > previous && row.line <= lines.size());
        previous = row.line;
        FUZZ_CHECK(row.cells.size() == 3);
        const auto split = csv::split_line(lines[row.line - 1]);
        FUZZ_CHECK(!split.unclosed_quote);
        const auto columns = table.columns(row);
        for (std::size_t i = 0; i < 3; ++i) {
            // The cell the parser read is the one io::csv points at.
            const auto where = table.where(row, i);
            FUZZ_CHECK(where.column == columns[i]);
            bool found = false;
            for (const auto& cell : split.cells)
                if (csv::char_column(lines[row.line - 1], cell.map.front()) == where.column &&
                    cell.content == row.cells[i])
                    found = true;
            FUZZ_CHECK(found);
        }
    }
    // The same text with a BOM and "\r\n" line ends reads the same.
    if (text.find('\r') != std::string_view::npos)
        return 0;
    std::string dressed = "\xEF\xBB\xBF";
    for (char c : text) {
        if (c == '\n')
            dressed += '\r';
        dressed += c;
    }
    const auto again =
        csv::parse(dressed, "f.csv", {"a", "b", "c"}, {.extra_columns = extra, .secret = false});
    FUZZ_CHECK(again.problems.size() == parsed.problems.size());
    FUZZ_CHECK(again.table.rows().size() == table.rows().size());
    for (std::size_t i = 0; i < table.rows().size(); ++i)
        FUZZ_CHECK(again.table.rows()[i].cells == table.rows()[i].cells);
    return 0;
}
