#pragma once
// The language a person asked for through the locale: the one place that decides the default of
// every command's --lang.
#include <optional>
#include <string>
#include <string_view>

namespace harness::io {

// "ja" for a Japanese locale name ("ja_JP.UTF-8", "ja"), nullopt for no preference ("", "C",
// "POSIX", "C.UTF-8"), "en" for any other locale (the text we have besides Japanese).
std::optional<std::string> language_of_locale(std::string_view locale);

// The locale that decides messages, in POSIX order: LC_ALL, else LC_MESSAGES, else LANG (the
// first one set and non-empty), then language_of_locale() of it.
std::optional<std::string> locale_language();

} // namespace harness::io
