#pragma once
// The plan of a run for one reader × card: which suites to run, and which capabilities the reader
// and card have (the tokens a step's `requires` is checked against). Pure: takes the facts the CLI
// gathered (CCID descriptor, PC/SC attributes, identification, PIN sources), returns values.
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::plan {

// What is known of the reader: its CCID descriptor (from USB, or the lab model), PC/SC attributes
// and the interfaces it has (lab models; empty when unknown).
struct ReaderFacts {
    std::string name;                                // PC/SC name
    std::string model;                               // lab reader model id, empty for hardware
    std::optional<ccid::Descriptor> descriptor;      // CCID §5.1
    std::optional<std::uint32_t> max_input;          // SCARD_ATTR_MAXINPUT
    std::optional<std::uint32_t> max_apdu_data_size; // PC/SC part 10 TLV dwMaxAPDUDataSize
    std::vector<std::string> interfaces;             // "contact", "type_a", "type_b"
};

struct CardFacts {
    std::string card_type; // mynumber, juki, transport, jpki_phone, iso7816_unknown, no_card
    std::string interface; // contact, contactless
    Bytes atr;
    bool emulated = false;
    bool test_card = false;
};

// The reader's CCID exchange level when known ("tpdu", "short_apdu", "extended_apdu", …).
std::optional<ccid::ExchangeLevel> exchange_level(const ReaderFacts& reader);
// Largest command or response one reader message carries (dwMaxCCIDMessageLength − 10, else
// SCARD_ATTR_MAXINPUT); nullopt when unknown.
std::optional<std::size_t> max_block(const ReaderFacts& reader);
// The card advertises extended Lc/Le in its ATR (ISO 7816-4 §8.1.1.2.7 third software function
// table, b7).
bool card_extended_length(ByteView atr);
// Extended APDUs can pass reader and card: the card advertises them, and the reader is extended
// level, or TPDU level with T=1 (the driver runs T=1 blocks), or says dwMaxAPDUDataSize > 0.
bool extended_apdu(const ReaderFacts& reader, const CardFacts& card);

// The largest Le of one short READ BINARY the reader's reported limits carry: 256, or less on a
// short-APDU reader (or one of unknown level) whose message limit cannot hold 256 bytes + SW1 SW2.
// Real clients size their reads so; a signature's size is the card's and no client can shrink it.
std::size_t max_short_le(const ReaderFacts& reader);

// Requirement tokens that name an optional capability (extended_apdu, le_256): a step that needs
// one tests that capability, and its failure alone makes a verdict partial, not incompatible.
bool is_capability_requirement(std::string_view token);

// The capability tokens (sorted, unique): contact | contactless, extended_apdu, le_256 (a 258-byte
// short response fits, max_short_le() == 256), test_card, emulated, card:<type>, pin:<name> for
// each supplied PIN.| contactless, extended_apdu, test_card,
// emulated, card:<type>, pin:<name> for each supplied PIN. Tokens a `requires` cell may name.
std::vector<std::string> capabilities(const ReaderFacts& reader, const CardFacts& card,
                                      const std::vector<std::string>& supplied_pins);

// Requirements not met by the capabilities, in order.
std::vector<std::string> missing(const std::vector<std::string>& requirements,
                                 const std::vector<std::string>& capabilities);

// The suites for a card: `identify` always; mynumber → jpki-mynumber (+ pin-behaviour on test
// cards); juki → juki (+ pin-behaviour on test cards); transport → transport. With `requested`
// (--suite), exactly those. Only ids in `available` are returned (when `available` is not empty).
std::vector<std::string> choose_suites(const CardFacts& card,
                                       const std::vector<std::string>& requested,
                                       const std::vector<std::string>& available);

// One cell of the compatibility matrix: a card type on an interface, the lab card profile that
// stands for it and how the lab presents it ("contact", "type_b").
struct MatrixCell {
    std::string card_type; // mynumber, juki
    std::string interface; // contact, contactless
    std::string profile;   // profiles/cards/cards.csv
    std::string presented; // contact, type_a, type_b
    friend bool operator==(const MatrixCell&, const MatrixCell&) = default;
};

// Every card a reader is tested with in a lab matrix run (`run --lab --all`): the My Number and the
// Juki card, each on the contact interface and contactless (Type B, as both cards are). The card
// the lab file put in the slot (`slot_card` presented as `slot_presented`) stands for its cell
// (e.g. a slow-signing My Number card) and comes first: no card is swapped before it. A reader
// that lacks an interface is still given the card there: that it cannot take it is its result.
std::vector<MatrixCell> matrix_cells(const std::optional<std::string>& slot_card,
                                     std::string_view slot_presented);

// Card type of a lab card profile name (its family): "mynumber-slow" → "mynumber",
// "juki-contactless" → "juki", "transport" → "transport"; others unchanged.
std::string card_type_of_profile(std::string_view profile);
// "contact" for contact, "contactless" for type_a / type_b.
std::string card_interface_of(std::string_view presented);

} // namespace harness::plan
