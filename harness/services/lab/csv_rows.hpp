#pragma once
// Lab-internal: named CSV cells with their file positions, over fast-cpp-csv-parser, so every
// bad value is reported as "file:line:column: expected …".
#include "pure/error.hpp"

#include <array>
#include <cstddef>
#include <filesystem>
#include <libfccp/csv.h>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace harness::lab::csv {

struct Row {
    unsigned line = 0;
    std::vector<std::string> cells;   // in the order the caller named the columns
    std::vector<std::size_t> columns; // 1-based character column of each cell in the file
};

struct Table {
    std::filesystem::path file;
    std::vector<std::string> names;
    std::vector<Row> rows;

    // Throws ConfigError "file:line:column: expected <what>, found "<cell>"".
    [[noreturn]] void fail(const Row& row, std::size_t cell, std::string_view expected) const;
};

// Where each named column starts on a raw line (quote-aware); 1 when the line is too short.
std::vector<std::size_t> cell_columns(std::string_view raw_line,
                                      const std::vector<std::string>& header,
                                      const std::vector<std::string>& names);
std::vector<std::string> read_lines(const std::filesystem::path& file);
[[noreturn]] void rethrow(const std::filesystem::path& file, const ::io::error::base& error);

// Reads a CSV file with exactly these columns (any order; '#' and empty lines are skipped).
template <std::size_t N>
Table read(const std::filesystem::path& file, const std::array<const char*, N>& names) {
    if (!std::filesystem::is_regular_file(file))
        throw ConfigError(file.string() + ":1:1: expected a readable CSV file (not found)");
    Table table{file, std::vector<std::string>(names.begin(), names.end()), {}};
    const auto lines = read_lines(file);
    std::vector<std::string> header;
    try {
        ::io::CSVReader<N, ::io::trim_chars<' ', '\t'>, ::io::double_quote_escape<',', '"'>,
                        ::io::throw_on_overflow, io::single_and_empty_line_comment<'#'>>
            in(file.string());
        std::apply([&](auto... n) { in.read_header(::io::ignore_no_column, n...); }, names);
        const unsigned header_line = in.get_file_line();
        if (header_line >= 1 && header_line <= lines.size()) {
            std::string cell;
            bool quoted = false;
            for (char c : lines[header_line - 1]) {
                if (c == '"')
                    quoted = !quoted;
                else if (c == ',' && !quoted) {
                    header.push_back(cell);
                    cell.clear();
                } else if (c != ' ' && c != '\t' && c != '\r')
                    cell += c;
            }
            header.push_back(cell);
        }
        std::array<std::string, N> cells;
        while (std::apply([&](auto&... c) { return in.read_row(c...); }, cells)) {
            Row row;
            row.line = in.get_file_line();
            row.cells.assign(cells.begin(), cells.end());
            row.columns = row.line >= 1 && row.line <= lines.size()
                              ? cell_columns(lines[row.line - 1], header, table.names)
                              : std::vector<std::size_t>(N, 1);
            table.rows.push_back(std::move(row));
        }
    } catch (const ::io::error::base& error) {
        rethrow(file, error);
    }
    return table;
}

} // namespace harness::lab::csv
