#include "services/suite/pin_policy.hpp"

#include "pure/apdu.hpp"
#include "services/suite/actions.hpp"

#include <algorithm>
#include <fmt/core.h>

namespace harness::suite {

namespace {

// The instruction decides, even or odd (ISO 7816-4 §5.1.2: an odd INS carries BER-TLV data).
PinCommandKind kind_of_ins(std::uint8_t ins) {
    switch (ins & 0xFE) {
    case 0x20:
        return PinCommandKind::Verify;
    case 0x24:
        return PinCommandKind::ChangeReference;
    case 0x26:
    case 0x28:
        return PinCommandKind::VerificationRequirement;
    case 0x2C:
        return PinCommandKind::ResetRetryCounter;
    case 0xC2:
        return PinCommandKind::Envelope;
    default:
        return PinCommandKind::None;
    }
}

} // namespace

const char* to_string(PinCommandKind kind) {
    switch (kind) {
    case PinCommandKind::None:
        return "none";
    case PinCommandKind::Verify:
        return "VERIFY";
    case PinCommandKind::ChangeReference:
        return "CHANGE REFERENCE DATA";
    case PinCommandKind::VerificationRequirement:
        return "ENABLE/DISABLE VERIFICATION REQUIREMENT";
    case PinCommandKind::ResetRetryCounter:
        return "RESET RETRY COUNTER";
    case PinCommandKind::Envelope:
        return "ENVELOPE";
    case PinCommandKind::Unknown:
        return "an unknown instruction";
    }
    return "unknown";
}

PinCommand classify_pin_command(ByteView command) {
    PinCommand out;
    if (command.size() < 2)
        return out; // no instruction byte
    out.kind = kind_of_ins(command[1]);
    if (out.kind == PinCommandKind::None)
        return out;
    out.plain = command[0] == 0x00;
    out.current_ef_reference = out.plain && command[1] == 0x20 && command.size() >= 4 &&
                               command[2] == 0x00 && command[3] == 0x80;
    if (command.size() > 4) {
        const apdu::ParseResult parsed = apdu::parse(command);
        // Unparsable bytes beyond a case-2 header may be a PIN all the same.
        out.carries_data = parsed.command ? !parsed.command->data.empty() : command.size() > 5;
    }
    return out;
}

PinCommand classify_pin_command(const HexTemplate& command) {
    if (const auto bytes = command.literal())
        return classify_pin_command(*bytes);
    Bytes header; // the literal bytes before the first ${var}
    for (const auto& segment : command.segments) {
        if (!segment.variable.empty())
            break;
        header.insert(header.end(), segment.literal.begin(), segment.literal.end());
    }
    PinCommand out;
    if (header.size() < 2) {
        out.kind = PinCommandKind::Unknown; // "${x} …": the instruction is not known here
        out.carries_data = true;
        return out;
    }
    out = classify_pin_command(header);
    if (out.kind != PinCommandKind::None)
        out.carries_data = true; // a ${var} after a PIN instruction's header is (or holds) data
    return out;
}

PinCommand classify_sweep(std::uint8_t cla, std::uint8_t ins, int apdu_case) {
    Bytes command{cla, ins, 0x00, 0x00};
    if (apdu_case == 2)
        command.push_back(0x01); // Le
    if (apdu_case >= 3) {
        command.push_back(0x01); // Lc, one pattern byte
        command.push_back(0x00);
    }
    return classify_pin_command(command);
}

const char* to_string(CardTrust trust) {
    switch (trust) {
    case CardTrust::EmulatedTest:
        return "emulated_test";
    case CardTrust::DeclaredTest:
        return "declared_test";
    case CardTrust::Physical:
        return "physical";
    }
    return "physical";
}

TrustDecision decide_trust(const TrustFacts& facts) {
    std::string lab_note;
    if (facts.lab_reader) {
        const auto& a = facts.lab_at_connect;
        const auto& b = facts.lab_after_identify;
        if (!a || !b)
            lab_note = "the lab's status could not be read for this session";
        else if (!(*a == *b))
            lab_note = "the lab slot's card changed while the session connected";
        else if (!a->card)
            lab_note = "the lab reports no card in the slot";
        else if (a->citizen)
            lab_note = fmt::format("the lab slot holds a citizen card ({})", *a->card);
        else
            return {CardTrust::EmulatedTest,
                    fmt::format("the lab slot holds the emulated test card {} (lab status read at "
                                "connect and after identification)",
                                *a->card)};
    }
    const bool declared =
        !facts.card_id.empty() &&
        std::find(facts.declared_test_cards.begin(), facts.declared_test_cards.end(),
                  facts.card_id) != facts.declared_test_cards.end();
    const std::string prefix = lab_note.empty() ? "" : lab_note + "; ";
    if (declared && facts.card_id_strength == model::CardIdStrength::Strong)
        return {CardTrust::DeclaredTest,
                prefix +
                    fmt::format("card {} was declared a test card (--test-card)", facts.card_id)};
    if (declared)
        return {CardTrust::Physical,
                prefix + fmt::format("card {} was declared a test card but its id is not "
                                     "card-unique: guarded as a citizen's card",
                                     facts.card_id)};
    return {CardTrust::Physical, prefix + "guarded as a citizen's card"};
}

} // namespace harness::suite
