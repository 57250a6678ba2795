#pragma once
// `run`'s reader threads: one reader × card session at a time over PC/SC (the session service
// app::run_connected decides and runs; here the channel, the lab's facts, progress and traces),
// the lab matrix (every card in every lab reader, the lab swapping cards), `--cards` (a tester
// swapping cards), and the verdict of each session judged and handed to the ResultSink.
#include "cli/progress_board.hpp"
#include "cli/run_lab_view.hpp"
#include "cli/run_sink.hpp"
#include "io/station.hpp"
#include "model/run.hpp"
#include "services/emu/persona.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/pin_policy.hpp"
#include "services/suite/pin_source.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace harness::cli {

// The suites a run may choose from (all shipped ones by default, or those named by --suite).
struct SuiteSet {
    std::map<std::string, suite::LoadedSuite> loaded;
    std::vector<std::string> available;
    std::vector<std::string> requested;

    const suite::LoadedSuite* get(const std::string& id) const {
        const auto it = loaded.find(id);
        return it == loaded.end() ? nullptr : &it->second;
    }
};

// What a session takes from the command line.
struct SessionOptions {
    std::vector<std::string> test_cards; // --test-card
    int card_timeout_s = 120;            // --card-timeout
    int min_tries_left = 2;              // --min-tries-left
};

// One session's records and verdict, and whether the sink stored them.
struct RunResult {
    model::Session session;
    model::Verdict verdict;
    bool stored = false;
};

// What every reader thread shares.
struct RunShared {
    SessionOptions options;
    const SuiteSet& suites;
    std::optional<LabView> lab; // refreshed before each card of --cards (a tester changes cards)
    const suite::PinSource& user_pins;
    std::optional<emu::Persona> persona; // the lab's PINs for its emulated test cards
    io::StationKey key;                  // card ids and redaction HMACs (station state)
    std::shared_ptr<io::PinFailureMemory> failed_pins;
    ProgressBoard& board;
    ResultSink& sink;
    RunStop& stop;
    std::atomic<bool>& cancel; // set by a signal or a RunStop: the sessions stop
    std::mutex results_mutex{};
    std::vector<RunResult> results{};
    std::set<std::string> reached{}; // readers whose session began
    std::set<std::string> not_run{}; // readers the run never reached (it stopped first)
    bool matrix = false;             // every lab reader with every card (plan::matrix_cells)
    std::chrono::steady_clock::time_point run_start{}; // the instant of run.started_at
};

// Everything one reader thread does: the matrix for a lab reader when `shared.matrix`, else one
// session with the card it holds. Never throws for the environment: a failure is recorded.
void run_reader(RunShared& shared, const std::string& reader);

// --cards: one reader, the tester inserts each card in turn. pcscd lost while waiting for a card
// ends the run as the environment's failure (shared.stop).
void run_cards(RunShared& shared, const std::string& reader, const std::vector<std::string>& types);

// A session that could not begin because the environment (or the run) stopped first.
void record_not_run(RunShared& shared, const std::string& reader, model::FailureKind failure,
                    const std::string& cause);

} // namespace harness::cli
