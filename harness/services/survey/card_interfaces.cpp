#include "services/survey/card_interfaces.hpp"

#include "io/csv.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <set>
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
    static constexpr std::string_view columns[] = {"vid",       "pid",   "bcd_device",
                                                   "interface", "takes", "evidence"};
    const auto table = io::csv::parse_or_throw(text, file, columns, {.what = "CSV file"});
    std::vector<InterfaceRule> rules;
    std::set<std::tuple<std::uint16_t, std::uint16_t, int, int>> keys;
    for (const auto& row : table.rows()) {
        const auto cell = [&](std::string_view name) -> const std::string& {
            return table.cell(row, name);
        };
        InterfaceRule rule;
        rule.where = fmt::format("{}:{}", file, row.line);
        const auto vid = hex_value(cell("vid"), 4);
        if (!vid)
            table.fail(row, "vid", "a USB vendor id in hex (e.g. 054C)");
        const auto pid = hex_value(cell("pid"), 4);
        if (!pid)
            table.fail(row, "pid", "a USB product id in hex (e.g. 0DC8)");
        rule.vendor_id = static_cast<std::uint16_t>(*vid);
        rule.product_id = static_cast<std::uint16_t>(*pid);
        if (!cell("bcd_device").empty()) {
            const auto bcd = hex_value(cell("bcd_device"), 4);
            if (!bcd)
                table.fail(row, "bcd_device", "empty or a bcdDevice in hex (e.g. 0102)");
            rule.bcd_device = static_cast<std::uint16_t>(*bcd);
        }
        if (const std::string& t = cell("interface"); !t.empty()) {
            if (t.size() > 3 ||
                !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                std::stoi(t) > 255)
                table.fail(row, "interface", "empty or a bInterfaceNumber 0..255");
            rule.interface_number = static_cast<std::uint8_t>(std::stoi(t));
        }
        const auto takes = socket_from(cell("takes"));
        if (!takes)
            table.fail(row, "takes", "contact, contactless, contact+contactless, sam, sim or none");
        rule.takes = *takes;
        rule.evidence = cell("evidence");
        if (rule.evidence.empty())
            table.fail(row, "evidence", "the evidence for this row (what says so)");
        const auto key = std::make_tuple(rule.vendor_id, rule.product_id,
                                         rule.bcd_device ? int{*rule.bcd_device} : -1,
                                         rule.interface_number ? int{*rule.interface_number} : -1);
        if (!keys.insert(key).second)
            table.fail(row, "vid",
                       "one row per vid,pid,bcd_device,interface; this key is repeated");
        rules.push_back(std::move(rule));
    }
    return rules;
}

std::vector<InterfaceRule> load_card_interfaces(const std::filesystem::path& file) {
    return parse_card_interfaces(io::read_text_file(file, "CSV file"), file.string());
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
