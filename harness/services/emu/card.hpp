#pragma once
// Emulated cards for the virtual lab: My Number, Juki and transport test cards built from the
// profiles in profiles/cards/. Each implements io::VirtualCard; the lab, the vpcd client and
// in-process channels use them through that interface.
#include "io/virtual_card.hpp"
#include "pure/bytes.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace harness::emu {

// profiles/cards/ of the source tree, or $CARDHARNESS_PROFILES_DIR/cards when set.
std::filesystem::path default_profiles_dir();
// results/pki/ of the source tree, or $CARDHARNESS_PKI_DIR when set.
std::filesystem::path default_pki_dir();

struct Options {
    std::filesystem::path profiles_dir = default_profiles_dir();
    std::filesystem::path pki_dir = default_pki_dir();
    std::filesystem::path persona_file; // empty: <profiles_dir>/persona.csv
    // A citizen card presents itself like a real one (JPKI-style certificate names, no TEST
    // marker); the default is a test card. For testing the runner's PIN guard on the real path.
    bool citizen = false;
};

// The persistent part of a card: retry counters (a counter of 0 is a blocked PIN). Survives power
// cycles for the life of a lab; verification states and selections do not.
struct CardState {
    std::map<std::string, int> tries_left; // "<app>/<PIN EF>", e.g. "jpki/001B" -> 5

    // One line per PIN: "pin jpki/001B 5". from_text throws ConfigError on bad lines.
    std::string to_text() const;
    static CardState from_text(const std::string& text);
    bool operator==(const CardState&) const = default;
};

class Card : public io::VirtualCard {
public:
    ~Card() override;
    Bytes power_on() override;
    void power_off() override;
    Bytes reset(bool cold) override;
    Bytes atr() const override;
    // Throws io::TransportError(Unresponsive) when the card is not powered.
    io::CardResponse transmit(ByteView command) override;
    std::string profile_name() const override;

    bool powered() const;
    bool is_test_card() const;
    std::string family() const; // mynumber, juki, transport
    CardState state() const;
    // Unknown keys are ignored; counters are clamped to the PIN's maximum.
    void set_state(const CardState& state);
    void reset_state(); // factory state: every counter at its maximum

    struct Impl;
    explicit Card(std::unique_ptr<Impl> impl);

private:
    std::unique_ptr<Impl> impl_;
};

// Builds a card from a profile name (cards.csv: mynumber, mynumber-noext, mynumber-slow,
// mynumber-contactless, ..., juki, juki-contactless, transport). Generates the PKI on first use
// (a few seconds). Throws ConfigError for an unknown profile or bad profile data.
std::unique_ptr<Card> make_card(const std::string& profile, const Options& options = {});
std::vector<std::string> profile_names(const Options& options = {});

} // namespace harness::emu
