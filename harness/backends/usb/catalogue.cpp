#include "backends/usb/usb.hpp"
#include "io/csv.hpp"
#include "io/paths.hpp"
#include "pure/bytes.hpp"
#include "pure/ccid_driver_list.hpp"
#include "pure/error.hpp"

#include <array>
#include <cstdlib>
#include <fmt/core.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace harness::usb {
namespace {

constexpr std::string_view columns[] = {"vid",     "pid",    "maker", "product", "interface_class",
                                        "note_en", "note_ja"};

} // namespace

std::filesystem::path default_catalogue_path() {
    if (const char* env = std::getenv("CARDHARNESS_CATALOGUE"); env && *env)
        return env;
    return io::paths::profiles_dir() / "readers" / "catalogue.csv";
}

model::ReaderCatalogue load_catalogue(const std::filesystem::path& path) {
    const auto table = io::csv::read(path, columns, {.what = "reader catalogue"});
    model::ReaderCatalogue catalogue;
    for (const auto& row : table.rows()) {
        const auto& f = row.cells;
        model::CatalogueEntry entry;
        const auto vid = hex::parse_number(f[0], 4);
        if (!vid)
            table.fail(row, 0, "a vendor ID of 1-4 hex digits like 054C");
        const auto pid = hex::parse_number(f[1], 4);
        if (!pid)
            table.fail(row, 1, "a product ID of 1-4 hex digits like 06C1");
        const auto cls = hex::parse_number(f[4], 2);
        if (!cls)
            table.fail(row, 4, "an interface class of 1-2 hex digits like FF");
        for (std::size_t c : {std::size_t{2}, std::size_t{3}, std::size_t{5}})
            if (f[c].empty())
                table.fail(row, c, "a non-empty value");
        entry.vid = static_cast<std::uint16_t>(*vid);
        entry.pid = static_cast<std::uint16_t>(*pid);
        entry.maker = f[2];
        entry.product = f[3];
        entry.interface_class = static_cast<std::uint8_t>(*cls);
        entry.note_en = f[5];
        entry.note_ja = f[6];
        if (catalogue.find(entry.vid, entry.pid))
            table.fail(row, 0,
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
