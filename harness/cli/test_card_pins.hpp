#pragma once
// The PINs of the emulated test cards (profiles/cards/persona.csv), for `run` in the lab and
// `survey`: never a citizen's card (the PIN policy decides which card is a test card).
#include "services/emu/persona.hpp"
#include "services/suite/pin_source.hpp"

#include <optional>
#include <string>

namespace harness::cli {

// auth, sign, text and juki for `card_type`; the Juki card signs with its own PIN
// (pin_juki_sign). Empty without a persona; a field the persona lacks stays unset.
suite::PinSource test_card_pins(const std::optional<emu::Persona>& persona,
                                const std::string& card_type);

} // namespace harness::cli
