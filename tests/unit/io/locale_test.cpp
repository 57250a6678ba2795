// io::locale: the default of every --lang from LC_ALL / LC_MESSAGES / LANG.
#include "io/locale.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <optional>
#include <string>

using harness::io::language_of_locale;
using harness::io::locale_language;

namespace {

struct Locale {
    Locale(const char* all, const char* messages, const char* lang) {
        set("LC_ALL", all);
        set("LC_MESSAGES", messages);
        set("LANG", lang);
    }
    static void set(const char* name, const char* value) {
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(locale_names) {
    BOOST_TEST(language_of_locale("ja_JP.UTF-8").value_or("none") == "ja");
    BOOST_TEST(language_of_locale("ja_JP.eucJP").value_or("none") == "ja");
    BOOST_TEST(language_of_locale("ja").value_or("none") == "ja");
    BOOST_TEST(language_of_locale("ja_JP@cjknarrow").value_or("none") == "ja");
    BOOST_TEST(language_of_locale("en_US.UTF-8").value_or("none") == "en");
    BOOST_TEST(language_of_locale("de_DE").value_or("none") == "en");
    BOOST_TEST(!language_of_locale("C"));
    BOOST_TEST(!language_of_locale("C.UTF-8"));
    BOOST_TEST(!language_of_locale("POSIX"));
    BOOST_TEST(!language_of_locale(""));
    BOOST_TEST(language_of_locale("jax_YZ").value_or("none") == "en");
}

BOOST_AUTO_TEST_CASE(posix_order_lc_all_then_lc_messages_then_lang) {
    Locale(nullptr, nullptr, "ja_JP.UTF-8");
    BOOST_TEST(locale_language().value_or("none") == "ja");
    Locale(nullptr, "en_US.UTF-8", "ja_JP.UTF-8");
    BOOST_TEST(locale_language().value_or("none") == "en");
    Locale("ja_JP.UTF-8", "en_US.UTF-8", "en_US.UTF-8");
    BOOST_TEST(locale_language().value_or("none") == "ja");
    // LC_ALL=C overrides a Japanese LANG: no preference, the command's fallback decides.
    Locale("C", nullptr, "ja_JP.UTF-8");
    BOOST_TEST(!locale_language());
    // Set but empty counts as unset.
    Locale("", "", "ja_JP.UTF-8");
    BOOST_TEST(locale_language().value_or("none") == "ja");
    Locale(nullptr, nullptr, nullptr);
    BOOST_TEST(!locale_language());
}
