#pragma once
// Status words SW1 SW2 as data (ISO 7816-4 §5.1.3 tables 5-6, plus JPKI practice from domain.md
// §6): entries of (value, mask) -> category and English / Japanese text. Pure: no I/O.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::sw {

enum class Category {
    Ok,             // 9000 and 61xx: normal processing
    Warning,        // 62xx, 63xx
    ExecutionError, // 64xx, 65xx, 66xx
    CheckingError,  // 67xx..6Fxx
    Security,       // security status / PIN: 6982, 6983, 6984, 63Cx
    Proprietary,    // 9xxx other than 9000
    Unknown,        // anything else (SW1 not 6X/9X)
};
const char* to_string(Category category); // "ok", "warning", "execution_error", …

// How the family parameter (the masked-out bits) is read.
enum class Param {
    None,
    Byte,      // xx = SW2, 00 meaning 256 (61xx, 6Cxx)
    LowNibble, // x = SW2 low nibble (63Cx)
};

struct Entry {
    std::uint16_t value = 0;
    std::uint16_t mask = 0xFFFF; // bits that must match; 0xFF00 = any SW2
    Category category = Category::Unknown;
    Param param = Param::None;
    std::string_view text;    // English; "{n}" stands for the family parameter
    std::string_view text_ja; // Japanese; "{n}" likewise
};

// The whole table, in declaration order.
std::span<const Entry> table();

struct Description {
    std::uint16_t sw = 0;
    std::uint16_t value = 0; // matched entry's value and mask
    std::uint16_t mask = 0;
    Category category = Category::Unknown;
    std::optional<unsigned> param; // family parameter: 61xx bytes, 6Cxx exact Le, 63Cx tries
    std::string text;              // parameter filled in
    std::string text_ja;
    bool known = false; // false when only the catch-all matched
};

// The most specific entry (most mask bits set) that matches sw; always returns a description.
Description describe(std::uint16_t sw);

// ISO 7816-4 §5.1.3 class from SW1 alone (ignores the table's JPKI security refinement).
Category iso_category(std::uint16_t sw);

// "9000", "63C2": four upper-case hex digits.
std::string format(std::uint16_t sw);

// Where and why a pattern failed to parse (column is 1-based within the pattern text).
struct PatternError {
    std::size_t column = 0;
    std::string message;
};

// Expected-SW patterns for suites: "9000", "63Cx", "61xx", "6A82|6A86", "any" (or "*").
// Each alternative is 4 nibbles (hex digit, or x / X for any nibble), optionally split as "90 00".
class Pattern {
public:
    static std::optional<Pattern> parse(std::string_view text, PatternError* error = nullptr);
    // Throws harness::UsageError("pattern \"…\" column N: …").
    static Pattern parse_or_throw(std::string_view text);
    static Pattern any();
    static Pattern exact(std::uint16_t sw);

    bool matches(std::uint16_t sw) const;
    bool is_any() const { return any_; }
    std::string to_string() const; // canonical: "63Cx|6A82", "any"

    struct Alternative {
        std::uint16_t value = 0;
        std::uint16_t mask = 0xFFFF;
        bool operator==(const Alternative&) const = default;
    };
    const std::vector<Alternative>& alternatives() const { return alternatives_; }
    bool operator==(const Pattern&) const = default;

private:
    bool any_ = false;
    std::vector<Alternative> alternatives_;
};

} // namespace harness::sw
