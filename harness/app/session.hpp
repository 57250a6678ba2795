#pragma once
// The session service: plans and runs one reader × card session from value types (issue 10 §2).
// It composes services (identify, plan, suite) over an io::CardChannel the caller connected, and
// never touches a backend: the CLI gathers the facts (PC/SC attributes, the lab's slot as the lab
// reports it now), connects, and hands the channel in; tests hand in a lab channel. It lives in
// its own layer (app/) because services never include each other's headers.
//
// The decisions live here, once: which card type the session tests (card_type_of), how far the
// card is trusted (trust_of, over suite::decide_trust), which `requires` tokens hold
// (capabilities_of), which suites run, how large a READ BINARY the reader carries, and what the
// verdict rules get to see (plan::Outcome).
#include "io/card_channel.hpp"
#include "io/station.hpp"
#include "model/card_identity.hpp"
#include "model/run.hpp"
#include "services/plan/plan.hpp"
#include "services/plan/verdict.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/pin_policy.hpp"
#include "services/suite/pin_source.hpp"
#include "services/suite/runner.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace harness::app {

// A lab slot as the lab reports it when the session connects (never a snapshot of the run's
// start: the matrix, or a tester, may have changed the card since). Absent for hardware readers.
struct SlotFacts {
    std::string interface;          // contact / type_a / type_b: how the card is presented
    suite::LabSlotFacts at_connect; // card profile (e.g. "mynumber-slow"), citizen, generation
};

// What the lab (or nothing, for hardware) says is in the reader before we look: the verdict
// rules' reader and expected card (type, interface, emulated, test card).
plan::Outcome expected_outcome(const plan::ReaderFacts& reader,
                               const std::optional<SlotFacts>& slot);

// The card type a session tests. A transport test card has no identification of its own: the
// lab's profile says so, or (hardware) the card answers SELECT of the transport test AID. Else
// identification decides (mynumber, juki, jpki_phone, iso7816_unknown).
std::string card_type_of(const model::CardIdentity& identity, const std::optional<SlotFacts>& slot,
                         bool answers_transport_aid);

// How far the card is trusted (suite::decide_trust, which fails closed): an emulated test card
// only when the lab's reads at connect and after identification agree on a non-citizen card; a
// declared test card only for a strong id the user declared; else a physical card.
suite::CardTrust trust_of(const model::CardIdentity& identity, const std::optional<SlotFacts>& slot,
                          const std::optional<suite::LabSlotFacts>& after_identify,
                          const std::vector<std::string>& declared_test_cards);

// The `requires` tokens the reader, the card and the supplied PINs offer, plus the negotiated
// protocol (t0 / t1).
std::set<std::string, std::less<>> capabilities_of(const plan::ReaderFacts& reader,
                                                   const plan::CardFacts& card,
                                                   const suite::PinSource& pins,
                                                   io::Protocol protocol);

// Steps that test an optional capability (plan::is_capability_requirement): their failure alone
// makes a verdict partial.
std::vector<std::string> capability_steps(const suite::LoadedSuite& suite);

struct SessionRequest {
    plan::ReaderFacts reader;
    std::optional<SlotFacts> slot;
    // The lab's slot read again after identification (a card swapped meanwhile shows).
    std::function<std::optional<suite::LabSlotFacts>()> slot_after_identify;
    std::vector<std::string> declared_test_cards;
    suite::PinSource user_pins;
    // The PINs of the lab's emulated test cards for a card type (merged only for EmulatedTest).
    std::function<suite::PinSource(const std::string& card_type)> test_card_pins;
    int min_tries_left = 2;
    io::StationKey key;                                // card ids and redaction HMACs
    std::shared_ptr<io::PinFailureMemory> failed_pins; // null: this session's memory only
    const std::map<std::string, suite::LoadedSuite>* suites = nullptr; // loaded, by id
    std::vector<std::string> requested;                                // --suite, or empty
    // The run's start (the instant of model::Run::started_at): steps record their start time
    // from it (StepResult::started_us). Unset: they record none.
    std::optional<std::chrono::steady_clock::time_point> run_start;
};

struct SessionHooks {
    // Progress of the whole session: the step, and how many of all chosen steps came before.
    std::function<void(const suite::Progress& step, std::size_t done, std::size_t total,
                       const std::string& card_type)>
        progress;
    std::function<void(io::CardChannel& channel, bool exclusive)> reconnect;
    const std::atomic<bool>* cancel = nullptr;
};

struct SessionResult {
    model::Session session; // card, suites, status, cause, failure (the reader is the caller's)
    plan::Outcome outcome;  // for plan::judge; its `session` pointer is left null
    model::CardIdentity identity;
    suite::CardTrust trust = suite::CardTrust::Physical;
    std::vector<std::string> suites_run;
};

// Identifies the card on the connected channel, decides type, trust, capabilities and suites,
// and runs them (every APDU through the PIN guard, every record through the redactor).
SessionResult run_connected(io::CardChannel& channel, const SessionRequest& request,
                            const SessionHooks& hooks = {});

} // namespace harness::app
