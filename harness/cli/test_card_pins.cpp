#include "cli/test_card_pins.hpp"

namespace harness::cli {

suite::PinSource test_card_pins(const std::optional<emu::Persona>& persona,
                                const std::string& card_type) {
    suite::PinSource pins;
    if (!persona)
        return pins;
    const auto put = [&](suite::PinName name, const char* field) {
        if (persona->has(field))
            pins.set(name, persona->get(field));
    };
    put(suite::PinName::Auth, "pin_auth");
    put(suite::PinName::Sign, card_type == "juki" ? "pin_juki_sign" : "pin_sign");
    put(suite::PinName::Text, "pin_text");
    put(suite::PinName::Juki, "pin_juki_ap");
    return pins;
}

} // namespace harness::cli
