#pragma once
// Byte buffers and hex text, as scriptor ("00 A4 04 00") and pcsc_scan ("3B8F80...") print them.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

namespace hex {

// Where and why a hex string failed to parse (column is 1-based within the input).
struct ParseError {
    std::size_t column = 0;
    std::string message;
};

// Accepts packed ("00A40400"), spaced ("00 A4 04 00"), colon-separated ("00:A4"), and an
// optional "0x" prefix per byte or for the whole string; upper or lower case.
std::optional<Bytes> parse(std::string_view text, ParseError* error = nullptr);
// Like parse() but throws harness::UsageError with the message (for CLI arguments).
Bytes parse_or_throw(std::string_view text);

enum class Style { Spaced, Packed };
std::string format(ByteView bytes, Style style = Style::Spaced);
std::string format_byte(std::uint8_t byte);

// A number written as 1..max_digits hex digits and nothing else (no prefix, no sign), e.g. a
// VID "072F"; nullopt otherwise. Callers strip their own prefixes ("0x").
std::optional<unsigned> parse_number(std::string_view digits, std::size_t max_digits);

} // namespace hex

inline Bytes bytes_of(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

} // namespace harness
