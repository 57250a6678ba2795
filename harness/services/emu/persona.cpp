#include "services/emu/persona.hpp"

#include "io/csv.hpp"
#include "pure/error.hpp"

#include <algorithm>

namespace harness::emu {

const std::string& Persona::get(const std::string& field) const {
    auto it = fields.find(field);
    if (it == fields.end())
        throw ConfigError(source.string() + ":1:1: expected a row for persona field \"" + field +
                          "\"");
    return it->second;
}

int my_number_check_digit(std::string_view first11) {
    if (first11.size() != 11 ||
        !std::all_of(first11.begin(), first11.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return -1;
    int sum = 0;
    for (int n = 1; n <= 11; ++n) {
        const int p = first11[static_cast<std::size_t>(11 - n)] - '0';
        const int q = n <= 6 ? n + 1 : n - 5;
        sum += p * q;
    }
    const int r = sum % 11;
    return r <= 1 ? 0 : 11 - r;
}

bool is_valid_my_number(std::string_view number) {
    if (number.size() != 12)
        return false;
    const int digit = my_number_check_digit(number.substr(0, 11));
    return digit >= 0 && number[11] == static_cast<char>('0' + digit);
}

Persona load_persona(const std::filesystem::path& file) {
    const auto table = io::csv::read(file, {"field", "value"});
    Persona persona;
    persona.source = file;
    for (const auto& row : table.rows()) {
        const std::string& field = row.cells[0];
        if (field.empty())
            table.fail(row, "field", "a field name");
        if (!persona.fields.emplace(field, row.cells[1]).second)
            table.fail(row, "field", "each field once");
        if (field == "my_number" && !is_valid_my_number(row.cells[1]))
            table.fail(row, "value", "12 digits with a valid My Number check digit");
    }
    return persona;
}

std::vector<std::string> canary_values(const Persona& persona) {
    std::vector<std::string> out;
    for (const auto& [field, value] : persona.fields)
        if (value.size() >= 8)
            out.push_back(value);
    return out;
}

} // namespace harness::emu
