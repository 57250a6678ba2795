#pragma once
// The suite runner (issue 4 §5): executes the steps of a model::Suite over an io::CardChannel,
// every APDU through the PIN guard and every recorded byte through the redactor, and returns
// already-redacted model::StepResults. Transport loss (card removed, reader gone, pcscd dead)
// aborts the rest of the suite and marks the context incomplete; earlier steps are kept.
#include "io/card_channel.hpp"
#include "io/failure_kind.hpp"
#include "io/station.hpp"
#include "model/run.hpp"
#include "model/suite.hpp"
#include "services/suite/actions.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/pin_guard.hpp"
#include "services/suite/pin_policy.hpp"
#include "services/suite/pin_source.hpp"
#include "services/suite/redactor.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace harness::suite {

struct Progress {
    std::size_t index = 0; // 1-based step number
    std::size_t total = 0;
    std::string suite_id;
    std::string step_id;
    std::string title_en;
    std::string title_ja;
};

// Everything a run of suites on one reader × card needs, and what it leaves behind. One context
// serves all suites of a session: stored variables, the PIN guard's memory of failed PINs and the
// redactor's secrets carry over from one suite to the next.
struct RunContext {
    // ${var} values: aid.* / ef.* (profile_variables() unless replaced), run.* (the caller's:
    // run.reader, run.atr, run.card_type, run.interface); steps add their `store=` values.
    Variables variables = profile_variables();
    PinSource pins;
    CardTrust trust = CardTrust::Physical;
    std::string card_type; // mynumber, juki, jpki_phone, transport, …
    std::string interface; // contact, contactless
    // `requires` tokens the reader and card offer: contactless, extended_apdu, card:<type>,
    // removal, … The runner adds emulated / test_card from `trust` and pin:<name> per PIN supplied.
    std::set<std::string, std::less<>> capabilities;
    // The largest Le of one short READ BINARY the reader's reported limits carry (plan::
    // max_short_le): `read_ef fit=yes` sizes its chunks to it, as real clients do.
    std::size_t max_short_le = 256;
    int min_tries_left = 2; // the guard clamps it to 2 or more
    io::StationKey key;     // the redactor's HMAC key (never stored anywhere)
    // This session's card id (identify): the key of the station's memory of failed PINs.
    std::string card_id;
    // Failures remembered across runs (io::FilePinFailureMemory in the station state folder);
    // null: this session's memory only.
    std::shared_ptr<io::PinFailureMemory> failed_pins;
    RedactionPolicy redaction = default_redaction_policy();

    std::function<void(const Progress&)> progress;
    const std::atomic<bool>* cancel = nullptr; // set → remaining steps aborted ("cancelled")
    SteadyClock clock;                         // default std::chrono::steady_clock::now
    // The run's start on `clock` (the instant of model::Run::started_at): each step's
    // started_us counts from it. Unset: steps carry no start time.
    std::optional<std::chrono::steady_clock::time_point> run_start;
    // `reconnect`: SCardReconnect (PC/SC) or the lab's equivalent; default: a warm reset, noted.
    std::function<void(io::CardChannel& channel, bool exclusive)> reconnect;
    // `expect_removed`: ask the tester (or make the lab) remove the card; returns when done or
    // false on timeout. Unset → the step is skipped (requirement "removal").
    std::function<bool(const std::string& prompt_en)> wait_removed;

    // Session state, kept across suites.
    PinGuardState guard_state;
    std::set<std::string> personal_variables; // variables holding personal data (never printed)
    std::shared_ptr<Redactor> redactor;       // created on first use from key + redaction

    // Outcome: Incomplete with a cause when a transport loss or a cancel cut a suite short, and
    // the typed kind of that loss (None for a cancel).
    model::RunStatus status = model::RunStatus::Complete;
    std::string cause;
    model::FailureKind failure = model::FailureKind::None;

    // The capability set after the runner's additions (what `requires` is checked against).
    std::set<std::string, std::less<>> effective_capabilities() const;
    Redactor& the_redactor();
};

// Runs one suite. Never throws for card behaviour or transport failures (they are results);
// throws ConfigError when a step's args do not parse (the loader should have caught it).
model::SuiteResult run_suite(const model::Suite& suite, io::CardChannel& channel, RunContext& ctx);
// Runs a suite the loader already planned (parsed args, patterns, requirements).
model::SuiteResult run_suite(const LoadedSuite& suite, io::CardChannel& channel, RunContext& ctx);

// Latency statistics (µs) as measurements_json: {"n":…,"min_us":…,"median_us":…,"p95_us":…,
// "max_us":…,"mean_us":…}. Median and p95 by nearest rank.
std::string latency_statistics_json(std::vector<std::int64_t> samples_us);

} // namespace harness::suite
