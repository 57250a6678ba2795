#include "services/emu/card.hpp"

#include "io/card_channel.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"
#include "services/emu/persona.hpp"
#include "services/emu/pki.hpp"
#include "services/emu/profile.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>

namespace harness::emu {
namespace {

namespace sw {
constexpr std::uint16_t ok = 0x9000;
constexpr std::uint16_t wrong_length = 0x6700;
constexpr std::uint16_t incompatible_file = 0x6981;
constexpr std::uint16_t security_not_satisfied = 0x6982;
constexpr std::uint16_t blocked = 0x6984;
constexpr std::uint16_t conditions_not_satisfied = 0x6985;
constexpr std::uint16_t no_current_ef = 0x6986;
constexpr std::uint16_t wrong_data = 0x6A80;
constexpr std::uint16_t ins_not_supported = 0x6D00;
constexpr std::uint16_t cla_not_supported = 0x6E00;
} // namespace sw

// A command APDU as the card sees it (ISO 7816-4 §5.1, cases 1-4, short and extended).
struct Command {
    std::uint8_t cla = 0, ins = 0, p1 = 0, p2 = 0;
    Bytes data;
    bool has_le = false;
    std::size_t ne = 0; // Le=00 -> 256, extended 0000 -> 65536
    bool extended = false;
};

std::optional<Command> parse_command(ByteView apdu) {
    if (apdu.size() < 4)
        return std::nullopt;
    Command c{apdu[0], apdu[1], apdu[2], apdu[3], {}, false, 0, false};
    const ByteView body = apdu.subspan(4);
    if (body.empty())
        return c;           // case 1
    if (body.size() == 1) { // case 2 short
        c.has_le = true;
        c.ne = body[0] == 0 ? 256 : body[0];
        return c;
    }
    if (body[0] != 0) { // short Lc
        const std::size_t lc = body[0];
        if (body.size() == 1 + lc) {
            c.data.assign(body.begin() + 1, body.end());
            return c;
        }
        if (body.size() == 2 + lc) {
            c.data.assign(body.begin() + 1, body.begin() + 1 + static_cast<long>(lc));
            c.has_le = true;
            c.ne = body.back() == 0 ? 256 : body.back();
            return c;
        }
        return std::nullopt;
    }
    c.extended = true;
    if (body.size() < 3) // 00 and one byte: neither short nor extended (ASan: read past the end)
        return std::nullopt;
    if (body.size() == 3) { // case 2 extended
        const std::size_t le = static_cast<std::size_t>(body[1] << 8 | body[2]);
        c.has_le = true;
        c.ne = le == 0 ? 65536 : le;
        return c;
    }
    const std::size_t lc = static_cast<std::size_t>(body[1] << 8 | body[2]);
    if (lc == 0)
        return std::nullopt;
    if (body.size() == 3 + lc) {
        c.data.assign(body.begin() + 3, body.end());
        return c;
    }
    if (body.size() == 5 + lc) {
        c.data.assign(body.begin() + 3, body.begin() + 3 + static_cast<long>(lc));
        const std::size_t le = static_cast<std::size_t>(body[3 + lc] << 8 | body[4 + lc]);
        c.has_le = true;
        c.ne = le == 0 ? 65536 : le;
        return c;
    }
    return std::nullopt;
}

std::uint8_t pattern_byte(std::size_t i) {
    return static_cast<std::uint8_t>(i % 251);
}

Bytes pattern(std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = pattern_byte(i);
    return out;
}

bool is_pattern(const Bytes& data) {
    for (std::size_t i = 0; i < data.size(); ++i)
        if (data[i] != pattern_byte(i))
            return false;
    return true;
}

void append_length(Bytes& out, std::size_t len) { // BER definite length (X.690 §8.1.3)
    if (len < 0x80) {
        out.push_back(static_cast<std::uint8_t>(len));
    } else if (len <= 0xFF) {
        out.push_back(0x81);
        out.push_back(static_cast<std::uint8_t>(len));
    } else {
        out.push_back(0x82);
        out.push_back(static_cast<std::uint8_t>(len >> 8));
        out.push_back(static_cast<std::uint8_t>(len & 0xFF));
    }
}

Bytes tlv(std::initializer_list<std::uint8_t> tag, const Bytes& value) {
    Bytes out(tag);
    append_length(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

std::string fid_text(std::uint16_t fid) {
    return hex::format(Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)},
                       hex::Style::Packed);
}

// Text AP EF 0002 "four facts": FF20 { DF21 offsets, DF22 name, DF23 address, DF24 birth date,
// DF25 sex } (tags as read by jpki/myna and AokiApp/jsapdu; offsets layout [?]).
Bytes basic_four(const Persona& persona) {
    Bytes facts;
    std::vector<std::size_t> starts;
    std::uint8_t tag = 0x22;
    for (const char* field : {"name", "address", "birth_date", "sex"}) {
        starts.push_back(facts.size());
        const auto bytes = bytes_of(persona.get(field));
        const auto t = tlv({0xDF, tag++}, bytes);
        facts.insert(facts.end(), t.begin(), t.end());
    }
    const std::size_t inner = 11 + facts.size(); // DF 21 08 + 8 offset bytes
    Bytes header{0xFF, 0x20};
    append_length(header, inner);
    Bytes offsets;
    for (std::size_t start : starts) {
        const std::size_t at = header.size() + 11 + start;
        offsets.push_back(static_cast<std::uint8_t>(at >> 8));
        offsets.push_back(static_cast<std::uint8_t>(at & 0xFF));
    }
    Bytes out = header;
    const auto off = tlv({0xDF, 0x21}, offsets);
    out.insert(out.end(), off.begin(), off.end());
    out.insert(out.end(), facts.begin(), facts.end());
    return out;
}

struct Ef {
    Bytes data;
    std::optional<std::uint16_t> read_pin;
};

struct Pin {
    PinSpec spec;
    Bytes value;
    int tries_left = 0;
};

} // namespace

std::filesystem::path default_profiles_dir() {
    return io::paths::profiles_dir() / "cards";
}

std::filesystem::path default_pki_dir() {
    return io::paths::default_pki_dir();
}

std::string CardState::to_text() const {
    std::ostringstream out;
    for (const auto& [key, tries] : tries_left)
        out << "pin " << key << ' ' << tries << '\n';
    return out.str();
}

CardState CardState::from_text(const std::string& text) {
    CardState state;
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#')
            continue;
        std::istringstream words(line);
        std::string verb, key, extra;
        int tries = -1;
        if (!(words >> verb >> key >> tries) || verb != "pin" || tries < 0 || tries > 15 ||
            (words >> extra))
            throw ConfigError("card state:" + std::to_string(number) +
                              ":1: expected \"pin <app>/<PIN EF> <tries left 0-15>\"");
        state.tries_left[key] = tries;
    }
    return state;
}

struct Card::Impl {
    CardProfile profile;
    bool test_card = true;
    std::shared_ptr<const Pki> pki;
    std::map<std::pair<std::size_t, std::uint16_t>, Ef> files;
    std::map<std::pair<std::size_t, std::uint16_t>, Pin> pins;
    std::map<std::pair<std::size_t, std::uint16_t>, KeySpec> keys;

    // Volatile state: lost on power-off/reset.
    bool powered = false;
    std::optional<std::size_t> app;
    std::optional<std::uint16_t> ef;
    std::set<std::pair<std::size_t, std::uint16_t>> verified;
    Bytes pending; // for GET RESPONSE after 61xx

    std::size_t app_index(const std::string& name) const {
        for (std::size_t i = 0; i < profile.apps.size(); ++i)
            if (profile.apps[i].name == name)
                return i;
        throw ConfigError("profile " + profile.name + ": unknown application " + name);
    }
    std::string state_key(std::size_t app_idx, std::uint16_t fid) const {
        return profile.apps[app_idx].name + "/" + fid_text(fid);
    }

    void clear_volatile() {
        app.reset();
        ef.reset();
        verified.clear();
        pending.clear();
        if (!profile.default_app.empty())
            app = app_index(profile.default_app);
    }

    io::CardResponse respond(std::uint16_t status, std::chrono::microseconds time,
                             Bytes data = {}) const {
        data.push_back(static_cast<std::uint8_t>(status >> 8));
        data.push_back(static_cast<std::uint8_t>(status & 0xFF));
        return {std::move(data), time};
    }

    io::CardResponse transmit(ByteView raw);
    io::CardResponse select(const Command& c);
    io::CardResponse read_binary(const Command& c);
    io::CardResponse verify(const Command& c);
    io::CardResponse sign(const Command& c);
    io::CardResponse get_response(const Command& c);
    io::CardResponse transport(const Command& c, const std::string& action);
};

io::CardResponse Card::Impl::transmit(ByteView raw) {
    const auto& t = profile.timings;
    const auto parsed = parse_command(raw);
    if (!parsed || (parsed->extended && !profile.extended_length))
        return respond(sw::wrong_length, t.other);
    const Command& c = *parsed;
    for (const auto& spec : profile.commands)
        if (spec.cla == c.cla && spec.ins == c.ins)
            return transport(c, spec.action);
    if (c.cla == 0x00) {
        switch (c.ins) {
        case 0xA4:
            return select(c);
        case 0xB0:
            return read_binary(c);
        case 0x20:
            return verify(c);
        case 0xC0:
            return get_response(c);
        default:
            return respond(sw::ins_not_supported, t.other);
        }
    }
    if (c.cla == 0x80)
        return c.ins == 0x2A ? sign(c) : respond(sw::ins_not_supported, t.other);
    return respond(sw::cla_not_supported, t.other);
}

io::CardResponse Card::Impl::select(const Command& c) {
    const auto time = profile.timings.select;
    if (c.p2 != 0x0C && c.p2 != 0x00 && c.p2 != 0x04)
        return respond(profile.bad_p1p2_sw, time);
    const bool wants_info = c.p2 != 0x0C;
    if (wants_info && profile.select_fci == SelectFci::Reject)
        return respond(profile.bad_p1p2_sw, time);
    if (c.p1 == 0x04) { // by DF name (AID)
        if (c.data.size() < 5 || c.data.size() > 16)
            return respond(sw::wrong_length, time);
        for (std::size_t i = 0; i < profile.apps.size(); ++i)
            for (const auto& aid : profile.apps[i].aids)
                if (aid == c.data) {
                    app = i;
                    ef.reset();
                    verified.clear(); // re-selecting the AP logs out (OpenSC relies on it)
                    pending.clear();
                    if (wants_info && c.has_le && profile.select_fci == SelectFci::Fci) {
                        Bytes fci = tlv({c.p2 == 0x04 ? std::uint8_t{0x62} : std::uint8_t{0x6F}},
                                        tlv({0x84}, aid));
                        if (fci.size() > c.ne)
                            fci.resize(c.ne);
                        return respond(sw::ok, time, fci);
                    }
                    return respond(sw::ok, time);
                }
        return respond(profile.unknown_file_sw, time);
    }
    if (c.p1 == 0x00 || c.p1 == 0x02) { // by file id; no usable MF (domain.md §2)
        if (c.data.size() != 2)
            return respond(sw::wrong_length, time);
        const auto fid = static_cast<std::uint16_t>(c.data[0] << 8 | c.data[1]);
        if (!app || fid == 0x3F00)
            return respond(profile.unknown_file_sw, time);
        const auto key = std::make_pair(*app, fid);
        std::size_t size = 0;
        if (auto it = files.find(key); it != files.end())
            size = it->second.data.size();
        else if (!pins.count(key) && !keys.count(key))
            return respond(profile.unknown_file_sw, time);
        ef = fid;
        if (wants_info && c.has_le && profile.select_fci == SelectFci::Fci) {
            Bytes fcp_body = tlv({0x80}, Bytes{static_cast<std::uint8_t>(size >> 8),
                                               static_cast<std::uint8_t>(size & 0xFF)});
            const auto kind = tlv({0x82}, Bytes{0x01});
            const auto id = tlv({0x83}, c.data);
            fcp_body.insert(fcp_body.end(), kind.begin(), kind.end());
            fcp_body.insert(fcp_body.end(), id.begin(), id.end());
            Bytes fcp = tlv({0x62}, fcp_body);
            if (fcp.size() > c.ne)
                fcp.resize(c.ne);
            return respond(sw::ok, time, fcp);
        }
        return respond(sw::ok, time);
    }
    return respond(profile.bad_p1p2_sw, time);
}

io::CardResponse Card::Impl::read_binary(const Command& c) {
    const auto time = profile.timings.read;
    if (!c.has_le || !c.data.empty())
        return respond(sw::wrong_length, time);
    std::size_t offset = 0;
    if (c.p1 & 0x80) { // short EF identifier in P1, offset in P2 (ISO 7816-4 §7.2.2)
        const std::uint16_t sfi = c.p1 & 0x1F;
        if ((c.p1 & 0x60) != 0 || sfi == 0)
            return respond(profile.bad_p1p2_sw, time);
        if (!app || !files.count({*app, sfi}))
            return respond(profile.unknown_file_sw, time);
        ef = sfi;
        offset = c.p2;
    } else {
        offset = static_cast<std::size_t>((c.p1 & 0x7F) << 8 | c.p2);
        if (!app || !ef)
            return respond(sw::no_current_ef, time);
    }
    const auto key = std::make_pair(*app, *ef);
    auto it = files.find(key);
    if (it == files.end())
        return respond(sw::incompatible_file, time); // a PIN or key EF
    const Ef& file = it->second;
    if (file.read_pin && !verified.count({*app, *file.read_pin}))
        return respond(sw::security_not_satisfied, time);
    if (offset >= file.data.size())
        return respond(profile.past_end_sw, time);
    const std::size_t n = std::min(c.ne, file.data.size() - offset);
    Bytes data(file.data.begin() + static_cast<long>(offset),
               file.data.begin() + static_cast<long>(offset + n));
    return respond(n < c.ne ? profile.short_read_sw : sw::ok, time, std::move(data));
}

io::CardResponse Card::Impl::verify(const Command& c) {
    const auto time = profile.timings.verify;
    if (c.p1 != 0x00 || c.p2 < 0x80 || c.p2 > 0x9E)
        return respond(profile.bad_p1p2_sw, time);
    if (c.has_le)
        return respond(sw::wrong_length, time);
    std::uint16_t fid = 0;
    if (c.p2 == 0x80) { // the current EF
        if (!app || !ef || !pins.count({*app, *ef}))
            return respond(sw::no_current_ef, time);
        fid = *ef;
    } else { // 00 20 00 9x: PIN EF by short EF identifier
        fid = c.p2 & 0x1F;
        if (!app || !pins.count({*app, fid}))
            return respond(profile.unknown_file_sw, time);
    }
    const auto key = std::make_pair(*app, fid);
    Pin& pin = pins.at(key);
    const auto tries_sw = [&] {
        return static_cast<std::uint16_t>(0x63C0 | static_cast<std::uint16_t>(pin.tries_left));
    };
    if (c.data.empty()) // case 1: retry counter, no try spent; 63 Cx even when verified
        return respond(tries_sw(), time);
    if (pin.tries_left == 0)
        return respond(sw::blocked, time);
    if (c.data.size() < pin.spec.min_len || c.data.size() > pin.spec.max_len)
        return respond(sw::wrong_length, time); // [?] no try spent for an impossible length
    if (c.data == pin.value) {
        pin.tries_left = pin.spec.max_tries;
        verified.insert(key);
        return respond(sw::ok, time);
    }
    --pin.tries_left;
    verified.erase(key);
    return respond(tries_sw(), time);
}

io::CardResponse Card::Impl::sign(const Command& c) {
    const auto time = profile.timings.sign;
    if (c.p1 != 0x00 || c.p2 != 0x80)
        return respond(profile.bad_p1p2_sw, time);
    if (c.data.empty() || !c.has_le)
        return respond(sw::wrong_length, time);
    if (!app || !ef || !keys.count({*app, *ef}))
        return respond(sw::conditions_not_satisfied, time);
    const KeySpec& key = keys.at({*app, *ef});
    if (!verified.count({*app, key.pin}))
        return respond(sw::security_not_satisfied, time);
    Bytes signature = pki->sign_pkcs1(key.key, c.data);
    if (signature.empty())
        return respond(sw::wrong_length, time);
    if (signature.size() > c.ne)
        return respond(static_cast<std::uint16_t>(0x6C00 | (signature.size() & 0xFF)), time);
    return respond(sw::ok, time, std::move(signature));
}

io::CardResponse Card::Impl::get_response(const Command& c) {
    const auto time = profile.timings.other;
    if (c.p1 != 0 || c.p2 != 0)
        return respond(profile.bad_p1p2_sw, time);
    if (!c.has_le || !c.data.empty())
        return respond(sw::wrong_length, time);
    if (pending.empty())
        return respond(sw::conditions_not_satisfied, time);
    const std::size_t n = std::min(c.ne, pending.size());
    Bytes data(pending.begin(), pending.begin() + static_cast<long>(n));
    pending.erase(pending.begin(), pending.begin() + static_cast<long>(n));
    if (pending.empty())
        return respond(sw::ok, time, std::move(data));
    const std::size_t left = std::min<std::size_t>(pending.size(), 256);
    return respond(static_cast<std::uint16_t>(0x6100 | (left & 0xFF)), time, std::move(data));
}

io::CardResponse Card::Impl::transport(const Command& c, const std::string& action) {
    const auto time = profile.timings.other;
    if (action == "case1")
        return respond(c.data.empty() && !c.has_le ? sw::ok : sw::wrong_length, time);
    if (action == "case2") {
        if (!c.data.empty() || !c.has_le)
            return respond(sw::wrong_length, time);
        return respond(sw::ok, time, pattern(c.ne));
    }
    if (action == "case3") {
        if (c.data.empty() || c.has_le)
            return respond(sw::wrong_length, time);
        return respond(is_pattern(c.data) ? sw::ok : sw::wrong_data, time);
    }
    if (action == "case4") {
        if (c.data.empty() || !c.has_le)
            return respond(sw::wrong_length, time);
        if (c.p1 == 0x01) { // echo
            Bytes echo = c.data;
            if (echo.size() > c.ne)
                echo.resize(c.ne);
            return respond(sw::ok, time, std::move(echo));
        }
        if (!is_pattern(c.data))
            return respond(sw::wrong_data, time);
        return respond(sw::ok, time, pattern(c.ne));
    }
    if (action == "delay") // P1 P2 = milliseconds to take (waiting-time extension, timeouts)
        return respond(sw::ok, std::chrono::milliseconds(c.p1 << 8 | c.p2));
    if (action == "provoke_61") { // P1 P2 = bytes waiting (0 = 256), fetched with GET RESPONSE
        std::size_t total = static_cast<std::size_t>(c.p1 << 8 | c.p2);
        if (total == 0)
            total = 256;
        pending = pattern(total);
        return respond(
            static_cast<std::uint16_t>(0x6100 | (std::min<std::size_t>(total, 256) & 0xFF)), time);
    }
    // provoke_6c: P2 = the one Le accepted (0 = 256); any other Le answers 6C P2.
    const std::size_t want = c.p2 == 0 ? 256 : c.p2;
    if (!c.has_le || c.ne != want)
        return respond(static_cast<std::uint16_t>(0x6C00 | c.p2), time);
    return respond(sw::ok, time, pattern(want));
}

Card::Card(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Card::~Card() = default;

Bytes Card::power_on() {
    impl_->powered = true;
    impl_->clear_volatile();
    return impl_->profile.atr;
}

void Card::power_off() {
    impl_->powered = false;
    impl_->clear_volatile();
}

Bytes Card::reset(bool) {
    impl_->powered = true;
    impl_->clear_volatile();
    return impl_->profile.atr;
}

Bytes Card::atr() const {
    return impl_->profile.atr;
}

io::CardResponse Card::transmit(ByteView command) {
    if (!impl_->powered)
        throw io::TransportError(io::TransportFailure::Unresponsive, "transmit", 0,
                                 "emulated card " + impl_->profile.name + " is not powered");
    return impl_->transmit(command);
}

std::string Card::profile_name() const {
    return impl_->profile.name;
}
bool Card::powered() const {
    return impl_->powered;
}
bool Card::is_test_card() const {
    return impl_->test_card;
}
std::string Card::family() const {
    return impl_->profile.family;
}

CardState Card::state() const {
    CardState state;
    for (const auto& [key, pin] : impl_->pins)
        state.tries_left[impl_->state_key(key.first, key.second)] = pin.tries_left;
    return state;
}

void Card::set_state(const CardState& state) {
    for (auto& [key, pin] : impl_->pins)
        if (auto it = state.tries_left.find(impl_->state_key(key.first, key.second));
            it != state.tries_left.end())
            pin.tries_left = std::clamp(it->second, 0, pin.spec.max_tries);
}

void Card::reset_state() {
    for (auto& [key, pin] : impl_->pins)
        pin.tries_left = pin.spec.max_tries;
    impl_->verified.clear();
}

std::vector<std::string> profile_names(const Options& options) {
    return list_profiles(options.profiles_dir);
}

std::unique_ptr<Card> make_card(const std::string& profile_name, const Options& options) {
    auto impl = std::make_unique<Card::Impl>();
    impl->profile = load_profile(options.profiles_dir, profile_name);
    impl->test_card = !options.citizen;
    const CardProfile& p = impl->profile;
    const auto persona_file =
        options.persona_file.empty() ? options.profiles_dir / "persona.csv" : options.persona_file;
    const Persona persona = load_persona(persona_file);

    const bool needs_pki =
        !p.keys.empty() || std::any_of(p.files.begin(), p.files.end(), [](const FileSpec& f) {
            return f.content.rfind("cert:", 0) == 0;
        });
    if (needs_pki)
        impl->pki =
            Pki::load_or_create(options.pki_dir, persona, load_san_fields(options.profiles_dir));
    const PkiStyle style = options.citizen ? PkiStyle::Citizen : PkiStyle::Test;

    for (const auto& f : p.files) {
        const auto colon = f.content.find(':');
        const std::string kind = f.content.substr(0, colon);
        const std::string arg = f.content.substr(colon + 1);
        Bytes data;
        if (kind == "text")
            data = bytes_of(arg);
        else if (kind == "hex")
            data = hex::parse_or_throw(arg);
        else if (kind == "cert")
            data = impl->pki->certificate(style, arg);
        else if (arg == "my_number") // Text AP EF 0001: FF10 0C <12 digits> (jpki/myna, jsapdu)
            data = tlv({0xFF, 0x10}, bytes_of(persona.get("my_number")));
        else if (arg == "basic_four")
            data = basic_four(persona);
        else
            data = bytes_of(persona.get(arg));
        if (f.size) {
            if (data.size() > *f.size)
                throw ConfigError("profile " + p.name + ": content of EF " + fid_text(f.fid) +
                                  " (" + std::to_string(data.size()) + " bytes) exceeds size " +
                                  std::to_string(*f.size));
            data.resize(*f.size, f.pad);
        }
        impl->files[{impl->app_index(f.app), f.fid}] = Ef{std::move(data), f.read_pin};
    }
    for (const auto& spec : p.pins) {
        Pin pin{spec, {}, spec.max_tries};
        const auto colon = spec.value.find(':');
        const std::string arg = spec.value.substr(colon + 1);
        pin.value = bytes_of(spec.value.rfind("persona:", 0) == 0 ? persona.get(arg) : arg);
        impl->pins[{impl->app_index(spec.app), spec.fid}] = std::move(pin);
    }
    for (const auto& key : p.keys)
        impl->keys[{impl->app_index(key.app), key.fid}] = key;
    return std::make_unique<Card>(std::move(impl));
}

} // namespace harness::emu
