#include "io/locale.hpp"

#include <cstdlib>

namespace harness::io {

std::optional<std::string> language_of_locale(std::string_view locale) {
    // language[_territory][.codeset][@modifier]
    const auto language = locale.substr(0, locale.find_first_of("_.@"));
    if (language.empty() || language == "C" || language == "POSIX")
        return std::nullopt;
    if (language == "ja")
        return "ja";
    return "en";
}

std::optional<std::string> locale_language() {
    for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"})
        if (const char* value = std::getenv(name); value && *value)
            return language_of_locale(value);
    return std::nullopt;
}

} // namespace harness::io
