#include "services/emu/csv_table.hpp"

#include <fstream>

namespace harness::emu {
namespace {

std::vector<std::string> split_unquoted(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (char c : line) {
        if (c == '"')
            quoted = !quoted;
        if (c == ',' && !quoted)
            out.emplace_back();
        else
            out.back().push_back(c);
    }
    for (auto& cell : out) {
        const auto first = cell.find_first_not_of(" \t\r");
        const auto last = cell.find_last_not_of(" \t\r");
        cell = first == std::string::npos ? std::string() : cell.substr(first, last - first + 1);
    }
    return out;
}

bool is_comment_or_empty(const std::string& line) {
    const auto first = line.find_first_not_of(" \t\r");
    return first == std::string::npos || line[first] == '#';
}

} // namespace

CsvTable::CsvTable(std::filesystem::path file, std::vector<std::string> columns)
    : file_(std::move(file)), columns_(std::move(columns)) {
    std::ifstream in(file_);
    for (std::string line; std::getline(in, line);)
        raw_lines_.push_back(line);
    for (const auto& line : raw_lines_)
        if (!is_comment_or_empty(line)) {
            header_ = split_unquoted(line);
            break;
        }
}

std::size_t CsvTable::index_of(const std::string& column) const {
    for (std::size_t i = 0; i < columns_.size(); ++i)
        if (columns_[i] == column)
            return i;
    throw Error("internal: no column " + column + " in " + file_.string());
}

std::size_t CsvTable::column_of(unsigned line, const std::string& column) const {
    std::size_t physical = header_.size();
    for (std::size_t i = 0; i < header_.size(); ++i)
        if (header_[i] == column)
            physical = i;
    if (line == 0 || line > raw_lines_.size() || physical == header_.size())
        return 1;
    const std::string& text = raw_lines_[line - 1];
    std::size_t field = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (field == physical) {
            std::size_t start = i;
            while (start < text.size() && (text[start] == ' ' || text[start] == '\t'))
                ++start;
            return start + 1;
        }
        if (text[i] == '"')
            quoted = !quoted;
        if (text[i] == ',' && !quoted)
            ++field;
    }
    return text.size() + 1;
}

void CsvTable::fail(const CsvRow& row, const std::string& column,
                    const std::string& expected) const {
    const std::string& cell = row.cells.at(index_of(column));
    throw ConfigError(file_.string() + ":" + std::to_string(row.line) + ":" +
                      std::to_string(column_of(row.line, column)) + ": expected " + expected +
                      " in column " + column + ", found \"" + cell + "\"");
}

void rethrow_csv_error(const std::filesystem::path& file, const io::error::base& e) {
    int line = 1;
    if (const auto* with_line = dynamic_cast<const io::error::with_file_line*>(&e))
        line = with_line->file_line > 0 ? with_line->file_line : 1;
    std::string what = e.what();
    throw ConfigError(file.string() + ":" + std::to_string(line) +
                      ":1: expected a well-formed CSV row (" + what + ")");
}

} // namespace harness::emu
