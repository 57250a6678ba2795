#include "io/csv.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <set>

namespace harness::io::csv {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names)
        out += (out.empty() ? "" : ",") + name;
    return out;
}

void sort_by_place(std::vector<Problem>& problems) {
    std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
    });
}

} // namespace

std::string to_string(const Location& where) {
    return fmt::format("{}:{}:{}", where.file, where.line, where.column);
}

std::string Problem::to_string() const {
    return csv::to_string(where) + ": " + message;
}

void throw_problems(std::vector<Problem> problems) {
    sort_by_place(problems);
    std::string text;
    for (const auto& p : problems)
        text += (text.empty() ? "" : "\n") + p.to_string();
    throw ConfigError(text);
}

std::vector<std::string> physical_lines(std::string_view text) {
    // Every leading BOM goes: the parser would drop one more from the start of what it reads.
    while (strip_bom(text).size() != text.size())
        text = strip_bom(text);
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        std::string line(text.substr(start, end - start));
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        lines.push_back(std::move(line));
        start = end + 1;
    }
    return lines;
}

std::string_view strip_bom(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF")
        text.remove_prefix(3);
    return text;
}

namespace {

// Where one cell of a line lies, without its value: raw bytes [begin, end), and [first, last) once
// blanks are trimmed (quotes kept).
struct Bounds {
    std::size_t begin = 0, end = 0, first = 0, last = 0;
    bool quoted() const { return last - first >= 2; } // and both ends are '"': see cut_line
};
struct Cut {
    std::vector<Bounds> cells;
    std::optional<std::size_t> unclosed_quote;
};

// Mirrors fast-cpp-csv-parser's chop_next_column + trim_chars<' ','\t'>: the cells' places only
// (no value is built), into `out` (reused by callers that cut many lines). split_line adds the
// values; the cell count and the columns need only this.
void cut_line(std::string_view line, Cut& out) {
    out.cells.clear();
    out.unclosed_quote.reset();
    std::size_t i = 0;
    while (true) {
        Bounds cell;
        cell.begin = i;
        while (i < line.size() && line[i] != ',') {
            if (line[i] != '"') {
                ++i;
                continue;
            }
            const std::size_t quote_at = i;
            do {
                ++i;
                while (i < line.size() && line[i] != '"')
                    ++i;
                if (i >= line.size()) {
                    out.unclosed_quote = quote_at;
                    return;
                }
                ++i;
            } while (i < line.size() && line[i] == '"');
        }
        cell.end = i;
        cell.first = cell.begin;
        cell.last = cell.end;
        while (cell.first < cell.last && is_blank(line[cell.first]))
            ++cell.first;
        while (cell.last > cell.first && is_blank(line[cell.last - 1]))
            --cell.last;
        out.cells.push_back(cell);
        if (i >= line.size())
            break;
        ++i; // the comma
    }
}

bool is_quoted(std::string_view line, const Bounds& cell) {
    return cell.quoted() && line[cell.first] == '"' && line[cell.last - 1] == '"';
}

// The byte where a cell's value starts (CellSpan::map.front()): after its opening quote.
std::size_t content_start(std::string_view line, const Bounds& cell) {
    return is_quoted(line, cell) ? cell.first + 1 : cell.first;
}

} // namespace

SplitLine split_line(std::string_view line) {
    // Mirrors fast-cpp-csv-parser's chop_next_column + trim_chars<' ','\t'> + double_quote_escape.
    Cut cut;
    cut_line(line, cut);
    SplitLine out;
    out.unclosed_quote = cut.unclosed_quote;
    if (cut.unclosed_quote)
        return out;
    out.cells.reserve(cut.cells.size());
    for (const Bounds& b : cut.cells) {
        CellSpan cell;
        cell.begin = b.begin;
        cell.end = b.end;
        cell.map.reserve(b.last - b.first + 1);
        cell.content.reserve(b.last - b.first);
        if (is_quoted(line, b)) {
            for (std::size_t k = b.first + 1; k < b.last - 1; ++k) {
                cell.map.push_back(k);
                cell.content.push_back(line[k]);
                if (line[k] == '"' && k + 1 < b.last - 1 && line[k + 1] == '"')
                    ++k;
            }
            cell.map.push_back(b.last - 1);
        } else {
            for (std::size_t k = b.first; k < b.last; ++k) {
                cell.map.push_back(k);
                cell.content.push_back(line[k]);
            }
            cell.map.push_back(b.last);
        }
        out.cells.push_back(std::move(cell));
    }
    return out;
}

std::size_t char_column(std::string_view line, std::size_t byte) {
    std::size_t column = 1;
    for (std::size_t i = 0; i < byte && i < line.size(); ++i)
        if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80)
            ++column;
    return column;
}

bool is_comment_or_blank(std::string_view line) {
    if (!line.empty() && line.front() == '#')
        return true;
    return std::all_of(line.begin(), line.end(), is_blank);
}

std::size_t Table::index_of(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i)
        if (names_[i] == name)
            return i;
    throw Error(fmt::format("internal: no column {} asked of {}", name, file_));
}

Location Table::where(const Row& row, std::size_t cell, std::size_t offset) const {
    if (row.line == 0 || row.line > lines_.size() || cell >= positions_.size())
        return {file_, row.line, 1};
    const std::string& text = lines_[row.line - 1];
    const auto split = split_line(text);
    if (positions_[cell] >= split.cells.size())
        return {file_, row.line, char_column(text, text.size())};
    const auto& span = split.cells[positions_[cell]];
    return {file_, row.line, char_column(text, span.map.at(std::min(offset, span.map.size() - 1)))};
}

std::vector<std::size_t> Table::columns(const Row& row) const {
    std::vector<std::size_t> out(names_.size(), 1);
    if (row.line == 0 || row.line > lines_.size())
        return out;
    const std::string& text = lines_[row.line - 1];
    Cut cut;
    cut_line(text, cut);
    // The cells start in line order: one pass counts the characters up to each start.
    std::vector<std::size_t> at(cut.cells.size());
    std::size_t column = 1, byte = 0;
    for (std::size_t c = 0; c < cut.cells.size(); ++c) {
        const std::size_t start = content_start(text, cut.cells[c]);
        for (; byte < start && byte < text.size(); ++byte)
            if ((static_cast<unsigned char>(text[byte]) & 0xC0) != 0x80)
                ++column;
        at[c] = column;
    }
    for (std::size_t i = 0; i < names_.size() && i < positions_.size(); ++i)
        if (positions_[i] < cut.cells.size())
            out[i] = at[positions_[i]];
    return out;
}

Problem Table::problem(const Row& row, std::size_t cell, std::size_t offset,
                       std::string message) const {
    return {where(row, cell, offset), std::move(message)};
}

void Table::fail(const Row& row, std::size_t cell, std::string_view expected) const {
    throw ConfigError(fmt::format("{}: expected {} in column {}, found \"{}\"",
                                  to_string(where(row, cell)), expected, names_.at(cell),
                                  row.cells.at(cell)));
}

void Table::fail_quiet(const Row& row, std::size_t cell, std::string_view expected) const {
    throw ConfigError(fmt::format("{}: expected {} in column {}", to_string(where(row, cell)),
                                  expected, names_.at(cell)));
}

namespace detail {

struct Access {
    static Scan scan(std::string_view text, std::string file, std::vector<std::string> names,
                     const Options& options);
    static void add_row(Table& table, std::size_t line, std::vector<std::string> cells) {
        table.rows_.push_back({line, std::move(cells)});
    }
};

Scan scan(std::string_view text, std::string file, std::vector<std::string> names,
          const Options& options) {
    return Access::scan(text, std::move(file), std::move(names), options);
}

Scan Access::scan(std::string_view text, std::string file, std::vector<std::string> names,
                  const Options& options) {
    Scan out;
    out.secret = options.secret;
    Table& table = out.table;
    table.file_ = std::move(file);
    table.names_ = std::move(names);
    table.lines_ = physical_lines(text);
    const auto& lines = table.lines_;
    const auto problem = [&](std::size_t line, std::size_t byte, std::string message) {
        out.problems.push_back(
            {{table.file_, line, char_column(lines.at(line - 1), byte)}, std::move(message)});
    };
    const std::string wanted = join(table.names_);

    std::size_t n = 0;
    while (n < lines.size() && is_comment_or_blank(lines[n]))
        ++n;
    if (n == lines.size()) {
        out.problems.push_back({{table.file_, 1, 1}, "expected a header line " + wanted});
        return out;
    }
    table.header_line_ = n + 1;
    const std::string& header_text = lines[n];
    if (const auto nul = header_text.find('\0'); nul != std::string::npos) {
        problem(n + 1, nul, "expected text, found a NUL byte");
        return out;
    }
    const SplitLine header = split_line(header_text);
    if (header.unclosed_quote) {
        problem(n + 1, *header.unclosed_quote, "expected a closing '\"' in the header");
        return out;
    }
    const std::size_t problems_before = out.problems.size();
    std::set<std::string> seen;
    table.positions_.assign(table.names_.size(), header.cells.size());
    for (std::size_t i = 0; i < header.cells.size(); ++i) {
        const auto& cell = header.cells[i];
        if (!seen.insert(cell.content).second) {
            problem(n + 1, cell.map.front(),
                    options.secret
                        ? std::string("expected each column name once")
                        : "expected each column name once, found \"" + cell.content + "\" again");
            continue;
        }
        const auto it = std::find(table.names_.begin(), table.names_.end(), cell.content);
        if (it != table.names_.end())
            table.positions_[static_cast<std::size_t>(it - table.names_.begin())] = i;
        else if (!options.extra_columns)
            problem(n + 1, cell.map.front(),
                    "expected only the columns " + wanted + " in the header" +
                        (options.secret ? std::string() : ", found \"" + cell.content + "\""));
    }
    std::vector<std::string> missing;
    for (const auto& name : table.names_)
        if (!seen.count(name))
            missing.push_back("\"" + name + "\"");
    if (!missing.empty()) {
        std::string also;
        for (std::size_t i = 1; i < missing.size(); ++i)
            also += (also.empty() ? "also missing: " : ", ") + missing[i];
        problem(n + 1, header_text.size(),
                fmt::format("expected a column {} in the header ({}{}columns: {})", missing[0],
                            also, also.empty() ? "" : "; ", wanted));
    }
    out.header_ok = out.problems.size() == problems_before;
    if (!out.header_ok)
        return out;

    // Lines that do not split into the header's cells are reported here and blanked (kept as
    // comments, so line numbers stay) before fast-cpp-csv-parser reads the text. Each line ends in
    // "\r\n": the parser drops one '\r' before a '\n', as physical_lines already did, so it reads
    // the physical line itself (a line ending "\r\r\n" keeps one '\r' in both readings).
    out.filtered.reserve(text.size() + 2 * lines.size());
    Cut split; // reused for every line
    for (std::size_t k = 0; k < lines.size(); ++k) {
        const std::string& line = lines[k];
        bool keep = true;
        if (k > n && !is_comment_or_blank(line)) {
            keep = false;
            cut_line(line, split);
            if (const auto nul = line.find('\0'); nul != std::string::npos) {
                problem(k + 1, nul, "expected text, found a NUL byte");
            } else if (split.unclosed_quote) {
                problem(k + 1, *split.unclosed_quote,
                        "expected a closing '\"' for the quoted cell");
            } else if (split.cells.size() != header.cells.size()) {
                problem(k + 1,
                        split.cells.size() > header.cells.size()
                            ? split.cells[header.cells.size()].begin
                            : line.size(),
                        fmt::format("expected {} cells as in the header, found {} (quote cells "
                                    "that contain commas: \"a,b\")",
                                    header.cells.size(), split.cells.size()));
            } else {
                keep = true;
            }
        }
        out.filtered += keep ? std::string_view(line) : std::string_view("#");
        out.filtered += "\r\n";
    }
    return out;
}

void add_row(Scan& scan, std::size_t line, std::vector<std::string> cells) {
    Access::add_row(scan.table, line, std::move(cells));
}

void add_parser_problem(Scan& scan, const ::io::error::base& error) {
    // Not reached for text that passed scan(); kept so a parser surprise is still a located error.
    std::size_t line = 1;
    if (const auto* with_line = dynamic_cast<const ::io::error::with_file_line*>(&error))
        line = with_line->file_line > 0 ? static_cast<std::size_t>(with_line->file_line) : 1;
    scan.problems.push_back(
        {{scan.table.file(), line, 1},
         scan.secret ? std::string("expected a well-formed CSV row")
                     : std::string("expected a well-formed CSV row (") + error.what() + ")"});
}

Parsed finish(Scan scan) {
    sort_by_place(scan.problems);
    return {std::move(scan.table), std::move(scan.problems)};
}

} // namespace detail
} // namespace harness::io::csv
