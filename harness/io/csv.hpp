#pragma once
// The one CSV reading layer for data files: suites, card profiles, reader models, labs, the USB
// catalogue and PIN files. fast-cpp-csv-parser (libfccp, namespace ::io — not harness::io) reads
// the values; this layer knows where every cell sits on its line, so every problem is reported as
// "file:line:column: expected …" (a ConfigError: exit 2). Columns count characters (UTF-8 code
// points) from 1, as editors show them.
//
// The dialect is fast-cpp-csv-parser's with trim_chars<' ', '\t'>, double_quote_escape<',', '"'>
// and single_and_empty_line_comment<'#'>: a line is a comment when it starts with '#' or holds
// only blanks; cells are trimmed, then a cell wrapped in '"' is unquoted ("" is one quote). A UTF-8
// byte order mark (Excel writes one) is skipped; "\r\n" ends a line like "\n". A file holds at most
// max_file_bytes; NUL bytes are an error (they would silently end a line).
#include "io/text_file.hpp"
#include "model/suite.hpp"
#include "pure/error.hpp"

#include <array>
#include <cstddef>
#include <filesystem>
#include <libfccp/csv.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace harness::io::csv {

using Location = model::SourceLocation;
std::string to_string(const Location& where); // "file:line:column"

// One problem in a data file; the message starts with "expected".
struct Problem {
    Location where;
    std::string message;
    std::string to_string() const; // "file:line:column: expected …"
};

// Throws one ConfigError whose text is every problem, one per line, in file order.
[[noreturn]] void throw_problems(std::vector<Problem> problems);

std::string_view strip_bom(std::string_view text);

// One cell of a physical line as fast-cpp-csv-parser cuts it.
struct CellSpan {
    std::size_t begin = 0, end = 0; // raw bytes [begin, end) of the line (untrimmed, quotes kept)
    std::vector<std::size_t> map;   // content byte i -> line byte; map.back() = end of content
    std::string content;            // trimmed and unquoted: the value the parser yields
};
struct SplitLine {
    std::vector<CellSpan> cells;
    std::optional<std::size_t> unclosed_quote; // byte of a '"' that is never closed
};
// Splits one line (without its "\n") exactly as fast-cpp-csv-parser does.
SplitLine split_line(std::string_view line);
// The 1-based character column of byte `byte` of a line.
std::size_t char_column(std::string_view line, std::size_t byte);
// The text's lines as fast-cpp-csv-parser sees them: leading BOMs dropped, split at '\n', one
// trailing '\r' dropped from each, no extra empty line after a final '\n'.
std::vector<std::string> physical_lines(std::string_view text);
// fast-cpp-csv-parser's comment rule: starts with '#', or only blanks.
bool is_comment_or_blank(std::string_view line);

struct Row {
    std::size_t line = 0;
    std::vector<std::string> cells; // in the order the caller named the columns
};

struct Options {
    std::string_view what = "CSV file"; // in "expected a readable <what>"
    bool extra_columns = false;         // columns not named are allowed (and ignored)
    bool secret = false;                // problems never repeat the file's text (PIN files)
    std::size_t max_file_bytes = default_max_file_bytes;
};

class Table;
namespace detail {
struct Access;
}

class Table {
public:
    const std::string& file() const { return file_; }
    const std::vector<std::string>& names() const { return names_; }
    const std::vector<Row>& rows() const { return rows_; }
    std::vector<Row>& rows() { return rows_; } // a caller may move the cells out
    std::size_t header_line() const { return header_line_; }
    // Index of a named column in Row::cells (throws Error for a name the caller did not ask for).
    std::size_t index_of(std::string_view name) const;
    const std::string& cell(const Row& row, std::string_view name) const {
        return row.cells.at(index_of(name));
    }

    // Where content character `offset` (a byte offset into the cell's value) of a cell is.
    Location where(const Row& row, std::size_t cell, std::size_t offset = 0) const;
    Location where(const Row& row, std::string_view name, std::size_t offset = 0) const {
        return where(row, index_of(name), offset);
    }
    // Where each named cell of a row starts (in Row::cells order).
    std::vector<std::size_t> columns(const Row& row) const;

    // ConfigError "file:line:column: expected <what> in column <name>, found "<cell>"".
    [[noreturn]] void fail(const Row& row, std::size_t cell, std::string_view expected) const;
    [[noreturn]] void fail(const Row& row, std::string_view name, std::string_view expected) const {
        fail(row, index_of(name), expected);
    }
    // The same without repeating the cell's text (for secrets such as PIN values).
    [[noreturn]] void fail_quiet(const Row& row, std::size_t cell, std::string_view expected) const;
    Problem problem(const Row& row, std::size_t cell, std::size_t offset,
                    std::string message) const;

private:
    friend struct detail::Access;
    std::string file_;
    std::vector<std::string> names_;
    std::vector<Row> rows_;
    std::vector<std::string> lines_;     // physical lines, "\r" and BOM dropped
    std::vector<std::size_t> positions_; // file position of each named column in the header
    std::size_t header_line_ = 0;
};

struct Parsed {
    Table table;                   // the rows that are well-formed
    std::vector<Problem> problems; // structural problems, in file order; empty when all is well
};

namespace detail {

struct Scan {
    Table table;
    std::vector<Problem> problems;
    std::string filtered; // the text handed to the parser: bad lines blanked to "#"
    bool header_ok = false;
    bool secret = false;
};
Scan scan(std::string_view text, std::string file, std::vector<std::string> names,
          const Options& options);
void add_row(Scan& scan, std::size_t line, std::vector<std::string> cells);
void add_parser_problem(Scan& scan, const ::io::error::base& error);
Parsed finish(Scan scan);

} // namespace detail

// Parses CSV text with these named columns (in any order in the file). Never throws for bad
// content: every problem is in Parsed::problems and the rows that parse are in the table.
// Columns are named by a braced list or an array: parse(text, file, {"pin", "value"}).
template <std::size_t N>
Parsed parse(std::string_view text, std::string file, const std::string_view (&names)[N],
             const Options& options = {}) {
    auto scan =
        detail::scan(text, std::move(file), std::vector<std::string>(names, names + N), options);
    if (!scan.header_ok)
        return detail::finish(std::move(scan));
    try {
        ::io::CSVReader<N, ::io::trim_chars<' ', '\t'>, ::io::double_quote_escape<',', '"'>,
                        ::io::throw_on_overflow, ::io::single_and_empty_line_comment<'#'>>
            in(scan.table.file().c_str(), scan.filtered.data(),
               scan.filtered.data() + scan.filtered.size());
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            in.read_header(options.extra_columns ? ::io::ignore_extra_column
                                                 : ::io::ignore_no_column,
                           std::string(names[I])...);
        }
        (std::make_index_sequence<N>{});
        std::array<std::string, N> cells;
        while (std::apply([&](auto&... c) { return in.read_row(c...); }, cells))
            detail::add_row(scan, in.get_file_line(),
                            std::vector<std::string>(std::make_move_iterator(cells.begin()),
                                                     std::make_move_iterator(cells.end())));
    } catch (const ::io::error::base& error) {
        detail::add_parser_problem(scan, error);
    }
    return detail::finish(std::move(scan));
}

// parse(), then throws every problem as one ConfigError.
template <std::size_t N>
Table parse_or_throw(std::string_view text, std::string file, const std::string_view (&names)[N],
                     const Options& options = {}) {
    auto parsed = parse<N>(text, std::move(file), names, options);
    if (!parsed.problems.empty())
        throw_problems(std::move(parsed.problems));
    return std::move(parsed.table);
}

// Reads a CSV file (read_text_file + parse_or_throw).
template <std::size_t N>
Table read(const std::filesystem::path& file, const std::string_view (&names)[N],
           const Options& options = {}) {
    const std::string text = read_text_file(file, options.what, options.max_file_bytes);
    return parse_or_throw<N>(text, file.string(), names, options);
}

} // namespace harness::io::csv
