#pragma once
// Contact or contactless: THE rule (one place; `readers`, `identify` and `run` on the hardware
// path follow it). The reader's own word about its interfaces decides first: its lab model, the
// USB interface's name (iInterface "… PICC"), its PC/SC attribute SCARD_ATTR_VENDOR_IFD_TYPE or
// its PC/SC name ("ACS ACR39U ICC Reader" is a contact reader). Only when the reader says nothing
// (or says both: a dual reader) does the ATR's shape decide: a PC/SC part 3 pseudo-ATR (3B 8n 80
// 01 …) means contactless, any other ATR contact. A contact card can have an ATR of that shape
// (the transport test card's 3B 80 80 01 01 in an ACR39U), so the shape alone is never enough.
#include "pure/bytes.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::card_interface {

enum class Kind { Contact, Contactless };
const char* to_string(Kind kind); // "contact", "contactless"

// What one source says the reader (or the CCID interface the card sits in) has.
struct ReaderSays {
    bool contact = false;
    bool contactless = false;
    std::string source; // "lab_model", "usb_interface", "reader_attribute", "name"
};

// A name's words: PICC, Contactless, NFC, CL, RF → contactless; ICC, SAM, Contact → contact
// (whole words, any case); nullopt when it has none.
std::optional<ReaderSays> from_name(std::string_view name, std::string source);

// 3B 8n 80 01 …: the shape of a PC/SC part 3 §3.1.3.2.3 contactless pseudo-ATR.
bool has_pseudo_atr_shape(ByteView atr);

struct Decision {
    std::optional<Kind> kind;   // nullopt: nothing to go on (no word from the reader, no ATR)
    std::string from;           // the deciding source, or "atr"; "" when undecided
    bool atr_disagrees = false; // the reader decided and the ATR's shape says the other kind
};

// The first source (in the given order) that names exactly one kind decides; else the ATR.
Decision decide(const std::vector<ReaderSays>& reader, ByteView atr);

} // namespace harness::card_interface
