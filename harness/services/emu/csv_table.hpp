#pragma once
// A small typed front end over fast-cpp-csv-parser for the card profiles: rows of named cells with
// their line numbers, and errors as "file:line:column: expected ...".
#include "pure/error.hpp"

#include <array>
#include <cstddef>
#include <filesystem>
#include <libfccp/csv.h>
#include <string>
#include <tuple>
#include <vector>

namespace harness::emu {

struct CsvRow {
    unsigned line = 0;
    std::vector<std::string> cells; // in the order the caller asked for the columns
};

class CsvTable {
public:
    CsvTable(std::filesystem::path file, std::vector<std::string> columns);

    const std::filesystem::path& file() const { return file_; }
    const std::vector<CsvRow>& rows() const { return rows_; }
    void add(CsvRow row) { rows_.push_back(std::move(row)); }
    std::size_t index_of(const std::string& column) const;

    // Throws ConfigError "file:line:column: expected <what>, found "<cell>"" for a cell.
    [[noreturn]] void fail(const CsvRow& row, const std::string& column,
                           const std::string& expected) const;
    // The 1-based character column where a cell starts in the file (1 if unknown).
    std::size_t column_of(unsigned line, const std::string& column) const;

private:
    std::filesystem::path file_;
    std::vector<std::string> columns_;
    std::vector<CsvRow> rows_;
    std::vector<std::string> raw_lines_;
    std::vector<std::string> header_; // physical column order
};

// Rethrows a fast-cpp-csv-parser error as ConfigError with file:line:column.
[[noreturn]] void rethrow_csv_error(const std::filesystem::path& file, const ::io::error::base& e);

// Reads a CSV file with exactly these columns (any order in the file; '#' lines are comments).
template <std::size_t N>
CsvTable read_csv(const std::filesystem::path& file, const std::array<const char*, N>& columns,
                  bool allow_extra_columns = false) {
    if (!std::filesystem::exists(file))
        throw ConfigError(file.string() + ":1:1: expected a readable CSV file (not found)");
    CsvTable table(file, std::vector<std::string>(columns.begin(), columns.end()));
    try {
        ::io::CSVReader<N, ::io::trim_chars<' ', '\t'>, ::io::double_quote_escape<',', '"'>,
                        ::io::throw_on_overflow, io::single_and_empty_line_comment<'#'>>
            in(file.string());
        std::apply(
            [&](auto... names) {
                in.read_header(allow_extra_columns ? ::io::ignore_extra_column
                                                   : ::io::ignore_no_column,
                               names...);
            },
            columns);
        std::array<std::string, N> cells;
        while (std::apply([&](auto&... c) { return in.read_row(c...); }, cells)) {
            CsvRow row;
            row.line = in.get_file_line();
            row.cells.assign(cells.begin(), cells.end());
            table.add(std::move(row));
        }
    } catch (const ::io::error::base& e) {
        rethrow_csv_error(file, e);
    }
    return table;
}

} // namespace harness::emu
