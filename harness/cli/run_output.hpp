#pragma once
// What `run` prints at the end: the run as JSON (--json) or the summary table, each saying
// exactly what the database holds.
#include "cli/run_session.hpp"
#include "model/run.hpp"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace harness::cli {

// The run as `run --json` prints it: {uuid, …, stored_sessions, not_run, store_error, suites,
// sessions, verdicts}.
nlohmann::ordered_json run_json(const model::Run& run, const std::vector<RunResult>& results,
                                const std::vector<std::string>& not_reached, std::size_t stored,
                                const std::string& store_error);

// The verdict table and where the run is stored (or what was NOT stored, and why).
void print_summary(const model::Run& run, const std::vector<RunResult>& results,
                   const std::vector<std::string>& not_reached, const std::string& db,
                   std::size_t stored, const std::string& store_error, bool run_row_final);

} // namespace harness::cli
