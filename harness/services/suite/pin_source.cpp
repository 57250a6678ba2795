#include "services/suite/pin_source.hpp"

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

namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

// Column (1-based) of the first non-blank character at or after `from`.
std::size_t column_of(std::string_view line, std::size_t from) {
    while (from < line.size() && (line[from] == ' ' || line[from] == '\t'))
        ++from;
    return from + 1;
}

} // namespace

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
    PinSource pins;
    std::istringstream in(text);
    std::string raw;
    std::size_t line_no = 0;
    bool header_seen = false;
    std::vector<PinName> seen;
    const auto fail = [&](std::size_t column, const std::string& what) {
        throw ConfigError(fmt::format("{}:{}:{}: expected {}", file_name, line_no, column, what));
    };
    while (std::getline(in, raw)) {
        ++line_no;
        const std::string_view line = raw;
        const std::string_view body = trim(line);
        if (body.empty() || body.front() == '#')
            continue;
        const std::size_t comma = line.find(',');
        if (comma == std::string_view::npos)
            fail(line.size() + 1,
                 header_seen ? "\",<value>\" after the PIN name" : "the header \"pin,value\"");
        const std::string_view first = trim(line.substr(0, comma));
        std::string_view second = trim(line.substr(comma + 1));
        if (!header_seen) {
            if (first != "pin")
                fail(column_of(line, 0), "the header \"pin,value\"");
            if (second != "value")
                fail(column_of(line, comma + 1), "the header \"pin,value\"");
            header_seen = true;
            continue;
        }
        const auto name = pin_name_from(first);
        if (!name)
            fail(column_of(line, 0), "a PIN name: auth, sign, text or juki");
        if (std::find(seen.begin(), seen.end(), *name) != seen.end())
            fail(column_of(line, 0), fmt::format("each PIN once (\"{}\" repeats)", first));
        if (second.size() >= 2 && second.front() == '"' && second.back() == '"')
            second = second.substr(1, second.size() - 2);
        if (second.empty())
            fail(column_of(line, comma + 1), "a PIN value");
        if (second.find(',') != std::string_view::npos)
            fail(column_of(line, comma + 1), "one value per line (no second comma)");
        seen.push_back(*name);
        pins.set(*name, std::string(second));
    }
    if (!header_seen)
        throw ConfigError(
            fmt::format("{}:{}:1: expected the header \"pin,value\"", file_name, line_no + 1));
    return pins;
}

PinSource load_pin_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ConfigError(fmt::format("{}:1:1: expected a readable PIN file", file.string()));
    std::ostringstream text;
    text << in.rdbuf();
    return parse_pin_file(text.str(), file.string());
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
        if (value != nullptr && *value != '\0')
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
    while (::read(fd, &c, 1) == 1 && c != '\n' && c != '\r')
        answer.push_back(c);
    ::tcsetattr(fd, TCSAFLUSH, &saved);
    (void)!::write(fd, "\n", 1);
    ::close(fd);
    if (answer.empty())
        return std::nullopt;
    if (pin == PinName::Sign)
        for (auto& ch : answer)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return answer;
}

} // namespace harness::suite
