#include "services/lab/csv_rows.hpp"

#include <fmt/core.h>
#include <fstream>

namespace harness::lab::csv {

void Table::fail(const Row& row, std::size_t cell, std::string_view expected) const {
    throw ConfigError(fmt::format("{}:{}:{}: expected {} in column '{}', found \"{}\"",
                                  file.string(), row.line, row.columns.at(cell), expected,
                                  names.at(cell), row.cells.at(cell)));
}

std::vector<std::size_t> cell_columns(std::string_view raw_line,
                                      const std::vector<std::string>& header,
                                      const std::vector<std::string>& names) {
    std::vector<std::size_t> starts{1};
    bool quoted = false;
    for (std::size_t i = 0; i < raw_line.size(); ++i) {
        if (raw_line[i] == '"')
            quoted = !quoted;
        else if (raw_line[i] == ',' && !quoted)
            starts.push_back(i + 2);
    }
    std::vector<std::size_t> columns;
    for (const auto& name : names) {
        std::size_t column = 1;
        for (std::size_t i = 0; i < header.size(); ++i)
            if (header[i] == name && i < starts.size())
                column = starts[i];
        columns.push_back(column);
    }
    return columns;
}

std::vector<std::string> read_lines(const std::filesystem::path& file) {
    std::vector<std::string> lines;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

void rethrow(const std::filesystem::path& file, const io::error::base& error) {
    unsigned line = 1;
    if (const auto* with_line = dynamic_cast<const io::error::with_file_line*>(&error))
        line = static_cast<unsigned>(with_line->file_line > 0 ? with_line->file_line : 1);
    std::string what = error.what();
    throw ConfigError(
        fmt::format("{}:{}:1: expected well-formed CSV ({})", file.string(), line, what));
}

} // namespace harness::lab::csv
