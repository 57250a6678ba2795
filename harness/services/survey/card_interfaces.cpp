#include "services/survey/card_interfaces.hpp"

#include "io/csv.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

namespace harness::survey {
namespace {

constexpr std::array<std::pair<Socket, const char*>, 6> socket_names{{
    {Socket::Contact, "contact"},
    {Socket::Contactless, "contactless"},
    {Socket::ContactAndContactless, "contact+contactless"},
    {Socket::Sam, "sam"},
    {Socket::Sim, "sim"},
    {Socket::None, "none"},
}};

struct Cell {
    std::string text;
    std::size_t column = 1; // 1-based character column where the cell starts
};

// Characters (UTF-8 code points) before byte `byte` of `line`, + 1.
std::size_t column_of(std::string_view line, std::size_t byte) {
    std::size_t column = 1;
    for (std::size_t i = 0; i < byte && i < line.size(); ++i)
        if ((static_cast<unsigned char>(line[i]) & 0xC0U) != 0x80U)
            ++column;
    return column;
}

// Splits one CSV line: cells are trimmed; a cell wrapped in '"' is unquoted ("" is one quote).
// Returns nullopt with the byte of an unclosed quote.
std::vector<Cell> split(std::string_view line, std::optional<std::size_t>& unclosed) {
    std::vector<Cell> cells;
    std::size_t i = 0;
    while (true) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        Cell cell;
        cell.column = column_of(line, i);
        if (i < line.size() && line[i] == '"') {
            const std::size_t open = i++;
            bool closed = false;
            while (i < line.size()) {
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        cell.text += '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    ++i;
                    break;
                }
                cell.text += line[i++];
            }
            if (!closed) {
                unclosed = open;
                return cells;
            }
            while (i < line.size() && line[i] != ',')
                ++i;
        } else {
            const std::size_t start = i;
            while (i < line.size() && line[i] != ',')
                ++i;
            std::string_view raw = line.substr(start, i - start);
            while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t'))
                raw.remove_suffix(1);
            cell.text = raw;
        }
        cells.push_back(std::move(cell));
        if (i >= line.size())
            return cells;
        ++i; // the comma
    }
}

std::optional<std::uint32_t> hex_value(std::string_view text, std::size_t max_digits) {
    if (text.starts_with("0x") || text.starts_with("0X"))
        text.remove_prefix(2);
    if (text.empty() || text.size() > max_digits)
        return std::nullopt;
    std::uint32_t value = 0;
    for (const char c : text) {
        value <<= 4U;
        if (c >= '0' && c <= '9')
            value |= static_cast<std::uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            value |= static_cast<std::uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            value |= static_cast<std::uint32_t>(c - 'A' + 10);
        else
            return std::nullopt;
    }
    return value;
}

} // namespace

const char* to_string(Socket socket) {
    for (const auto& [s, name] : socket_names)
        if (s == socket)
            return name;
    return "contact";
}

std::optional<Socket> socket_from(std::string_view text) {
    for (const auto& [s, name] : socket_names)
        if (text == name)
            return s;
    return std::nullopt;
}

std::vector<InterfaceRule> parse_card_interfaces(std::string_view text, const std::string& file) {
    static constexpr std::array<const char*, 6> columns{"vid",       "pid",   "bcd_device",
                                                        "interface", "takes", "evidence"};
    std::vector<InterfaceRule> rules;
    std::set<std::tuple<std::uint16_t, std::uint16_t, int, int>> keys;
    std::vector<std::size_t> index; // file column of each named column
    std::size_t line_number = 0;
    std::size_t pos = 0;
    if (text.starts_with("\xEF\xBB\xBF"))
        pos = 3;
    while (pos <= text.size()) {
        const std::size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos || line[first] == '#')
            continue;
        std::optional<std::size_t> unclosed;
        auto cells = split(line, unclosed);
        const auto fail = [&](std::size_t column, const std::string& what) {
            throw ConfigError(fmt::format("{}: expected {}",
                                          io::csv::to_string({file, line_number, column}), what));
        };
        if (unclosed)
            fail(column_of(line, *unclosed), "a closing '\"' for this quoted cell");
        if (index.empty()) {
            for (const char* name : columns) {
                const auto it = std::find_if(cells.begin(), cells.end(),
                                             [&](const Cell& c) { return c.text == name; });
                if (it == cells.end())
                    fail(1, fmt::format("a header with the columns {}; column \"{}\" is missing",
                                        fmt::join(columns, ","), name));
                index.push_back(static_cast<std::size_t>(it - cells.begin()));
            }
            if (cells.size() != columns.size())
                fail(cells.back().column,
                     fmt::format("exactly the columns {}", fmt::join(columns, ",")));
            continue;
        }
        if (cells.size() != columns.size())
            fail(cells.size() > columns.size() ? cells[columns.size()].column
                                               : column_of(line, line.size()),
                 fmt::format("{} cells ({}), found {}", columns.size(), fmt::join(columns, ","),
                             cells.size()));
        const auto cell = [&](std::size_t k) -> const Cell& { return cells[index[k]]; };
        InterfaceRule rule;
        rule.where = fmt::format("{}:{}", file, line_number);
        const auto vid = hex_value(cell(0).text, 4);
        if (!vid)
            fail(cell(0).column, fmt::format("a USB vendor id in hex (e.g. 054C) in column vid, "
                                             "found \"{}\"",
                                             cell(0).text));
        const auto pid = hex_value(cell(1).text, 4);
        if (!pid)
            fail(cell(1).column, fmt::format("a USB product id in hex (e.g. 0DC8) in column pid, "
                                             "found \"{}\"",
                                             cell(1).text));
        rule.vendor_id = static_cast<std::uint16_t>(*vid);
        rule.product_id = static_cast<std::uint16_t>(*pid);
        if (!cell(2).text.empty()) {
            const auto bcd = hex_value(cell(2).text, 4);
            if (!bcd)
                fail(cell(2).column,
                     fmt::format("empty or a bcdDevice in hex (e.g. 0102) in column bcd_device, "
                                 "found \"{}\"",
                                 cell(2).text));
            rule.bcd_device = static_cast<std::uint16_t>(*bcd);
        }
        if (!cell(3).text.empty()) {
            const std::string& t = cell(3).text;
            if (t.size() > 3 ||
                !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                std::stoi(t) > 255)
                fail(cell(3).column,
                     fmt::format("empty or a bInterfaceNumber 0..255 in column interface, found "
                                 "\"{}\"",
                                 t));
            rule.interface_number = static_cast<std::uint8_t>(std::stoi(t));
        }
        const auto takes = socket_from(cell(4).text);
        if (!takes)
            fail(cell(4).column,
                 fmt::format("contact, contactless, contact+contactless, sam, sim or none in "
                             "column takes, found \"{}\"",
                             cell(4).text));
        rule.takes = *takes;
        rule.evidence = cell(5).text;
        if (rule.evidence.empty())
            fail(cell(5).column, "the evidence for this row in column evidence (what says so)");
        const auto key = std::make_tuple(rule.vendor_id, rule.product_id,
                                         rule.bcd_device ? int{*rule.bcd_device} : -1,
                                         rule.interface_number ? int{*rule.interface_number} : -1);
        if (!keys.insert(key).second)
            fail(cell(0).column, "one row per vid,pid,bcd_device,interface; this key is repeated");
        rules.push_back(std::move(rule));
    }
    if (index.empty())
        throw ConfigError(fmt::format("{}: expected a header line "
                                      "vid,pid,bcd_device,interface,takes,evidence",
                                      io::csv::to_string({file, 1, 1})));
    return rules;
}

std::vector<InterfaceRule> load_card_interfaces(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ConfigError(file.string() + ":1:1: expected a readable CSV file (cannot open it)");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_card_interfaces(text.str(), file.string());
}

Physical physical_of(const std::vector<InterfaceRule>& rules, const ccid::DeviceIdentity& identity,
                     std::uint8_t interface_number) {
    const InterfaceRule* best = nullptr;
    int best_score = -1;
    for (const auto& r : rules) {
        if (r.vendor_id != identity.vendor_id || r.product_id != identity.product_id)
            continue;
        if (r.bcd_device && *r.bcd_device != identity.bcd_device)
            continue;
        if (r.interface_number && *r.interface_number != interface_number)
            continue;
        const int score = (r.interface_number ? 2 : 0) + (r.bcd_device ? 1 : 0);
        if (score > best_score) {
            best = &r;
            best_score = score;
        }
    }
    Physical p;
    if (!best) {
        p.evidence = "not in the reviewed list of contactless, SAM, SIM and built-in-chip "
                     "interfaces: taken as an ID-1 contact slot, as most CCID readers are";
        return p;
    }
    p.socket = best->takes;
    p.reviewed = true;
    p.evidence = best->evidence;
    p.where = best->where;
    return p;
}

} // namespace harness::survey
