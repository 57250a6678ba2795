#include "cli/lang.hpp"

#include "io/locale.hpp"

#include <fmt/core.h>

namespace harness::cli {

CLI::Option* add_lang_option(CLI::App* cmd, std::string& lang, std::string_view what,
                             std::string_view fallback) {
    return cmd
        ->add_option("--lang", lang,
                     fmt::format("{}: ja or en (default: from the locale, LC_ALL / LC_MESSAGES / "
                                 "LANG=ja_JP… gives ja; {} when the locale is C or unset)",
                                 what, fallback))
        ->check(CLI::IsMember({"ja", "en"}));
}

std::string resolve_lang(const std::string& given, std::string_view fallback) {
    if (!given.empty())
        return given;
    if (auto locale = io::locale_language())
        return *locale;
    return std::string(fallback);
}

} // namespace harness::cli
