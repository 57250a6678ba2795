#pragma once
// The fictitious persona whose data the emulated cards carry (profiles/cards/persona.csv). Every
// value is a unique canary so privacy tests can grep all outputs for it.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace harness::emu {

struct Persona {
    std::map<std::string, std::string> fields; // field -> value (UTF-8)

    // Throws harness::ConfigError naming the file when the field is missing.
    const std::string& get(const std::string& field) const;
    bool has(const std::string& field) const { return fields.count(field) != 0; }
    std::filesystem::path source;
};

// Loads `field,value` rows; checks my_number (12 digits, valid check digit) when present.
Persona load_persona(const std::filesystem::path& file);

// Personal data values of a persona (name, address, birth date, My Number, PINs, ...): what a
// privacy test greps every output for. Only values of 8 characters or more (a 4-digit PIN such as
// 1234 or the sex code would match by chance).
std::vector<std::string> canary_values(const Persona& persona);

// My Number check digit (番号法施行令 §8): digits P1..P11 counted from the right, weights
// Qn = n+1 (n <= 6) or n-5 (n >= 7); r = sum mod 11; digit = r <= 1 ? 0 : 11 - r.
// `first11` must be 11 ASCII digits; returns -1 otherwise.
int my_number_check_digit(std::string_view first11);
bool is_valid_my_number(std::string_view number);

} // namespace harness::emu
