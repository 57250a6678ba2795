#pragma once
// `--lang ja|en` of every command. Its default comes from the locale (io::locale_language():
// LC_ALL, LC_MESSAGES, LANG = ja_JP… → ja), else from the command's own fallback.
#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

namespace harness::cli {

// Adds --lang (ja or en) bound to `lang`, which stays empty when the option is not given.
// `fallback` says in the help what is used when neither --lang nor the locale decides.
CLI::Option* add_lang_option(CLI::App* cmd, std::string& lang, std::string_view what,
                             std::string_view fallback);

// The given --lang, else the locale's language, else `fallback` ("ja" or "en").
std::string resolve_lang(const std::string& given, std::string_view fallback);

} // namespace harness::cli
