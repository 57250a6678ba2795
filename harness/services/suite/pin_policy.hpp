#pragma once
// The one PIN policy (issue 8 §1). ONE classifier says whether a command can carry a PIN; the
// suite loader (every command-bearing action), the runtime PIN guard and the redactor all ask it,
// so they cannot disagree. The trust a session gives its card is decided here too, from facts
// read fresh at the start of that session.
#include "model/card_identity.hpp"
#include "pure/bytes.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::suite {

struct HexTemplate;

// ---- Which commands can carry a PIN --------------------------------------------------------
// ISO 7816-4 §11.5 and GSM 11.11 §9.2 (CLA A0): the instruction decides, in ANY class —
// interindustry (00-7F, including logical channels, secure messaging and command chaining),
// proprietary (80-FE: JPKI 80, GSM A0, PC/SC pseudo-APDUs FF) — and in both the even and the odd
// (BER-TLV data) form of the INS.
enum class PinCommandKind {
    None,                    // an instruction that does not carry reference data
    Verify,                  // VERIFY 20 / 21 (GSM VERIFY CHV A0 20)
    ChangeReference,         // CHANGE REFERENCE DATA 24 / 25 (GSM CHANGE CHV)
    VerificationRequirement, // DISABLE 26/27, ENABLE 28/29 VERIFICATION REQUIREMENT (GSM CHV)
    ResetRetryCounter,       // RESET RETRY COUNTER 2C / 2D (GSM UNBLOCK CHV)
    Envelope,                // ENVELOPE C2 / C3 (and PC/SC FF C2): wraps any command, VERIFY too
    Unknown,                 // a suite template whose instruction is a ${variable}
};
const char* to_string(PinCommandKind kind);

struct PinCommand {
    PinCommandKind kind = PinCommandKind::None;
    // A body follows the header that can hold a secret: a data field (Lc), or bytes that do not
    // parse as an APDU. A case-1 header, or a case-2 header with Le only, cannot.
    bool carries_data = false;
    // CLA 00 exactly: interindustry, basic channel, no secure messaging, no chaining.
    bool plain = false;
    // The even INS with P1 00, P2 80 (ISO 7816-4 §11.5.6: specific reference data of the
    // currently selected EF), the only form the guard ever sends a PIN in.
    bool current_ef_reference = false;

    // The command may hold a PIN, or a command around one: a suite must not hold it, the
    // redactor never stores its body, the guard sends it only after its checks.
    bool sensitive() const {
        return kind == PinCommandKind::Unknown ||
               (kind != PinCommandKind::None && (carries_data || kind == PinCommandKind::Envelope));
    }
    // The retry-counter query (VERIFY without data, domain.md §4): spends no try.
    bool counter_query() const { return kind == PinCommandKind::Verify && !carries_data; }
};

// Never throws: any bytes have a classification.
PinCommand classify_pin_command(ByteView command);
// A suite's hex template: the instruction must be literal; every ${var} after the header counts
// as data.
PinCommand classify_pin_command(const HexTemplate& command);
// The case-N command a transport sweep sends (what classify sees for its first length).
PinCommand classify_sweep(std::uint8_t cla, std::uint8_t ins, int apdu_case);

// ---- Which card the guard trusts ------------------------------------------------------------
enum class CardTrust {
    EmulatedTest, // an emulated test card of the lab: every PIN test may run
    DeclaredTest, // a physical card the user declared a test card (`--test-card ID`, strong id)
    Physical,     // a citizen's card, or anything unknown: guarded (the lab's citizen cards too)
};
const char* to_string(CardTrust trust);

// A lab slot as `lab status` describes it at one moment.
struct LabSlotFacts {
    std::optional<std::string> card; // card profile, nullopt = empty slot
    bool citizen = false;
    std::optional<std::uint64_t> generation; // bumped by every insert/remove (when reported)
    bool operator==(const LabSlotFacts&) const = default;
};

// Everything the trust decision reads, all of it gathered for THIS session: the lab's status
// read when the session connected and again after identification (a card swapped in between
// shows as a difference), and the identity this session's `identify` computed.
struct TrustFacts {
    bool lab_reader = false; // the reader is a slot of a lab we talk to
    std::optional<LabSlotFacts> lab_at_connect;
    std::optional<LabSlotFacts> lab_after_identify;
    std::string card_id;
    model::CardIdStrength card_id_strength = model::CardIdStrength::None;
    std::vector<std::string> declared_test_cards; // `--test-card` ids (already checked strong)
};

struct TrustDecision {
    CardTrust trust = CardTrust::Physical;
    std::string why; // one English line for logs and the session cause
};

// Fails closed: EmulatedTest only when both lab reads agree on a non-citizen card in the slot
// (same insertion); DeclaredTest only for a strong card id the user declared; else Physical.
TrustDecision decide_trust(const TrustFacts& facts);

} // namespace harness::suite
