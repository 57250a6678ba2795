#pragma once
// Card profiles as data (profiles/cards/*.csv, see profiles/cards/README.md): a card is a file
// system, PINs, keys and behaviours selected by profile fields. My Number vs Juki differ by data.
#include "pure/bytes.hpp"
#include "services/emu/pki.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace harness::emu {

enum class SelectFci { Fci, None, Reject }; // answer to SELECT with P2=00 (FCI/FCP requested)

struct AppSpec {
    std::string name;        // jpki, text, visual, juki_ap, transport
    std::vector<Bytes> aids; // one or more AIDs select the same application
    std::string kind;        // "files" (file system) or "transport" (test commands)
};

struct FileSpec {
    std::string app;
    std::uint16_t fid = 0;
    std::optional<std::size_t> size; // EF size; content padded with `pad` up to it
    std::string content;             // text:/hex:/cert:/persona: (README.md)
    std::uint8_t pad = 0x20;
    std::optional<std::uint16_t> read_pin; // PIN EF that must be verified to read
};

struct PinSpec {
    std::string app;
    std::uint16_t fid = 0;
    std::string charset; // digits, upper_alnum, alnum (informational; the card compares bytes)
    std::size_t min_len = 0, max_len = 0;
    int max_tries = 0;
    std::string value; // persona:<field> or literal:<value>
};

struct KeySpec {
    std::string app;
    std::uint16_t fid = 0;
    std::string key;       // PKI key name (auth, sign, juki_sign)
    std::uint16_t pin = 0; // PIN EF that must be verified to use it
};

struct CommandSpec {
    std::uint8_t cla = 0, ins = 0;
    std::string action; // case1..case4, delay, provoke_61, provoke_6c
};

struct Timings {
    std::chrono::microseconds select{0}, read{0}, verify{0}, sign{0}, other{0};
};

struct CardProfile {
    std::string name, family, interface, description;
    Bytes atr;
    bool extended_length = false;
    SelectFci select_fci = SelectFci::Fci;
    std::uint16_t past_end_sw = 0x6B00;   // READ BINARY at or past the end of the EF
    std::uint16_t short_read_sw = 0x9000; // READ BINARY that returns fewer than Ne bytes
    std::uint16_t unknown_file_sw = 0x6A82;
    std::uint16_t bad_p1p2_sw = 0x6A86;
    std::string default_app; // selected at power-on (empty: none)
    Timings timings;
    std::vector<AppSpec> apps;
    std::vector<FileSpec> files;
    std::vector<PinSpec> pins;
    std::vector<KeySpec> keys;
    std::vector<CommandSpec> commands;
};

// Reads cards.csv, applications.csv, files.csv, pins.csv, keys.csv, commands.csv from `dir`.
// Throws ConfigError (file:line:column: expected ...) on bad data or an unknown profile name.
CardProfile load_profile(const std::filesystem::path& dir, const std::string& name);
std::vector<std::string> list_profiles(const std::filesystem::path& dir);
// san.csv: which persona fields go into the signature certificate's SubjectAltName.
std::vector<SanField> load_san_fields(const std::filesystem::path& dir);

} // namespace harness::emu
