#pragma once
// Command and response APDUs: ISO 7816-4 §5.1 (command-response pairs), ISO 7816-3 §12.1 (cases).
// Pure: no I/O. A malformed APDU is a result (findings), never an exception from parse().
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <cstdint>
#include <optional>

namespace harness::apdu {

// ISO 7816-3 §12.1.2: case 1 (no Lc, no Le), 2 (Le), 3 (Lc + data), 4 (Lc + data + Le);
// S = short length fields, E = extended length fields. Invalid: bytes that fit no case.
enum class Case { Case1, Case2S, Case3S, Case4S, Case2E, Case3E, Case4E, Invalid };
const char* to_string(Case c); // "1", "2S", … "4E", "invalid"
bool is_extended(Case c);

// How encode() chooses length fields: Auto = short whenever Nc <= 255 and Ne <= 256.
enum class Form { Auto, Short, Extended };

inline constexpr std::size_t max_short_nc = 255;
inline constexpr std::size_t max_short_ne = 256;
inline constexpr std::size_t max_extended_nc = 65535;
inline constexpr std::size_t max_extended_ne = 65536;
// The longest command APDU: extended case 4 (CLA INS P1 P2, 00 Lc Lc, 65535 data bytes, Le Le).
inline constexpr std::size_t max_command_length = 4 + 3 + max_extended_nc + 2;

struct Command {
    std::uint8_t cla = 0;
    std::uint8_t ins = 0;
    std::uint8_t p1 = 0;
    std::uint8_t p2 = 0;
    Bytes data;                    // Nc = data.size(); empty = no Lc field
    std::optional<std::size_t> le; // Ne, 1..65536; nullopt = no Le field
    Form form = Form::Auto;        // length-field form encode() uses
    std::optional<Bytes> raw;      // when set: sent exactly as given (malformed on purpose)

    bool is_raw() const { return raw.has_value(); }
    // The case encode() produces (for raw commands: the case the raw bytes parse as).
    Case apdu_case() const;
    bool operator==(const Command&) const = default;
};

// Build helpers (ISO 7816-4 §5.1). Le is Ne: 256 means short "00", 65536 extended "00 00".
Command case1(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2);
Command case2(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, std::size_t le);
Command case3(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, Bytes data);
Command case4(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, Bytes data,
              std::size_t le);
Command raw(Bytes bytes);
Command with_form(Command command, Form form);

// Common commands (ISO 7816-4 §11): SELECT by DF name (AID) or file id, READ BINARY, GET RESPONSE.
Command select_aid(ByteView aid, std::uint8_t p2 = 0x0C);
Command select_ef(std::uint16_t fid, std::uint8_t p2 = 0x0C);
Command read_binary(std::uint16_t offset, std::size_t le); // offset is 15-bit (P1 b8 = 0)
Command get_response(std::size_t le);

// Encodes the command; for raw commands returns the raw bytes. Throws harness::UsageError when
// the command cannot be encoded (Ne outside 1..65536, Nc > 65535, Short forced with Nc > 255 or
// Ne > 256). try_encode() returns nullopt instead and says why.
Bytes encode(const Command& command);
std::optional<Bytes> try_encode(const Command& command, std::string* why = nullptr);

struct ParseResult {
    std::optional<Command> command; // nullopt when the bytes fit no case
    Case apdu_case = Case::Invalid;
    Findings findings;
};

// Decodes a command APDU per ISO 7816-3 §12.1.3. Findings (codes): apdu_too_short,
// short_lc_zero, extended_lc_zero, body_too_short, trailing_bytes, extended_le_incomplete,
// cla_invalid, ins_invalid, extended_not_needed. The parsed command's form is Short or Extended.
ParseResult parse(ByteView bytes);

struct Response {
    Bytes data;
    std::uint8_t sw1 = 0;
    std::uint8_t sw2 = 0;

    std::uint16_t sw() const { return static_cast<std::uint16_t>((sw1 << 8) | sw2); }
    bool ok() const { return sw() == 0x9000; }
    bool is_61xx() const { return sw1 == 0x61; }
    bool is_6cxx() const { return sw1 == 0x6C; }
    // 61xx: bytes still available (ISO 7816-4 §5.1.3: 00 means 256 or more).
    std::optional<std::size_t> bytes_available() const;
    // 6Cxx: the exact Ne the card wants (00 means 256).
    std::optional<std::size_t> exact_le() const;
    // 63Cx: tries (or counter) left (ISO 7816-4 §5.1.3, VERIFY §11.5.6).
    std::optional<unsigned> retry_count() const;
    Bytes encode() const;
    bool operator==(const Response&) const = default;
};

Response make_response(std::uint16_t sw, Bytes data = {});

struct ResponseParseResult {
    std::optional<Response> response; // nullopt when shorter than SW1 SW2
    Findings findings;                // response_too_short, sw1_invalid, response_too_long
};

ResponseParseResult parse_response(ByteView bytes);

// A raw response as a channel returns it (data, then SW1 SW2). The status word of its last two
// bytes (0 when it is shorter: no status word), and the data before them.
std::uint16_t sw_of(ByteView response);
ByteView data_of(ByteView response);
// 63Cx: the tries (or counter) left that a status word reports (ISO 7816-4 §5.1.3, VERIFY
// §11.5.6); nullopt for any other status word.
std::optional<unsigned> retry_count(std::uint16_t sw);

} // namespace harness::apdu
