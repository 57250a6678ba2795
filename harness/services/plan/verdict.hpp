#pragma once
// The verdict for one (reader, card type, interface): compatible / partial / incompatible /
// untested, with a diagnosis in English and Japanese that ties what failed to what is known of the
// reader (CCID descriptor: exchange level, message size, automatic PPS) and of the card (ATR TA1,
// response sizes). Each rule is a small pure function over the recorded results; see verdict.cpp.
#include "model/run.hpp"
#include "services/plan/plan.hpp"

#include <optional>
#include <string>
#include <vector>

namespace harness::plan {

// Everything that happened to one reader × card, as the CLI observed it.
struct Outcome {
    ReaderFacts reader;
    CardFacts card;
    // A card is known to be in the reader (a lab slot holds one) but pcscd reports it empty.
    bool card_seen = true;
    std::string presented_interface; // lab: contact / type_a / type_b; empty when unknown
    // SCardConnect (or reaching the reader at all) failed: the typed kind and pcsc-lite's text.
    std::optional<model::FailureKind> connect_failure;
    std::string connect_error;
    const model::Session* session = nullptr; // results; null when nothing ran
    bool card_back = false; // after a removal abort the card was present again (it bounced)
    // Steps that test an optional capability (their `requires` names extended_apdu, …): a failure
    // there makes the verdict partial, not incompatible.
    std::vector<std::string> optional_steps;
};

// One reason behind a verdict.
struct Cause {
    std::string code; // stable key, e.g. "message_too_long", "timeout_no_wtx"
    model::Compatibility effect = model::Compatibility::Incompatible;
    std::string en;
    std::string ja;
};

struct Judgement {
    model::Compatibility verdict = model::Compatibility::Untested;
    std::string diagnosis_en;
    std::string diagnosis_ja;
    std::vector<Cause> causes; // most telling first
};

Judgement judge(const Outcome& outcome);

// The transport or environment failure a step met (its typed kind, else its failing exchange's),
// None when it met none. Guard refusals and missing inputs are not failures of the transport.
model::FailureKind failure_of(const model::StepResult& step);
// The environment failure (pcscd, lab, disk) that voids an outcome: the session's, else the
// connect's; None when the environment held. Such an outcome is judged untested, never a reader
// verdict.
model::FailureKind environment_failure(const Outcome& outcome);

// A failure of the link to the reader (communication error, message too long, other transport
// error): what an unplugged reader's last exchange meets before pcscd drops the reader.
bool is_link_failure(model::FailureKind failure);
// The session's last failing step met a link failure: the run then asks pcscd whether the reader
// is still there (cli/run_session), and a session whose reader was found gone is incomplete
// (session failure ReaderGone), never the reader's fault.
bool ends_on_link_failure(const model::Session& session);

// Bytes of a response the command asked for (Ne + SW1 SW2) when the command parses; nullopt for
// redacted or malformed commands and commands without Le.
std::optional<std::size_t> expected_response_size(const std::string& command_hex);

// "short-APDU", "extended-APDU", "TPDU", "character"; Japanese forms in the _ja variant.
std::string level_text(ccid::ExchangeLevel level);
std::string level_text_ja(ccid::ExchangeLevel level);

} // namespace harness::plan
