#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <cctype>

namespace harness::hex {
namespace {

int nibble(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool is_separator(char c) {
    return c == ' ' || c == '\t' || c == ':' || c == '\n' || c == '\r';
}

} // namespace

std::optional<Bytes> parse(std::string_view text, ParseError* error) {
    auto fail = [&](std::size_t index, std::string message) -> std::optional<Bytes> {
        if (error)
            *error = ParseError{index + 1, std::move(message)};
        return std::nullopt;
    };
    Bytes out;
    out.reserve(text.size() / 2);
    std::size_t i = 0;
    int high = -1; // pending high nibble
    std::size_t high_at = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (is_separator(c)) {
            if (high >= 0)
                return fail(high_at, "expected two hex digits per byte, found a lone digit");
            ++i;
            continue;
        }
        if (high < 0 && c == '0' && i + 1 < text.size() &&
            (text[i + 1] == 'x' || text[i + 1] == 'X')) {
            i += 2;
            continue;
        }
        const int value = nibble(c);
        if (value < 0)
            return fail(i, std::string("expected a hex digit, found '") + c + "'");
        if (high < 0) {
            high = value;
            high_at = i;
        } else {
            out.push_back(static_cast<std::uint8_t>(high * 16 + value));
            high = -1;
        }
        ++i;
    }
    if (high >= 0)
        return fail(high_at, "expected two hex digits per byte, found an odd number of digits");
    return out;
}

Bytes parse_or_throw(std::string_view text) {
    ParseError error;
    auto bytes = parse(text, &error);
    if (!bytes)
        throw UsageError("hex \"" + std::string(text) + "\" column " +
                         std::to_string(error.column) + ": " + error.message);
    return *bytes;
}

std::optional<unsigned> parse_number(std::string_view digits, std::size_t max_digits) {
    if (digits.empty() || digits.size() > max_digits || max_digits > 2 * sizeof(unsigned))
        return std::nullopt;
    unsigned value = 0;
    for (char c : digits) {
        const int v = nibble(c);
        if (v < 0)
            return std::nullopt;
        value = value * 16 + static_cast<unsigned>(v);
    }
    return value;
}

constexpr char digits[] = "0123456789ABCDEF"; // upper case, as every hex form we print

std::string format_byte(std::uint8_t byte) {
    return {digits[byte >> 4], digits[byte & 0x0F]};
}

std::string format(ByteView bytes, Style style) {
    if (bytes.empty())
        return {};
    const bool spaced = style == Style::Spaced;
    std::string out(spaced ? bytes.size() * 3 - 1 : bytes.size() * 2, ' ');
    char* p = out.data();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (spaced && i > 0)
            ++p; // the space is already there
        *p++ = digits[bytes[i] >> 4];
        *p++ = digits[bytes[i] & 0x0F];
    }
    return out;
}

} // namespace harness::hex
