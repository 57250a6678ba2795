#include "services/suite/actions.hpp"

#include "pure/tlv.hpp"
#include "services/suite/pin_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fmt/core.h>

namespace harness::suite {
namespace {

bool is_name_char(char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
        return true;
    return !first && (c == '.' || c == '-');
}

std::string_view trim(std::string_view text, std::size_t* skipped = nullptr) {
    std::size_t first = 0;
    while (first < text.size() && (text[first] == ' ' || text[first] == '\t'))
        ++first;
    std::size_t last = text.size();
    while (last > first && (text[last - 1] == ' ' || text[last - 1] == '\t'))
        --last;
    if (skipped)
        *skipped = first;
    return text.substr(first, last - first);
}

std::string join(const std::vector<std::string_view>& items, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i)
            out += separator;
        out += items[i];
    }
    return out;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty())
        return std::nullopt;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0)
        return std::nullopt;
    return value;
}

const Variables profile_vars = {
    // domain.md §2 (profiles/cards/applications.csv)
    {"aid.jpki", {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}},
    {"aid.text", {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}},
    {"aid.visual", {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02}},
    {"aid.juki_ap", {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00}},
    {"aid.juki_ap_alt", {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01}},
    {"aid.transport", {0xF0, 0x43, 0x48, 0x54, 0x45, 0x53, 0x54, 0x01}},
    // domain.md §3 (profiles/cards/files.csv, pins.csv, keys.csv)
    {"ef.token", {0x00, 0x06}},
    {"ef.auth_cert", {0x00, 0x0A}},
    {"ef.auth_ca", {0x00, 0x0B}},
    {"ef.sign_cert", {0x00, 0x01}},
    {"ef.sign_ca", {0x00, 0x02}},
    {"ef.auth_key", {0x00, 0x17}},
    {"ef.auth_pin", {0x00, 0x18}},
    {"ef.sign_key", {0x00, 0x1A}},
    {"ef.sign_pin", {0x00, 0x1B}},
    {"ef.text_pin", {0x00, 0x11}},
    {"ef.text_my_number", {0x00, 0x01}},
    {"ef.text_basic_four", {0x00, 0x02}},
    {"ef.juki_pin", {0x00, 0x1C}},
};

constexpr std::array<std::string_view, 4> run_names = {"run.reader", "run.atr", "run.card_type",
                                                       "run.interface"};

const std::vector<std::string_view> follow_choices = {"none", "61xx", "6cxx", "both"};
const std::vector<std::string_view> yes_no = {"yes", "no"};
const std::vector<std::string_view> pin_choices = {"auth", "sign", "text", "juki"};

ArgSpec store_key(std::string_view help) {
    return {"store", ArgType::VarName, false, "", {}, 0, 0, help};
}
ArgSpec follow_key() {
    return {"follow",
            ArgType::Choice,
            false,
            "none",
            follow_choices,
            0,
            0,
            "follow 61xx with GET RESPONSE and/or 6Cxx with Le=xx (extra exchanges recorded)"};
}

const std::vector<ActionSpec>& action_table() {
    static const std::vector<ActionSpec> table = {
        {"apdu",
         "send a command APDU as written (raw: malformed on purpose is allowed)",
         "cmd",
         {{"cmd", ArgType::Hex, true, "", {}, 0, 0, "the command bytes, ${var} allowed"},
          follow_key(),
          store_key("the response data")},
         "9000",
         true,
         "response data",
         {},
         "00 A4 04 0C 0A ${aid.jpki};follow=none"},
        {"select_aid",
         "SELECT by DF name (00 A4 04 0C Lc AID; fci=yes: P2=00 and Le=00)",
         "aid",
         {{"aid", ArgType::Hex, true, "", {}, 0, 0, "the AID, usually ${aid.<app>}"},
          {"fci", ArgType::Choice, false, "no", yes_no, 0, 0, "ask for the FCI"}},
         "9000",
         true,
         "",
         {},
         "${aid.jpki}"},
        {"select_ef",
         "SELECT an EF by file id (00 A4 02 0C 02 FID; fci=yes: P2=00 and Le=00)",
         "fid",
         {{"fid", ArgType::Fid, true, "", {}, 0, 0, "4 hex digits or ${ef.<role>}"},
          {"fci", ArgType::Choice, false, "no", yes_no, 0, 0, "ask for the FCP"}},
         "9000",
         true,
         "",
         {},
         "${ef.token}"},
        {"read_ef",
         "read a whole EF: header-driven short reads, a fixed length, or one extended-Le read",
         "fid",
         {{"fid", ArgType::Fid, false, "", {}, 0, 0, "selected first when given"},
          {"mode",
           ArgType::Choice,
           false,
           "header",
           {"header", "extended", "fixed"},
           0,
           0,
           "header: DER length from the first bytes; extended: 00 B0 00 00 00 00 00"},
          {"chunk", ArgType::Integer, false, "256", {}, 1, 256, "Le per READ BINARY"},
          {"fit", ArgType::Choice, false, "no", yes_no, 0, 0,
           "yes: at most what the reader's reported limits carry (as clients size their reads)"},
          {"header", ArgType::Integer, false, "4", {}, 2, 16, "bytes of the first read"},
          {"length", ArgType::Integer, false, "", {}, 1, 32767, "fixed mode: bytes to read"},
          store_key("the file bytes")},
         "9000",
         true,
         "file bytes",
         {},
         "fid=${ef.auth_cert};mode=header;chunk=256;store=auth_cert"},
        {"pin_tries",
         "query a PIN's retry counter with a case-1 VERIFY (00 20 00 80, no try spent)",
         "pin",
         {{"pin", ArgType::Choice, true, "", pin_choices, 0, 0, "PIN name"},
          {"select", ArgType::Choice, false, "yes", yes_no, 0, 0,
           "select the PIN's application and EF first"},
          store_key("one byte: tries left")},
         "63Cx",
         true,
         "tries left (1 byte)",
         {},
         "pin=auth;store=auth_tries"},
        {"verify_pin",
         "VERIFY a PIN by name through the PIN guard (the suite never holds PIN values)",
         "pin",
         {{"pin", ArgType::Choice, true, "", pin_choices, 0, 0, "PIN name"},
          {"value",
           ArgType::Choice,
           false,
           "supplied",
           {"supplied", "wrong"},
           0,
           0,
           "wrong: a well-formed PIN that differs (test and emulated cards only)"},
          {"select", ArgType::Choice, false, "yes", yes_no, 0, 0,
           "select the PIN's application and EF first"}},
         "9000",
         true,
         "",
         {},
         "pin=auth"},
        {"sign",
         "sign the DigestInfo of a message's hash (80 2A 00 80) and verify the signature with "
         "OpenSSL against a certificate read earlier",
         "",
         {{"key",
           ArgType::Choice,
           true,
           "",
           {"auth", "sign"},
           0,
           0,
           "auth: jpki/0017, sign: jpki/001A"},
          {"cert", ArgType::VarRef, true, "", {}, 0, 0, "variable holding the certificate"},
          {"message",
           ArgType::Text,
           false,
           "cardharness conformance test",
           {},
           0,
           0,
           "text to hash"},
          {"hash",
           ArgType::Choice,
           false,
           "sha256",
           {"sha1", "sha256", "sha384", "sha512"},
           0,
           0,
           "hash algorithm"},
          {"select", ArgType::Choice, false, "yes", yes_no, 0, 0, "select the key EF first"},
          store_key("the signature")},
         "9000",
         true,
         "signature",
         {},
         "key=auth;cert=auth_cert;hash=sha256"},
        {"check_cert",
         "parse a DER certificate read earlier: key size, validity, chain to a CA read from the "
         "card",
         "cert",
         {{"cert", ArgType::VarRef, true, "", {}, 0, 0, "variable holding the certificate"},
          {"ca", ArgType::VarRef, false, "", {}, 0, 0, "variable holding the issuing CA"},
          {"min_bits", ArgType::Integer, false, "1024", {}, 512, 16384, "RSA key size at least"},
          {"bits", ArgType::Integer, false, "", {}, 512, 16384, "RSA key size exactly"},
          {"expired",
           ArgType::Choice,
           false,
           "fail",
           {"fail", "info"},
           0,
           0,
           "info: an expired certificate is reported, not failed (Juki)"}},
         "",
         false,
         "",
         {},
         "cert=auth_cert;ca=auth_ca;bits=2048"},
        {"reset",
         "reset the card (warm: SCardReconnect with SCARD_RESET_CARD; cold: unpower)",
         "kind",
         {{"kind", ArgType::Choice, false, "warm", {"warm", "cold"}, 0, 0, "reset kind"},
          store_key("the ATR after the reset")},
         "",
         false,
         "ATR",
         {},
         "kind=cold"},
        {"reconnect",
         "disconnect and connect again (SCARD_LEAVE_CARD)",
         "",
         {{"share", ArgType::Choice, false, "shared", {"shared", "exclusive"}, 0, 0, "share mode"}},
         "",
         false,
         "",
         {},
         "share=exclusive"},
        {"expect_removed",
         "wait (up to timeout_ms) for the card to be removed",
         "",
         {{"prompt", ArgType::Text, false, "Remove the card", {}, 0, 0, "shown to a tester"}},
         "",
         false,
         "",
         {"removal"},
         "prompt=Remove the card now"},
        {"atr",
         "the card's ATR as the reader reports it (no APDU); expect_data checks it",
         "",
         {store_key("the ATR")},
         "",
         false,
         "ATR",
         {},
         "store=atr"},
        {"repeat",
         "send the same command count times; every status word is checked",
         "cmd",
         {{"cmd", ArgType::Hex, true, "", {}, 0, 0, "the command bytes, ${var} allowed"},
          {"count", ArgType::Integer, false, "10", {}, 1, 100000, "exchanges"},
          {"warmup", ArgType::Integer, false, "0", {}, 0, 1000, "uncounted exchanges first"},
          follow_key()},
         "9000",
         true,
         "",
         {},
         "cmd=80 10 00 00;count=50"},
        {"measure",
         "like repeat, plus latency statistics (min, median, p95, max, mean in microseconds)",
         "cmd",
         {{"cmd", ArgType::Hex, true, "", {}, 0, 0, "the command bytes, ${var} allowed"},
          {"count", ArgType::Integer, false, "20", {}, 1, 100000, "exchanges"},
          {"warmup", ArgType::Integer, false, "1", {}, 0, 1000, "uncounted exchanges first"},
          follow_key()},
         "9000",
         true,
         "",
         {},
         "cmd=80 20 00 00 00;count=100;warmup=2"},
        {"sweep",
         "APDU case 1-4 over a length range, short or extended, on the transport test card",
         "",
         {{"case", ArgType::Integer, true, "", {}, 1, 4, "ISO 7816-3 APDU case"},
          {"from", ArgType::Integer, false, "1", {}, 1, 65536, "first length"},
          {"to", ArgType::Integer, false, "", {}, 1, 65536, "last length (default: from)"},
          {"step", ArgType::Integer, false, "1", {}, 1, 65536, "length increment"},
          {"form",
           ArgType::Choice,
           false,
           "short",
           {"short", "extended"},
           0,
           0,
           "length-field form"},
          {"cla", ArgType::Byte, false, "80", {}, 0, 0, "class byte"},
          {"ins", ArgType::Byte, false, "", {}, 0, 0, "default per case: 10, 20, 30, 40"},
          {"p1", ArgType::Byte, false, "00", {}, 0, 0, "P1"},
          {"p2", ArgType::Byte, false, "00", {}, 0, 0, "P2"},
          {"le", ArgType::Integer, false, "", {}, 1, 65536, "case 4: fixed Ne"},
          follow_key()},
         "9000",
         true,
         "",
         {"card:transport"},
         "case=2;from=1;to=256;step=1;form=short"},
    };
    return table;
}

const std::vector<RequirementSpec>& requirement_table() {
    static const std::vector<RequirementSpec> table = {
        {"contact", "the card is reached through the contact interface"},
        {"contactless", "the card is reached through a contactless interface (Type A/B)"},
        {"extended_apdu", "reader and card carry extended Lc/Le (ATR advertises it; reader is "
                          "extended-APDU level or TPDU with T=1)"},
        {"le_256", "the reader's reported limits carry a short response of 256 bytes (Le=00) and "
                   "SW1 SW2: 258 bytes; a short-APDU reader with a smaller message limit does not"},
        {"t0", "the card runs T=0"},
        {"t1", "the card runs T=1"},
        {"emulated", "the card is an emulated lab card (never a physical card)"},
        {"test_card", "a declared test card (--test-card ID) or an emulated test-PKI card"},
        {"card:mynumber", "the identified card type is a My Number card"},
        {"card:juki", "the identified card type is a Juki card"},
        {"card:transport", "the transport test card (profiles/cards/commands.csv)"},
        {"pin:auth", "the user supplied the JPKI user-authentication PIN"},
        {"pin:sign", "the user supplied the JPKI signing password"},
        {"pin:text", "the user supplied the text-AP PIN"},
        {"pin:juki", "the user supplied the Juki-AP PIN"},
        {"removal", "the card can be removed during the run (a tester, or the lab)"},
    };
    return table;
}

const std::vector<NamedCheckSpec>& named_check_table() {
    static const std::vector<NamedCheckSpec> table = {
        {"der_certificate", false, "one DER SEQUENCE (30 …) whose length covers the data exactly"},
        {"empty", false, "no data"},
        {"transport_pattern", false, "byte i is i mod 251 (the transport card's pattern)"},
        {"token", true, "token:<TEXT>: ASCII TEXT padded with spaces or NULs (EF 0006)"},
        {"ascii", false, "printable ASCII only"},
        {"jpki_token", false,
         "one of the JPKI tokens JPKIAPICCTOKEN2, JPKIAPICCTOKEN, JPKIAPGPSETOKEN, padded"},
    };
    return table;
}

// ---- hex templates ---------------------------------------------------------------------------

struct VarCheck {
    const std::vector<std::string>* stored = nullptr;
};

std::optional<HexTemplate> parse_hex_template(std::string_view text, std::size_t base_column,
                                              const VarCheck& check,
                                              std::vector<ArgError>& errors) {
    HexTemplate out;
    out.text = std::string(text);
    std::size_t i = 0;
    bool ok = true;
    auto add_literal = [&](std::size_t start, std::size_t end) {
        const std::string_view part = text.substr(start, end - start);
        hex::ParseError error;
        auto bytes = hex::parse(part, &error);
        if (!bytes) {
            errors.push_back({base_column + start + error.column - 1, error.message});
            ok = false;
            return;
        }
        if (!bytes->empty())
            out.segments.push_back({std::move(*bytes), {}});
    };
    std::size_t literal_start = 0;
    while (i < text.size()) {
        if (text[i] == '$') {
            add_literal(literal_start, i);
            if (i + 1 >= text.size() || text[i + 1] != '{') {
                errors.push_back({base_column + i, "expected '{' after '$' (${name})"});
                return std::nullopt;
            }
            const auto close = text.find('}', i + 2);
            if (close == std::string_view::npos) {
                errors.push_back({base_column + i, "expected '}' closing the ${ reference"});
                return std::nullopt;
            }
            const std::string name(text.substr(i + 2, close - i - 2));
            if (!is_valid_variable_name(name)) {
                errors.push_back(
                    {base_column + i + 2,
                     "expected a variable name ([A-Za-z0-9_.-]) in ${…}, found \"" + name + "\""});
                ok = false;
            } else if (name.find('.') != std::string::npos) {
                if (!is_known_namespaced_variable(name)) {
                    errors.push_back({base_column + i + 2,
                                      "expected a known variable (aid.*, ef.*, run.* or one "
                                      "stored by an earlier step), found ${" +
                                          name + "}"});
                    ok = false;
                }
            } else if (check.stored && std::find(check.stored->begin(), check.stored->end(),
                                                 name) == check.stored->end()) {
                errors.push_back({base_column + i + 2,
                                  "expected a variable stored by an earlier step (store=" + name +
                                      "), found ${" + name + "}"});
                ok = false;
            }
            out.segments.push_back({{}, name});
            i = close + 1;
            literal_start = i;
            continue;
        }
        ++i;
    }
    add_literal(literal_start, text.size());
    std::size_t literal_bytes = 0;
    for (const auto& segment : out.segments)
        literal_bytes += segment.literal.size();
    if (ok && literal_bytes > apdu::max_command_length) {
        errors.push_back({base_column, "expected at most " +
                                           std::to_string(apdu::max_command_length) +
                                           " bytes (the longest extended APDU), found " +
                                           std::to_string(literal_bytes)});
        ok = false;
    }
    if (!ok)
        return std::nullopt;
    if (out.segments.empty()) {
        errors.push_back({base_column, "expected at least one byte"});
        return std::nullopt;
    }
    return out;
}

// ---- key=value fields ------------------------------------------------------------------------

struct Field {
    std::string key;
    std::string value;
    std::size_t key_column = 0;
    std::size_t value_column = 0;
};
using Fields = std::map<std::string, Field, std::less<>>; // looked up by string_view, no copy

class ArgReader {
public:
    ArgReader(const ActionSpec& spec, Fields fields, const VarCheck& check,
              std::vector<ArgError>& errors)
        : spec_(spec), fields_(std::move(fields)), check_(check), errors_(errors) {}

    bool ok() const { return ok_; }
    bool has(std::string_view key) const { return fields_.count(key) > 0; }
    std::size_t column(std::string_view key) const {
        const auto it = fields_.find(key);
        return it == fields_.end() ? 1 : it->second.value_column;
    }
    void fail(std::string_view key, std::string message) {
        errors_.push_back({column(key), std::move(message)});
        ok_ = false;
    }

    std::string text(std::string_view key) const {
        const auto it = fields_.find(key);
        if (it != fields_.end())
            return it->second.value;
        return std::string(spec_of(key).default_value);
    }
    std::int64_t integer(std::string_view key) const {
        return parse_integer(text(key)).value_or(0);
    }
    std::optional<std::int64_t> optional_integer(std::string_view key) const {
        if (!has(key) && spec_of(key).default_value.empty())
            return std::nullopt;
        return integer(key);
    }
    bool yes(std::string_view key) const { return text(key) == "yes"; }
    std::optional<std::string> optional_text(std::string_view key) const {
        if (!has(key) && spec_of(key).default_value.empty())
            return std::nullopt;
        return text(key);
    }
    std::uint8_t byte(std::string_view key) const {
        return static_cast<std::uint8_t>(parse_integer("0x" + text(key)).value_or(0));
    }
    std::optional<HexTemplate> hex(std::string_view key) {
        if (!has(key))
            return std::nullopt;
        const auto& field = fields_.find(key)->second;
        auto parsed = parse_hex_template(field.value, field.value_column, check_, errors_);
        if (!parsed)
            ok_ = false;
        return parsed;
    }
    std::optional<HexTemplate> fid(std::string_view key) {
        auto parsed = hex(key);
        if (!parsed)
            return parsed;
        const bool one_var = parsed->segments.size() == 1 && !parsed->segments[0].variable.empty();
        const bool two_bytes =
            parsed->segments.size() == 1 && parsed->segments[0].literal.size() == 2;
        if (!one_var && !two_bytes) {
            fail(key, "expected a file id of 4 hex digits or one ${var}, found \"" + parsed->text +
                          "\"");
            return std::nullopt;
        }
        return parsed;
    }

private:
    const ArgSpec& spec_of(std::string_view key) const {
        for (const auto& arg : spec_.keys)
            if (arg.key == key)
                return arg;
        static const ArgSpec none;
        return none;
    }

    const ActionSpec& spec_;
    Fields fields_;
    VarCheck check_;
    std::vector<ArgError>& errors_;
    bool ok_ = true;
};

Follow follow_of(const std::string& text) {
    if (text == "61xx")
        return Follow::GetResponse;
    if (text == "6cxx")
        return Follow::LeCorrection;
    if (text == "both")
        return Follow::Both;
    return Follow::None;
}

// Validates one value against its type (syntax only; hex is parsed later with columns).
void check_value(const ArgSpec& arg, const Field& field, const VarCheck& check,
                 std::vector<ArgError>& errors) {
    const std::string& v = field.value;
    auto fail = [&](std::string message) {
        errors.push_back({field.value_column, std::move(message)});
    };
    if (v.empty()) {
        fail("expected a value for " + std::string(arg.key) + "=");
        return;
    }
    switch (arg.type) {
    case ArgType::Hex:
    case ArgType::Fid:
        break;
    case ArgType::Integer: {
        const auto value = parse_integer(v);
        if (!value)
            fail("expected an integer for " + std::string(arg.key) + "=, found \"" + v + "\"");
        else if (*value < arg.min || *value > arg.max)
            fail("expected " + std::string(arg.key) + " in " + std::to_string(arg.min) + ".." +
                 std::to_string(arg.max) + ", found " + v);
        break;
    }
    case ArgType::Byte: {
        const bool ok = v.size() == 2 && std::isxdigit(static_cast<unsigned char>(v[0])) &&
                        std::isxdigit(static_cast<unsigned char>(v[1]));
        if (!ok)
            fail("expected one byte as 2 hex digits for " + std::string(arg.key) + "=, found \"" +
                 v + "\"");
        break;
    }
    case ArgType::Choice:
        if (std::find(arg.choices.begin(), arg.choices.end(), v) == arg.choices.end())
            fail("expected " + std::string(arg.key) + "=" + join(arg.choices, "|") + ", found \"" +
                 v + "\"");
        break;
    case ArgType::Text:
        break;
    case ArgType::VarName:
        if (!is_valid_variable_name(v) || v.find('.') != std::string::npos)
            fail("expected a variable name without dots ([A-Za-z0-9_-]) for " +
                 std::string(arg.key) + "=, found \"" + v + "\"");
        break;
    case ArgType::VarRef:
        if (!is_valid_variable_name(v) || v.find('.') != std::string::npos)
            fail("expected the name of a variable stored by an earlier step for " +
                 std::string(arg.key) + "=, found \"" + v + "\"");
        else if (check.stored &&
                 std::find(check.stored->begin(), check.stored->end(), v) == check.stored->end())
            fail("expected a variable stored by an earlier step (store=" + v + ") for " +
                 std::string(arg.key) + "=, found \"" + v + "\"");
        break;
    }
}

std::optional<Args> build(const ActionSpec& spec, ArgReader& r) {
    const std::string_view name = spec.name;
    if (name == "apdu") {
        auto command = r.hex("cmd");
        if (!command)
            return std::nullopt;
        // A suite names PINs and never holds them (the one PIN policy, pin_policy.hpp).
        if (const auto problem = pin_command_problem(*command)) {
            r.fail("cmd", *problem);
            return std::nullopt;
        }
        return ApduArgs{std::move(*command), follow_of(r.text("follow")), r.optional_text("store")};
    }
    if (name == "select_aid") {
        auto aid = r.hex("aid");
        if (!aid)
            return std::nullopt;
        return SelectAidArgs{std::move(*aid), r.yes("fci")};
    }
    if (name == "select_ef") {
        auto fid = r.fid("fid");
        if (!fid)
            return std::nullopt;
        return SelectEfArgs{std::move(*fid), r.yes("fci")};
    }
    if (name == "read_ef") {
        ReadEfArgs args;
        if (r.has("fid")) {
            args.fid = r.fid("fid");
            if (!args.fid)
                return std::nullopt;
        }
        const std::string mode = r.text("mode");
        args.mode = mode == "extended" ? ReadMode::Extended
                    : mode == "fixed"  ? ReadMode::Fixed
                                       : ReadMode::Header;
        args.chunk = static_cast<std::size_t>(r.integer("chunk"));
        args.fit = r.yes("fit");
        args.header = static_cast<std::size_t>(r.integer("header"));
        if (args.mode == ReadMode::Fixed) {
            if (!r.has("length")) {
                r.fail("mode", "expected length=N with mode=fixed");
                return std::nullopt;
            }
            args.length = static_cast<std::size_t>(r.integer("length"));
        } else if (r.has("length")) {
            r.fail("length", "expected no length= unless mode=fixed");
            return std::nullopt;
        }
        if (args.mode == ReadMode::Header && args.header > args.chunk) {
            r.fail("header", "expected header <= chunk");
            return std::nullopt;
        }
        args.store = r.optional_text("store");
        return args;
    }
    if (name == "pin_tries")
        return PinTriesArgs{*pin_name_from(r.text("pin")), r.yes("select"),
                            r.optional_text("store")};
    if (name == "verify_pin")
        return VerifyPinArgs{*pin_name_from(r.text("pin")),
                             r.text("value") == "wrong" ? PinValue::Wrong : PinValue::Supplied,
                             r.yes("select")};
    if (name == "sign") {
        SignArgs args;
        args.key = r.text("key") == "sign" ? SignKey::Sign : SignKey::Auth;
        args.cert = r.text("cert");
        args.message = r.text("message");
        const std::string hash = r.text("hash");
        args.hash = hash == "sha1"     ? HashAlgorithm::Sha1
                    : hash == "sha384" ? HashAlgorithm::Sha384
                    : hash == "sha512" ? HashAlgorithm::Sha512
                                       : HashAlgorithm::Sha256;
        args.select = r.yes("select");
        args.store = r.optional_text("store");
        return args;
    }
    if (name == "check_cert") {
        CheckCertArgs args;
        args.cert = r.text("cert");
        args.ca = r.optional_text("ca");
        args.min_bits = static_cast<std::size_t>(r.integer("min_bits"));
        if (const auto bits = r.optional_integer("bits"))
            args.bits = static_cast<std::size_t>(*bits);
        args.expired = r.text("expired") == "info" ? ExpiredPolicy::Info : ExpiredPolicy::Fail;
        return args;
    }
    if (name == "reset")
        return ResetArgs{r.text("kind") == "cold" ? io::ResetKind::Cold : io::ResetKind::Warm,
                         r.optional_text("store")};
    if (name == "reconnect")
        return ReconnectArgs{r.text("share") == "exclusive"};
    if (name == "expect_removed")
        return ExpectRemovedArgs{r.text("prompt")};
    if (name == "atr")
        return AtrArgs{r.optional_text("store")};
    if (name == "repeat" || name == "measure") {
        auto command = r.hex("cmd");
        if (!command)
            return std::nullopt;
        if (const auto problem = pin_command_problem(*command)) {
            r.fail("cmd", *problem);
            return std::nullopt;
        }
        RepeatArgs args;
        args.command = std::move(*command);
        args.count = static_cast<std::size_t>(r.integer("count"));
        args.warmup = static_cast<std::size_t>(r.integer("warmup"));
        args.follow = follow_of(r.text("follow"));
        args.statistics = name == "measure";
        return args;
    }
    if (name == "sweep") {
        SweepArgs args;
        args.apdu_case = static_cast<int>(r.integer("case"));
        args.from = static_cast<std::size_t>(r.integer("from"));
        args.to = r.has("to") ? static_cast<std::size_t>(r.integer("to")) : args.from;
        args.step = static_cast<std::size_t>(r.integer("step"));
        args.form = r.text("form") == "extended" ? apdu::Form::Extended : apdu::Form::Short;
        args.cla = r.byte("cla");
        if (r.has("ins"))
            args.ins = r.byte("ins");
        args.p1 = r.byte("p1");
        args.p2 = r.byte("p2");
        if (const auto le = r.optional_integer("le"))
            args.le = static_cast<std::size_t>(*le);
        args.follow = follow_of(r.text("follow"));
        const bool extended = args.form == apdu::Form::Extended;
        // ISO 7816-4 §5.1: short Nc 1..255, Ne 1..256; extended Nc 1..65535, Ne 1..65536.
        const std::size_t max_nc = extended ? apdu::max_extended_nc : apdu::max_short_nc;
        const std::size_t max_ne = extended ? apdu::max_extended_ne : apdu::max_short_ne;
        const std::size_t max_len = args.apdu_case == 2   ? max_ne
                                    : args.apdu_case == 1 ? 100000
                                                          : max_nc;
        if (args.to < args.from) {
            r.fail("to", "expected to >= from");
            return std::nullopt;
        }
        if (args.to > max_len) {
            r.fail(r.has("to") ? "to" : "from", "expected at most " + std::to_string(max_len) +
                                                    " for case " + std::to_string(args.apdu_case) +
                                                    " with form=" + r.text("form"));
            return std::nullopt;
        }
        if (args.le && args.apdu_case != 4) {
            r.fail("le", "expected le= only with case=4");
            return std::nullopt;
        }
        if (args.le && *args.le > max_ne) {
            r.fail("le", "expected le at most " + std::to_string(max_ne) +
                             " with form=" + r.text("form"));
            return std::nullopt;
        }
        if (args.apdu_case == 1 && extended) {
            r.fail("form", "expected form=short for case 1 (it has no length fields)");
            return std::nullopt;
        }
        if (const PinCommand c = classify_sweep(args.cla, args.ins_for_case(), args.apdu_case);
            c.sensitive()) {
            r.fail(r.has("ins") ? "ins" : "case",
                   fmt::format("expected no {} with a data field (case {} sends data; it can carry "
                               "a PIN, and a suite never holds one)",
                               to_string(c.kind), args.apdu_case));
            return std::nullopt;
        }
        return args;
    }
    return std::nullopt;
}

bool is_extended_literal(const HexTemplate& command) {
    const auto bytes = command.literal();
    if (!bytes)
        return false;
    const auto parsed = apdu::parse(*bytes);
    return apdu::is_extended(parsed.apdu_case);
}

} // namespace

// ---- variables -------------------------------------------------------------------------------

const Variables& profile_variables() {
    return profile_vars;
}

std::span<const std::string_view> run_variable_names() {
    return run_names;
}

bool is_valid_variable_name(std::string_view name) {
    if (name.empty())
        return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (!is_name_char(name[i], i == 0))
            return false;
    return true;
}

bool is_known_namespaced_variable(std::string_view name) {
    if (profile_vars.find(name) != profile_vars.end())
        return true;
    return std::find(run_names.begin(), run_names.end(), name) != run_names.end();
}

bool HexTemplate::has_variables() const {
    return std::any_of(segments.begin(), segments.end(),
                       [](const Segment& s) { return !s.variable.empty(); });
}

std::vector<std::string> HexTemplate::variables() const {
    std::vector<std::string> out;
    for (const auto& s : segments)
        if (!s.variable.empty())
            out.push_back(s.variable);
    return out;
}

Bytes HexTemplate::substitute(const Variables& values) const {
    Bytes out;
    for (const auto& s : segments) {
        if (s.variable.empty()) {
            out.insert(out.end(), s.literal.begin(), s.literal.end());
            continue;
        }
        const auto it = values.find(s.variable);
        if (it == values.end())
            throw Error("unknown variable ${" + s.variable + "} in \"" + text + "\"");
        out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
}

std::optional<std::string> pin_command_problem(const HexTemplate& command) {
    const PinCommand c = classify_pin_command(command);
    if (!c.sensitive())
        return std::nullopt;
    if (c.kind == PinCommandKind::Unknown)
        return std::string("expected the instruction written out (a ${var} in the header could be "
                           "a VERIFY; a suite never holds PIN data)");
    if (c.kind == PinCommandKind::Envelope)
        return std::string("expected no ENVELOPE (it can wrap a VERIFY past the PIN guard)");
    return fmt::format("expected no PIN data in a raw {} (a suite names PINs, never holds them: "
                       "use verify_pin)",
                       to_string(c.kind));
}

std::optional<Bytes> HexTemplate::literal() const {
    if (has_variables())
        return std::nullopt;
    return substitute({});
}

// ---- enums -----------------------------------------------------------------------------------

const char* to_string(Follow follow) {
    switch (follow) {
    case Follow::None:
        return "none";
    case Follow::GetResponse:
        return "61xx";
    case Follow::LeCorrection:
        return "6cxx";
    case Follow::Both:
        return "both";
    }
    return "none";
}

const char* to_string(PinName pin) {
    switch (pin) {
    case PinName::Auth:
        return "auth";
    case PinName::Sign:
        return "sign";
    case PinName::Text:
        return "text";
    case PinName::Juki:
        return "juki";
    }
    return "auth";
}

std::optional<PinName> pin_name_from(std::string_view text) {
    if (text == "auth")
        return PinName::Auth;
    if (text == "sign")
        return PinName::Sign;
    if (text == "text")
        return PinName::Text;
    if (text == "juki")
        return PinName::Juki;
    return std::nullopt;
}

const char* to_string(ReadMode mode) {
    switch (mode) {
    case ReadMode::Header:
        return "header";
    case ReadMode::Extended:
        return "extended";
    case ReadMode::Fixed:
        return "fixed";
    }
    return "header";
}

const char* to_string(PinValue value) {
    return value == PinValue::Wrong ? "wrong" : "supplied";
}

const char* to_string(SignKey key) {
    return key == SignKey::Sign ? "sign" : "auth";
}

const char* to_string(HashAlgorithm hash) {
    switch (hash) {
    case HashAlgorithm::Sha1:
        return "sha1";
    case HashAlgorithm::Sha256:
        return "sha256";
    case HashAlgorithm::Sha384:
        return "sha384";
    case HashAlgorithm::Sha512:
        return "sha512";
    }
    return "sha256";
}

Bytes digest_info_prefix(HashAlgorithm hash) {
    // RFC 8017 §9.2 note 1: DER of DigestInfo up to the hash value.
    switch (hash) {
    case HashAlgorithm::Sha1:
        return {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E,
                0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14};
    case HashAlgorithm::Sha256:
        return {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    case HashAlgorithm::Sha384:
        return {0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
    case HashAlgorithm::Sha512:
        return {0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
    }
    return {};
}

const char* to_string(ArgType type) {
    switch (type) {
    case ArgType::Hex:
        return "hex";
    case ArgType::Fid:
        return "fid";
    case ArgType::Integer:
        return "integer";
    case ArgType::Byte:
        return "byte";
    case ArgType::Choice:
        return "choice";
    case ArgType::Text:
        return "text";
    case ArgType::VarName:
        return "variable name";
    case ArgType::VarRef:
        return "variable";
    }
    return "text";
}

std::uint8_t SweepArgs::ins_for_case() const {
    if (ins)
        return *ins;
    static constexpr std::array<std::uint8_t, 4> defaults = {0x10, 0x20, 0x30, 0x40};
    return defaults.at(static_cast<std::size_t>(std::clamp(apdu_case, 1, 4) - 1));
}

// ---- the vocabulary --------------------------------------------------------------------------

std::span<const ActionSpec> actions() {
    return action_table();
}

const ActionSpec* find_action(std::string_view name) {
    for (const auto& spec : action_table())
        if (spec.name == name)
            return &spec;
    return nullptr;
}

std::optional<Args> parse_args(std::string_view action, std::string_view text,
                               const std::vector<std::string>* stored,
                               std::vector<ArgError>& errors) {
    const ActionSpec* spec = find_action(action);
    if (!spec) {
        errors.push_back({1, "expected a known action, found \"" + std::string(action) + "\""});
        return std::nullopt;
    }
    const std::size_t errors_before = errors.size();
    const auto key_names = [&] { // for the error messages only
        std::vector<std::string_view> names;
        for (const auto& arg : spec->keys)
            names.push_back(arg.key);
        return join(names, ", ");
    };
    Fields fields;
    std::size_t start = 0;
    bool first = true;
    while (start <= text.size()) {
        auto end = text.find(';', start);
        if (end == std::string_view::npos)
            end = text.size();
        std::size_t skipped = 0;
        const std::string_view raw = trim(text.substr(start, end - start), &skipped);
        const std::size_t column = start + skipped + 1;
        if (!raw.empty()) {
            Field field;
            const auto eq = raw.find('=');
            if (eq == std::string_view::npos) {
                if (first && !spec->positional.empty()) {
                    field.key = std::string(spec->positional);
                    field.value = std::string(raw);
                    field.key_column = field.value_column = column;
                } else {
                    errors.push_back({column, spec->positional.empty() || !first
                                                  ? "expected key=value (keys of " +
                                                        std::string(action) + ": " + key_names() +
                                                        ")"
                                                  : "expected key=value"});
                    field.key.clear();
                }
            } else {
                std::size_t value_skip = 0;
                field.key = std::string(trim(raw.substr(0, eq)));
                field.value = std::string(trim(raw.substr(eq + 1), &value_skip));
                field.key_column = column;
                field.value_column = column + eq + 1 + value_skip;
            }
            if (!field.key.empty()) {
                const auto it = std::find_if(spec->keys.begin(), spec->keys.end(),
                                             [&](const ArgSpec& a) { return a.key == field.key; });
                if (it == spec->keys.end()) {
                    errors.push_back({field.key_column, "expected one of the keys " + key_names() +
                                                            " of action " + std::string(action) +
                                                            ", found \"" + field.key + "\""});
                } else if (fields.count(field.key)) {
                    errors.push_back({field.key_column,
                                      "expected " + field.key + "= at most once, found it again"});
                } else {
                    check_value(*it, field, VarCheck{stored}, errors);
                    fields.emplace(field.key, std::move(field));
                }
            }
        }
        first = false;
        start = end + 1;
    }
    for (const auto& arg : spec->keys)
        if (arg.required && !fields.count(arg.key))
            errors.push_back({text.size() + 1, "expected " + std::string(arg.key) +
                                                   "= (required by action " + std::string(action) +
                                                   ")"});
    if (errors.size() != errors_before)
        return std::nullopt;
    ArgReader reader(*spec, std::move(fields), VarCheck{stored}, errors);
    auto args = build(*spec, reader);
    if (!reader.ok() || errors.size() != errors_before)
        return std::nullopt;
    return args;
}

std::optional<std::string> stored_variable(const Args& args) {
    return std::visit(
        [](const auto& a) -> std::optional<std::string> {
            if constexpr (requires { a.store; })
                return a.store;
            else
                return std::nullopt;
        },
        args);
}

std::vector<std::string> implied_requirements(const Args& args) {
    std::vector<std::string> out;
    if (const auto* a = std::get_if<ApduArgs>(&args)) {
        if (is_extended_literal(a->command))
            out.emplace_back("extended_apdu");
    } else if (const auto* r = std::get_if<ReadEfArgs>(&args)) {
        if (r->mode == ReadMode::Extended)
            out.emplace_back("extended_apdu");
    } else if (const auto* v = std::get_if<VerifyPinArgs>(&args)) {
        out.push_back(std::string("pin:") + to_string(v->pin));
        if (v->value == PinValue::Wrong)
            out.emplace_back("test_card");
    } else if (const auto* s = std::get_if<SignArgs>(&args)) {
        out.push_back(std::string("pin:") + to_string(s->key));
    } else if (const auto* rp = std::get_if<RepeatArgs>(&args)) {
        if (is_extended_literal(rp->command))
            out.emplace_back("extended_apdu");
    } else if (const auto* sw = std::get_if<SweepArgs>(&args)) {
        out.emplace_back("card:transport");
        if (sw->form == apdu::Form::Extended)
            out.emplace_back("extended_apdu");
    } else if (std::holds_alternative<ExpectRemovedArgs>(args)) {
        out.emplace_back("removal");
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// ---- requires ------------------------------------------------------------------------------

std::span<const RequirementSpec> requirements() {
    return requirement_table();
}

bool is_known_requirement(std::string_view token) {
    const auto& table = requirement_table();
    return std::any_of(table.begin(), table.end(),
                       [&](const RequirementSpec& r) { return r.token == token; });
}

// ---- expect_data -----------------------------------------------------------------------------

std::span<const NamedCheckSpec> named_checks() {
    return named_check_table();
}

namespace {

std::optional<DataCondition> parse_condition(std::string_view text, std::size_t base,
                                             ArgError* error) {
    auto fail = [&](std::size_t offset, std::string message) -> std::optional<DataCondition> {
        if (error)
            *error = ArgError{base + offset, std::move(message)};
        return std::nullopt;
    };
    DataCondition c;
    if (text.substr(0, 3) == "len") {
        std::string_view rest = text.substr(3);
        std::size_t op_len = 1;
        if (rest.substr(0, 2) == ">=") {
            c.kind = DataCondition::Kind::LengthGe;
            op_len = 2;
        } else if (rest.substr(0, 2) == "<=") {
            c.kind = DataCondition::Kind::LengthLe;
            op_len = 2;
        } else if (rest.substr(0, 1) == "=") {
            c.kind = DataCondition::Kind::LengthEq;
        } else {
            return fail(3, "expected len=N, len>=N or len<=N");
        }
        const auto number = trim(rest.substr(op_len));
        const auto value = parse_integer(number);
        if (!value || number.substr(0, 2) == "0x" || *value > 65536)
            return fail(3 + op_len, "expected a decimal length 0..65536 after len" +
                                        std::string(rest.substr(0, op_len)));
        c.length = static_cast<std::size_t>(*value);
        return c;
    }
    if (!text.empty() && std::isalpha(static_cast<unsigned char>(text[0])) &&
        !(text.size() >= 2 && std::isxdigit(static_cast<unsigned char>(text[0])) &&
          std::isxdigit(static_cast<unsigned char>(text[1])) &&
          (text.size() == 2 || text[2] == ' ' ||
           std::isxdigit(static_cast<unsigned char>(text[2])) || text[2] == '.' ||
           text[2] == '*'))) {
        const auto colon = text.find(':');
        const std::string name(text.substr(0, colon));
        const auto& table = named_check_table();
        const auto it = std::find_if(table.begin(), table.end(),
                                     [&](const NamedCheckSpec& s) { return s.name == name; });
        if (it == table.end()) {
            std::vector<std::string_view> names;
            for (const auto& s : table)
                names.push_back(s.name);
            return fail(0, "expected hex with .. wildcards, len=N, len>=N, len<=N or a named "
                           "check (" +
                               join(names, ", ") + "), found \"" + name + "\"");
        }
        c.kind = DataCondition::Kind::Named;
        c.name = name;
        if (it->takes_parameter) {
            if (colon == std::string_view::npos || colon + 1 >= text.size())
                return fail(name.size(), "expected " + name + ":<TEXT>");
            c.parameter = std::string(text.substr(colon + 1));
        } else if (colon != std::string_view::npos) {
            return fail(colon, "expected no parameter after " + name);
        }
        return c;
    }
    // hex with .. wildcards, optional trailing '*'
    c.kind = DataCondition::Kind::Bytes;
    std::size_t i = 0;
    while (i < text.size()) {
        const char ch = text[i];
        if (ch == ' ' || ch == '\t') {
            ++i;
            continue;
        }
        if (ch == '*') {
            if (trim(text.substr(i + 1)).size() != 0)
                return fail(i, "expected '*' only at the end (prefix match)");
            c.prefix = true;
            break;
        }
        if (ch == '.') {
            if (i + 1 >= text.size() || text[i + 1] != '.')
                return fail(i, "expected '..' (one wildcard byte)");
            c.bytes.emplace_back(std::nullopt);
            i += 2;
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(ch)))
            return fail(i, std::string("expected a hex digit, '..' or '*', found '") + ch + "'");
        if (i + 1 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])))
            return fail(i, "expected two hex digits per byte");
        c.bytes.emplace_back(static_cast<std::uint8_t>(
            parse_integer("0x" + std::string(text.substr(i, 2))).value_or(0)));
        i += 2;
    }
    return c;
}

// EF 0006 contents without the space or NUL padding (domain.md §3).
std::string unpadded(ByteView data) {
    std::size_t end = data.size();
    while (end > 0 && (data[end - 1] == 0x20 || data[end - 1] == 0x00))
        --end;
    return std::string(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(end));
}

bool is_der_certificate(ByteView data) {
    if (data.size() < 2 || data[0] != 0x30)
        return false;
    const auto total = tlv::total_der_length(data);
    return total && *total == data.size();
}

} // namespace

std::optional<ExpectData> parse_expect_data(std::string_view text, ArgError* error) {
    ExpectData out;
    out.text = std::string(trim(text));
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(';', start);
        if (end == std::string_view::npos)
            end = text.size();
        std::size_t skipped = 0;
        const auto part = trim(text.substr(start, end - start), &skipped);
        if (!part.empty()) {
            auto condition = parse_condition(part, start + skipped + 1, error);
            if (!condition)
                return std::nullopt;
            out.conditions.push_back(std::move(*condition));
        } else if (end < text.size()) {
            if (error)
                *error = ArgError{start + 1, "expected a condition before ';'"};
            return std::nullopt;
        }
        start = end + 1;
    }
    return out;
}

std::optional<std::string> ExpectData::check(ByteView data) const {
    for (const auto& c : conditions) {
        const std::string got = " (got " + std::to_string(data.size()) + " bytes)";
        switch (c.kind) {
        case DataCondition::Kind::LengthEq:
            if (data.size() != c.length)
                return "len=" + std::to_string(c.length) + got;
            break;
        case DataCondition::Kind::LengthGe:
            if (data.size() < c.length)
                return "len>=" + std::to_string(c.length) + got;
            break;
        case DataCondition::Kind::LengthLe:
            if (data.size() > c.length)
                return "len<=" + std::to_string(c.length) + got;
            break;
        case DataCondition::Kind::Bytes: {
            const bool length_ok =
                c.prefix ? data.size() >= c.bytes.size() : data.size() == c.bytes.size();
            bool ok = length_ok;
            for (std::size_t i = 0; ok && i < c.bytes.size(); ++i)
                ok = !c.bytes[i] || *c.bytes[i] == data[i];
            if (!ok)
                return "data does not match the pattern" + got;
            break;
        }
        case DataCondition::Kind::Named:
            if (c.name == "empty" && !data.empty())
                return "empty" + got;
            if (c.name == "der_certificate" && !is_der_certificate(data))
                return "der_certificate: not one DER SEQUENCE covering the data" + got;
            if (c.name == "transport_pattern") {
                const Bytes expected = transport_pattern(data.size());
                if (!std::equal(expected.begin(), expected.end(), data.begin()))
                    return "transport_pattern: byte i is not i mod 251" + got;
            }
            if (c.name == "ascii" && !std::all_of(data.begin(), data.end(), [](std::uint8_t b) {
                    return b >= 0x20 && b < 0x7F;
                }))
                return "ascii: non-printable bytes" + got;
            if (c.name == "token" && unpadded(data) != c.parameter)
                return "token:" + c.parameter + " (token differs)";
            if (c.name == "jpki_token") {
                const std::string token = unpadded(data);
                if (token != "JPKIAPICCTOKEN2" && token != "JPKIAPICCTOKEN" &&
                    token != "JPKIAPGPSETOKEN")
                    return "jpki_token: not a known JPKI token" + got;
            }
            break;
        }
    }
    return std::nullopt;
}

Bytes transport_pattern(std::size_t length) {
    Bytes out(length);
    for (std::size_t i = 0; i < length; ++i)
        out[i] = static_cast<std::uint8_t>(i % 251);
    return out;
}

} // namespace harness::suite
