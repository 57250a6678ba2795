#pragma once
// Where PINs come from (issue 4 §3): a PIN file (`--pins FILE`, CSV `pin,value`), environment
// variables, or a no-echo prompt; never a command-line argument. Values stay in memory only.
#include "services/suite/actions.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace harness::suite {

// The longest PIN format is the JPKI signing password: 6-16 characters (domain.md §5). A longer
// value from a file, the environment or the prompt is refused before anything is sent.
inline constexpr std::size_t max_pin_value_length = 16;
inline constexpr std::size_t max_pin_file_bytes = 64 * 1024;

class PinSource {
public:
    void set(PinName pin, std::string value) { values_[pin] = std::move(value); }
    std::optional<std::string> get(PinName pin) const;
    bool has(PinName pin) const { return values_.count(pin) != 0; }
    bool empty() const { return values_.empty(); }
    // Every supplied value (for the redactor's secrets).
    std::vector<std::string> values() const;
    // Fills PINs missing here from `other`.
    void merge(const PinSource& other);

private:
    std::map<PinName, std::string> values_;
};

// CSV with a `pin,value` header; names auth, sign, text, juki; `#` comments and blank lines.
// Throws ConfigError "file:line:column: expected …" (never echoing a value).
PinSource load_pin_file(const std::filesystem::path& file);
// Parses PIN file text (the file name is used in messages).
PinSource parse_pin_file(const std::string& text, const std::string& file_name);

// CARDHARNESS_PIN_AUTH, CARDHARNESS_PIN_SIGN, CARDHARNESS_PIN_TEXT, CARDHARNESS_PIN_JUKI.
std::string pin_environment_variable(PinName pin);
PinSource pins_from_environment();

// Asks for one PIN on the controlling terminal (/dev/tty) with echo off; nullopt when there is no
// terminal or the answer is empty. The JPKI signing password is upper-cased (as clients do).
std::optional<std::string> prompt_pin(PinName pin);

} // namespace harness::suite
