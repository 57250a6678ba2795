#include "services/emu/profile.hpp"

#include "io/csv.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

namespace harness::emu {
namespace {

class Cells {
public:
    Cells(const io::csv::Table& table, const io::csv::Row& row) : table_(table), row_(row) {}

    const std::string& str(const std::string& column) const {
        return row_.cells.at(table_.index_of(column));
    }
    const std::string& required(const std::string& column, const std::string& what) const {
        const auto& s = str(column);
        if (s.empty())
            fail(column, what);
        return s;
    }
    [[noreturn]] void fail(const std::string& column, const std::string& what) const {
        table_.fail(row_, column, what);
    }
    Bytes hex_bytes(const std::string& column, std::size_t min, std::size_t max) const {
        const auto bytes = hex::parse(str(column));
        if (!bytes || bytes->size() < min || bytes->size() > max)
            fail(column, "hex bytes (" + std::to_string(min) + " to " + std::to_string(max) + ")");
        return *bytes;
    }
    std::uint16_t u16_hex(const std::string& column, const std::string& what) const {
        const auto bytes = hex::parse(str(column));
        if (!bytes || bytes->size() != 2)
            fail(column, what + " (4 hex digits)");
        return static_cast<std::uint16_t>((*bytes)[0] << 8 | (*bytes)[1]);
    }
    std::optional<std::uint16_t> opt_u16_hex(const std::string& column,
                                             const std::string& what) const {
        if (str(column).empty())
            return std::nullopt;
        return u16_hex(column, what);
    }
    std::uint8_t u8_hex(const std::string& column) const {
        const auto bytes = hex::parse(str(column));
        if (!bytes || bytes->size() != 1)
            fail(column, "one hex byte");
        return (*bytes)[0];
    }
    long number(const std::string& column, long min, long max) const {
        const auto& s = str(column);
        char* end = nullptr;
        const long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || v < min || v > max)
            fail(column,
                 "a whole number from " + std::to_string(min) + " to " + std::to_string(max));
        return v;
    }
    std::chrono::microseconds millis(const std::string& column) const {
        const auto& s = str(column);
        char* end = nullptr;
        const double v = s.empty() ? -1 : std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || !(v >= 0) || v > 600000)
            fail(column, "milliseconds (0 to 600000)");
        return std::chrono::microseconds(static_cast<long long>(std::llround(v * 1000)));
    }
    bool yes_no(const std::string& column) const {
        const auto& s = str(column);
        if (s == "yes")
            return true;
        if (s == "no")
            return false;
        fail(column, "yes or no");
    }

private:
    const io::csv::Table& table_;
    const io::csv::Row& row_;
};

} // namespace

std::vector<std::string> list_profiles(const std::filesystem::path& dir) {
    const auto table = io::csv::read(dir / "cards.csv", {"profile"}, {.extra_columns = true});
    std::vector<std::string> out;
    for (const auto& row : table.rows())
        out.push_back(row.cells[0]);
    return out;
}

std::vector<SanField> load_san_fields(const std::filesystem::path& dir) {
    const auto table = io::csv::read(dir / "san.csv", {"oid", "persona_field"});
    std::vector<SanField> out;
    for (const auto& row : table.rows()) {
        Cells c(table, row);
        const auto& oid = c.required("oid", "a dotted OID");
        if (oid.find_first_not_of("0123456789.") != std::string::npos)
            c.fail("oid", "a dotted OID");
        out.push_back({oid, c.required("persona_field", "a persona field name")});
    }
    return out;
}

CardProfile load_profile(const std::filesystem::path& dir, const std::string& name) {
    CardProfile p;
    io::csv::Location default_app_at{(dir / "cards.csv").string(), 1, 1};
    {
        const auto table =
            io::csv::read(dir / "cards.csv",
                          {"profile", "family", "interface", "atr", "extended_length", "select_fci",
                           "past_end_sw", "short_read_sw", "default_app", "select_ms", "read_ms",
                           "verify_ms", "sign_ms", "other_ms", "description"});
        bool found = false;
        std::set<std::string> seen;
        for (const auto& row : table.rows()) {
            Cells c(table, row);
            if (!seen.insert(c.str("profile")).second)
                c.fail("profile", "a profile name used once");
            if (c.str("profile") != name)
                continue;
            found = true;
            p.name = name;
            p.family = c.required("family", "a family name");
            p.interface = c.str("interface");
            if (p.interface != "contact" && p.interface != "contactless")
                c.fail("interface", "contact or contactless");
            p.atr = c.hex_bytes("atr", 2, 33);
            p.extended_length = c.yes_no("extended_length");
            const auto& fci = c.str("select_fci");
            if (fci == "fci")
                p.select_fci = SelectFci::Fci;
            else if (fci == "none")
                p.select_fci = SelectFci::None;
            else if (fci == "reject")
                p.select_fci = SelectFci::Reject;
            else
                c.fail("select_fci", "fci, none or reject");
            p.past_end_sw = c.u16_hex("past_end_sw", "a status word");
            p.short_read_sw = c.u16_hex("short_read_sw", "a status word");
            p.default_app = c.str("default_app");
            default_app_at = table.where(row, "default_app");
            p.timings.select = c.millis("select_ms");
            p.timings.read = c.millis("read_ms");
            p.timings.verify = c.millis("verify_ms");
            p.timings.sign = c.millis("sign_ms");
            p.timings.other = c.millis("other_ms");
            p.description = c.str("description");
        }
        if (!found)
            throw ConfigError((dir / "cards.csv").string() + ":1:1: expected a row for profile \"" +
                              name + "\" (unknown card profile)");
    }
    {
        const auto table =
            io::csv::read(dir / "applications.csv", {"family", "app", "aid", "kind"});
        for (const auto& row : table.rows()) {
            Cells c(table, row);
            if (c.str("family") != p.family)
                continue;
            const auto& app = c.required("app", "an application name");
            const Bytes aid = c.hex_bytes("aid", 5, 16);
            const auto& kind = c.str("kind");
            if (kind != "files" && kind != "transport")
                c.fail("kind", "files or transport");
            auto it = std::find_if(p.apps.begin(), p.apps.end(),
                                   [&](const AppSpec& a) { return a.name == app; });
            if (it == p.apps.end())
                p.apps.push_back({app, {aid}, kind});
            else
                it->aids.push_back(aid);
        }
    }
    auto known_app = [&](const Cells& c) {
        const auto& app = c.str("app");
        if (std::none_of(p.apps.begin(), p.apps.end(),
                         [&](const AppSpec& a) { return a.name == app; }))
            c.fail("app", "an application listed in applications.csv for family " + p.family);
        return app;
    };
    {
        const auto table = io::csv::read(
            dir / "files.csv", {"family", "app", "fid", "size", "pad", "content", "read_pin"});
        for (const auto& row : table.rows()) {
            Cells c(table, row);
            if (c.str("family") != p.family)
                continue;
            FileSpec f;
            f.app = known_app(c);
            f.fid = c.u16_hex("fid", "a file id");
            if (!c.str("size").empty())
                f.size = static_cast<std::size_t>(c.number("size", 1, 32767));
            if (!c.str("pad").empty())
                f.pad = c.u8_hex("pad");
            f.content = c.required("content", "text:, hex:, cert: or persona: content");
            const auto colon = f.content.find(':');
            const auto kind = f.content.substr(0, colon);
            if (colon == std::string::npos ||
                (kind != "text" && kind != "hex" && kind != "cert" && kind != "persona"))
                c.fail("content", "text:, hex:, cert: or persona: content");
            if (kind == "hex" && !hex::parse(f.content.substr(colon + 1)))
                c.fail("content", "hex: followed by hex bytes");
            if (kind == "cert" && std::find(Pki::names().begin(), Pki::names().end(),
                                            f.content.substr(colon + 1)) == Pki::names().end())
                c.fail("content", "cert: followed by a PKI certificate name");
            f.read_pin = c.opt_u16_hex("read_pin", "a PIN file id");
            p.files.push_back(f);
        }
    }
    {
        const auto table =
            io::csv::read(dir / "pins.csv", {"family", "app", "fid", "charset", "min_len",
                                             "max_len", "max_tries", "value"});
        for (const auto& row : table.rows()) {
            Cells c(table, row);
            if (c.str("family") != p.family)
                continue;
            PinSpec pin;
            pin.app = known_app(c);
            pin.fid = c.u16_hex("fid", "a file id");
            pin.charset = c.str("charset");
            if (pin.charset != "digits" && pin.charset != "upper_alnum" && pin.charset != "alnum")
                c.fail("charset", "digits, upper_alnum or alnum");
            pin.min_len = static_cast<std::size_t>(c.number("min_len", 1, 64));
            pin.max_len = static_cast<std::size_t>(c.number("max_len", 1, 64));
            if (pin.max_len < pin.min_len)
                c.fail("max_len", "a length not below min_len");
            pin.max_tries = static_cast<int>(c.number("max_tries", 1, 15));
            pin.value = c.str("value");
            if (pin.value.rfind("persona:", 0) != 0 && pin.value.rfind("literal:", 0) != 0)
                c.fail("value", "persona:<field> or literal:<value>");
            p.pins.push_back(pin);
        }
    }
    {
        const auto table = io::csv::read(dir / "keys.csv", {"family", "app", "fid", "key", "pin"});
        for (const auto& row : table.rows()) {
            Cells c(table, row);
            if (c.str("family") != p.family)
                continue;
            KeySpec k;
            k.app = known_app(c);
            k.fid = c.u16_hex("fid", "a file id");
            k.key = c.required("key", "a PKI key name");
            if (std::find(Pki::names().begin(), Pki::names().end(), k.key) == Pki::names().end())
                c.fail("key", "a PKI key name (" + std::string("auth, sign, juki_sign") + ")");
            k.pin = c.u16_hex("pin", "a PIN file id");
            p.keys.push_back(k);
        }
    }
    {
        const auto table =
            io::csv::read(dir / "commands.csv", {"family", "cla", "ins", "action", "description"});
        for (const auto& row : table.rows()) {
            Cells c(table, row);
            if (c.str("family") != p.family)
                continue;
            CommandSpec cmd;
            cmd.cla = c.u8_hex("cla");
            cmd.ins = c.u8_hex("ins");
            cmd.action = c.str("action");
            static const std::set<std::string> actions{"case1", "case2",      "case3",     "case4",
                                                       "delay", "provoke_61", "provoke_6c"};
            if (!actions.count(cmd.action))
                c.fail("action", "case1, case2, case3, case4, delay, provoke_61 or provoke_6c");
            p.commands.push_back(cmd);
        }
    }
    if (!p.default_app.empty() && std::none_of(p.apps.begin(), p.apps.end(), [&](const AppSpec& a) {
            return a.name == p.default_app;
        }))
        throw ConfigError(io::csv::to_string(default_app_at) +
                          ": expected default_app of profile " + name +
                          " to be an application of family " + p.family);
    return p;
}

} // namespace harness::emu
