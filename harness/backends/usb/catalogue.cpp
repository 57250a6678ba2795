#include "backends/usb/usb.hpp"
#include "io/paths.hpp"
#include "pure/bytes.hpp"
#include "pure/ccid_driver_list.hpp"
#include "pure/error.hpp"

#include <array>
#include <cstdlib>
#include <fmt/core.h>
#include <fstream>
#include <libfccp/csv.h>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace harness::usb {
namespace {

constexpr std::array<std::string_view, 7> columns{
    "vid", "pid", "maker", "product", "interface_class", "note_en", "note_ja"};

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError(fmt::format("{}:1:1: expected a readable file", path.string()));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The raw text of 1-based line `line`.
std::string_view line_of(std::string_view text, std::size_t line) {
    std::size_t start = 0;
    for (std::size_t n = 1; n < line; ++n) {
        const auto nl = text.find('\n', start);
        if (nl == std::string_view::npos)
            return {};
        start = nl + 1;
    }
    auto end = text.find('\n', start);
    if (end == std::string_view::npos)
        end = text.size();
    auto out = text.substr(start, end - start);
    if (!out.empty() && out.back() == '\r')
        out.remove_suffix(1);
    return out;
}

// 1-based character column where field `index` (0-based, file order) starts; quote-aware.
std::size_t field_column(std::string_view line, std::size_t index) {
    std::size_t field = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (field == index)
            return i + 1;
        if (line[i] == '"')
            quoted = !quoted;
        else if (line[i] == ',' && !quoted)
            ++field;
    }
    return line.size() + 1;
}

// File order of each named column, from the raw header (the loader requires exactly these).
std::array<std::size_t, 7> header_positions(std::string_view header) {
    std::array<std::size_t, 7> positions{};
    std::size_t field = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= header.size(); ++i) {
        if (i == header.size() || header[i] == ',') {
            auto name = header.substr(start, i - start);
            while (!name.empty() && (name.front() == ' ' || name.front() == '\t'))
                name.remove_prefix(1);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
                name.remove_suffix(1);
            for (std::size_t c = 0; c < columns.size(); ++c)
                if (columns[c] == name)
                    positions[c] = field;
            ++field;
            start = i + 1;
        }
    }
    return positions;
}

} // namespace

std::filesystem::path default_catalogue_path() {
    if (const char* env = std::getenv("CARDHARNESS_CATALOGUE"); env && *env)
        return env;
    return io::paths::profiles_dir() / "readers" / "catalogue.csv";
}

model::ReaderCatalogue load_catalogue(const std::filesystem::path& path) {
    const std::string name = path.string();
    const std::string text = read_file(path);
    const auto fail = [&](std::size_t line, std::size_t column, std::string_view what) {
        return ConfigError(fmt::format("{}:{}:{}: expected {}", name, line, column, what));
    };
    ::io::CSVReader<7, ::io::trim_chars<' ', '\t'>, ::io::double_quote_escape<',', '"'>> reader(
        name.c_str(), text.data(), text.data() + text.size());
    try {
        reader.read_header(::io::ignore_no_column, "vid", "pid", "maker", "product",
                           "interface_class", "note_en", "note_ja");
    } catch (const ::io::error::base&) {
        throw fail(1, 1, "the header row vid,pid,maker,product,interface_class,note_en,note_ja");
    }
    const auto positions = header_positions(line_of(text, 1));
    model::ReaderCatalogue catalogue;
    std::array<std::string, 7> f;
    for (;;) {
        try {
            if (!reader.read_row(f[0], f[1], f[2], f[3], f[4], f[5], f[6]))
                break;
        } catch (const ::io::error::too_few_columns&) {
            const auto line = reader.get_file_line();
            throw fail(line, line_of(text, line).size() + 1, "7 comma-separated columns");
        } catch (const ::io::error::too_many_columns&) {
            const auto line = reader.get_file_line();
            throw fail(line, field_column(line_of(text, line), 7),
                       "the end of the row after 7 columns");
        } catch (const ::io::error::escaped_string_not_closed&) {
            const auto line = reader.get_file_line();
            throw fail(line, line_of(text, line).size() + 1, "a closing '\"'");
        } catch (const ::io::error::base& e) {
            throw fail(reader.get_file_line(), 1, e.what());
        }
        const std::size_t line = reader.get_file_line();
        const auto column = [&](std::size_t c) {
            return field_column(line_of(text, line), positions[c]);
        };
        model::CatalogueEntry entry;
        const auto vid = hex::parse_number(f[0], 4);
        if (!vid)
            throw fail(line, column(0), "a vendor ID of 1-4 hex digits like 054C");
        const auto pid = hex::parse_number(f[1], 4);
        if (!pid)
            throw fail(line, column(1), "a product ID of 1-4 hex digits like 06C1");
        const auto cls = hex::parse_number(f[4], 2);
        if (!cls)
            throw fail(line, column(4), "an interface class of 1-2 hex digits like FF");
        for (std::size_t c : {std::size_t{2}, std::size_t{3}, std::size_t{5}})
            if (f[c].empty())
                throw fail(line, column(c), fmt::format("a non-empty {}", columns[c]));
        entry.vid = static_cast<std::uint16_t>(*vid);
        entry.pid = static_cast<std::uint16_t>(*pid);
        entry.maker = f[2];
        entry.product = f[3];
        entry.interface_class = static_cast<std::uint8_t>(*cls);
        entry.note_en = f[5];
        entry.note_ja = f[6];
        if (catalogue.find(entry.vid, entry.pid))
            throw fail(line, column(0),
                       fmt::format("a VID:PID not listed before ({} is a duplicate)",
                                   model::vid_pid_string(entry.vid, entry.pid)));
        catalogue.entries.push_back(std::move(entry));
    }
    return catalogue;
}

std::filesystem::path default_ccid_info_plist_path() {
    if (const char* env = std::getenv("CARDHARNESS_CCID_INFO_PLIST"); env && *env)
        return env;
    return "/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist";
}

model::CcidDriverList load_ccid_driver_list(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw EnvironmentError(fmt::format(
            "cannot read the CCID driver's reader list {} (is libccid installed?)", path.string()));
    std::ostringstream text;
    text << in.rdbuf();
    model::CcidDriverList list;
    list.source = path.string();
    for (auto& reader : ccid_driver::parse_info_plist(text.str(), list.source))
        list.entries.push_back({reader.vid, reader.pid, std::move(reader.name)});
    return list;
}

std::optional<model::CcidDriverList> load_installed_ccid_driver_list() {
    const auto path = default_ccid_info_plist_path();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return std::nullopt;
    return load_ccid_driver_list(path);
}

} // namespace harness::usb
