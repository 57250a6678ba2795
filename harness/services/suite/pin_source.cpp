#include "services/suite/pin_source.hpp"

#include "io/csv.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/core.h>
#include <fstream>
#include <sstream>
#include <termios.h>
#include <unistd.h>

namespace harness::suite {

std::optional<std::string> PinSource::get(PinName pin) const {
    const auto it = values_.find(pin);
    if (it == values_.end())
        return std::nullopt;
    return it->second;
}

std::vector<std::string> PinSource::values() const {
    std::vector<std::string> out;
    for (const auto& [pin, value] : values_)
        out.push_back(value);
    return out;
}

void PinSource::merge(const PinSource& other) {
    for (const auto& [pin, value] : other.values_)
        values_.try_emplace(pin, value);
}

PinSource parse_pin_file(const std::string& text, const std::string& file_name) {
    // Quiet: no message ever repeats a cell of a PIN file (a swapped column holds a PIN).
    const auto table = io::csv::parse_or_throw(text, file_name, {"pin", "value"},
                                               {.what = "PIN file", .secret = true});
    PinSource pins;
    std::vector<PinName> seen;
    for (const auto& row : table.rows()) {
        const auto name = pin_name_from(row.cells[0]);
        if (!name)
            table.fail_quiet(row, 0, "a PIN name: auth, sign, text or juki");
        if (std::find(seen.begin(), seen.end(), *name) != seen.end())
            table.fail_quiet(row, 0,
                             fmt::format("each PIN once (\"{}\" repeats)", to_string(*name)));
        const std::string& value = row.cells[1];
        if (value.empty())
            table.fail_quiet(row, 1, "a PIN value");
        if (value.size() > max_pin_value_length)
            table.fail_quiet(row, 1,
                             fmt::format("a PIN value of at most {} characters (this one has {})",
                                         max_pin_value_length, value.size()));
        seen.push_back(*name);
        pins.set(*name, value);
    }
    return pins;
}

PinSource load_pin_file(const std::filesystem::path& file) {
    return parse_pin_file(io::read_text_file(file, "PIN file", max_pin_file_bytes), file.string());
}

std::string pin_environment_variable(PinName pin) {
    std::string name = to_string(pin);
    for (auto& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return "CARDHARNESS_PIN_" + name;
}

PinSource pins_from_environment() {
    PinSource pins;
    for (const PinName pin : {PinName::Auth, PinName::Sign, PinName::Text, PinName::Juki}) {
        const char* value = std::getenv(pin_environment_variable(pin).c_str());
        if (value == nullptr || *value == '\0')
            continue;
        if (std::string_view(value).size() > max_pin_value_length)
            throw UsageError(fmt::format("{}: expected a PIN value of at most {} characters",
                                         pin_environment_variable(pin), max_pin_value_length));
        pins.set(pin, value);
    }
    return pins;
}

std::optional<std::string> prompt_pin(PinName pin) {
    const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    termios saved{};
    if (::tcgetattr(fd, &saved) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    const std::string question = fmt::format("PIN {} (not echoed): ", to_string(pin));
    (void)!::write(fd, question.data(), question.size());
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
    std::string answer;
    char c = 0;
    bool too_long = false;
    while (::read(fd, &c, 1) == 1 && c != '\n' && c != '\r') {
        if (answer.size() < max_pin_value_length)
            answer.push_back(c);
        else
            too_long = true;
    }
    ::tcsetattr(fd, TCSAFLUSH, &saved);
    (void)!::write(fd, "\n", 1);
    ::close(fd);
    if (too_long)
        throw UsageError(fmt::format("PIN {}: expected at most {} characters", to_string(pin),
                                     max_pin_value_length));
    if (answer.empty())
        return std::nullopt;
    if (pin == PinName::Sign)
        for (auto& ch : answer)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return answer;
}

} // namespace harness::suite
