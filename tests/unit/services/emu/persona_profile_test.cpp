#include "pure/error.hpp"
#include "services/emu/card.hpp"
#include "services/emu/persona.hpp"
#include "services/emu/profile.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <unistd.h>

using namespace harness;
using namespace harness::emu;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path =
            std::filesystem::temp_directory_path() /
            ("cardharness-emu-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    static int& counter() {
        static int n = 0;
        return n;
    }
    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
    }
};

// Copies the shipped profiles into a temp dir so one file can be broken at a time.
TempDir copy_of_profiles() {
    TempDir dir;
    for (const auto& entry : std::filesystem::directory_iterator(default_profiles_dir()))
        std::filesystem::copy_file(entry.path(), dir.path / entry.path().filename());
    return dir;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(my_number_check_digit_follows_the_rule) {
    // Worked by hand: digits from the right 1,0,9,8,7,6,5,4,3,2,1 x weights 2..7,2..6 = 212;
    // 212 mod 11 = 3; 11 - 3 = 8.
    BOOST_TEST(my_number_check_digit("12345678901") == 8);
    BOOST_TEST(is_valid_my_number("123456789018"));
    BOOST_TEST(!is_valid_my_number("123456789017"));
    BOOST_TEST(my_number_check_digit("00000000000") == 0); // remainder 0 -> 0
    BOOST_TEST(my_number_check_digit("00000000001") == 9); // 1*2 = 2 -> 11 - 2
    BOOST_TEST(my_number_check_digit("00000100000") == 4); // P6 weight 7: 11 - 7
    BOOST_TEST(my_number_check_digit("1234567890") == -1);
    BOOST_TEST(my_number_check_digit("1234567890A") == -1);
    BOOST_TEST(!is_valid_my_number("12345678901"));
}

BOOST_AUTO_TEST_CASE(shipped_persona_is_valid_and_full_of_canaries) {
    const Persona persona = load_persona(default_profiles_dir() / "persona.csv");
    BOOST_TEST(is_valid_my_number(persona.get("my_number")));
    BOOST_TEST(persona.get("name").find("CANARY-") != std::string::npos);
    BOOST_TEST(persona.get("address").find("CANARY-") != std::string::npos);
    BOOST_TEST(persona.get("pin_sign") == "CARD2026");
    BOOST_TEST(persona.get("pin_juki_sign") == "JUKI2026");
    BOOST_TEST(persona.get("pin_auth") == "1234");
    const auto canaries = canary_values(persona);
    BOOST_TEST(std::count(canaries.begin(), canaries.end(), persona.get("my_number")) == 1);
    BOOST_CHECK_THROW(persona.get("no_such_field"), ConfigError);
}

BOOST_AUTO_TEST_CASE(persona_errors_name_file_line_and_column) {
    TempDir dir;
    dir.write("p.csv", "field,value\nname,x\nmy_number,123456789017\n");
    const std::string e1 = error_of([&] { load_persona(dir.path / "p.csv"); });
    BOOST_TEST(e1.find("p.csv:3:11: expected 12 digits with a valid My Number check digit") !=
                   std::string::npos,
               e1);
    dir.write("q.csv", "field,value\nname,x\nname,y\n");
    const std::string e2 = error_of([&] { load_persona(dir.path / "q.csv"); });
    BOOST_TEST(e2.find("q.csv:3:1: expected each field once") != std::string::npos, e2);
    dir.write("r.csv", "field,valu\n");
    const std::string e3 = error_of([&] { load_persona(dir.path / "r.csv"); });
    BOOST_TEST(e3.find("r.csv:") != std::string::npos, e3);
    BOOST_TEST(error_of([&] { load_persona(dir.path / "missing.csv"); }).find("missing.csv:1:1") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_shipped_profile_loads_and_its_atr_checksum_holds) {
    const auto names = list_profiles(default_profiles_dir());
    for (const char* required : {"mynumber", "mynumber-contactless", "mynumber-noext",
                                 "mynumber-slow", "juki", "juki-contactless", "transport"})
        BOOST_TEST(std::count(names.begin(), names.end(), required) == 1, required);
    for (const auto& name : names) {
        const CardProfile p = load_profile(default_profiles_dir(), name);
        BOOST_TEST(!p.apps.empty(), name);
        // ISO 7816-3 §8.2.5: with T=1 announced, the XOR of T0..TCK is 0.
        std::uint8_t x = 0;
        for (std::size_t i = 1; i < p.atr.size(); ++i)
            x = static_cast<std::uint8_t>(x ^ p.atr[i]);
        BOOST_TEST(x == 0, name);
    }
    const CardProfile juki = load_profile(default_profiles_dir(), "juki");
    BOOST_TEST(!juki.extended_length);
    BOOST_TEST(juki.apps.size() == 2u);
    const CardProfile mn = load_profile(default_profiles_dir(), "mynumber");
    BOOST_TEST(mn.apps.size() == 4u);
    BOOST_TEST(mn.apps[3].aids.size() == 2u); // the Juki AP answers both candidate AIDs
}

BOOST_AUTO_TEST_CASE(unknown_profile_is_a_config_error) {
    const std::string e = error_of([] { make_card("no-such-card"); });
    BOOST_TEST(e.find("cards.csv:1:1: expected a row for profile \"no-such-card\"") !=
                   std::string::npos,
               e);
}

BOOST_AUTO_TEST_CASE(profile_errors_point_at_the_cell) {
    struct Case {
        const char* file;
        const char* bad_row;
        const char* expected;
    };
    for (auto [file, bad_row, expected] : {
             Case{"cards.csv", "broken,mynumber,contact,3B ZZ,yes,fci,6B00,9000,,1,1,1,1,1,x",
                  ": expected hex bytes (2 to 33) in column atr"},
             Case{"cards.csv", "broken,mynumber,contact,3B 00,maybe,fci,6B00,9000,,1,1,1,1,1,x",
                  ": expected yes or no in column extended_length"},
             Case{"cards.csv", "broken,mynumber,contact,3B 00,yes,fci,6B00,9000,,1,1,-3,1,1,x",
                  ": expected milliseconds (0 to 600000) in column verify_ms"},
             Case{"pins.csv", "mynumber,jpki,0019,digits,4,4,99,literal:1",
                  ": expected a whole number from 1 to 15 in column max_tries"},
             Case{"files.csv", "mynumber,nowhere,0009,,,hex:00,",
                  ": expected an application listed in applications.csv"},
             Case{"files.csv", "mynumber,jpki,0009,,,blob:00,",
                  ": expected text:, hex:, cert: or persona: content"},
         }) {
        auto dir = copy_of_profiles();
        // Replace the file with its header, two comment lines and the bad row (line 4).
        std::ifstream in(dir.path / file);
        std::string header;
        while (std::getline(in, header) && header.rfind("#", 0) == 0) {
        }
        in.close();
        dir.write(file, header + "\n# comment\n# comment\n" + bad_row + "\n");
        const std::string profile = std::string(file) == "cards.csv" ? "broken" : "mynumber";
        const std::string e = error_of([&] { load_profile(dir.path, profile); });
        BOOST_TEST(e.find(expected) != std::string::npos, e);
        // file:line:column, column > 1 for cell errors
        const auto at = e.find(std::string(file) + ":4:");
        BOOST_TEST(at != std::string::npos, e);
        BOOST_TEST(std::atoi(e.c_str() + at + std::string(file).size() + 3) > 1, e);
    }
}

BOOST_AUTO_TEST_CASE(canaries_are_long_enough_not_to_match_by_chance) {
    const Persona persona = load_persona(default_profiles_dir() / "persona.csv");
    const auto canaries = canary_values(persona);
    for (const auto& value : canaries)
        BOOST_TEST(value.size() >= 8u, value);
    for (const char* field : {"name", "address", "my_number", "pin_sign", "pin_juki_sign"})
        BOOST_TEST(std::count(canaries.begin(), canaries.end(), persona.get(field)) == 1, field);
    BOOST_TEST(std::count(canaries.begin(), canaries.end(), "1234") == 0);
}
