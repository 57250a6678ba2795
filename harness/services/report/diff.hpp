#pragma once
// Regression gating: two report models compared per reader identity × card × interface and per
// step. Regressions (verdict worse, step pass → fail/error/aborted) make `cardharness diff` exit
// 1, and so does evidence the baseline had and the candidate lacks (a reader or a cell missing
// from the candidate, a compatible/partial cell that became untested) unless missing evidence is
// allowed (`--allow-missing`): a run that lost readers must not pass a CI gate. Fixes, new
// readers or cells and timing changes are listed only; runs that did not complete are noted.
#include "services/report/report.hpp"

#include <string>
#include <vector>

namespace harness::report {

enum class ChangeKind { Regression, Fix, NewReader, MissingReader, NewCell, MissingCell, Timing };
const char* to_string(ChangeKind kind); // "regression", "fix", "new_reader", …

struct Change {
    ChangeKind kind = ChangeKind::Regression;
    std::string reader_key;
    std::string reader; // "Maker Model (VID:PID fw 1.02)"
    std::string card_type;
    std::string interface;
    std::string suite;   // step changes only
    std::string step_id; // step changes only; empty for verdict changes
    std::string before;  // verdict or step verdict (timings: µs)
    std::string after;
    std::string reason_en; // the candidate's reason (the baseline's for fixes of a step)
    std::string reason_ja;
    // Evidence lost: the reader or cell is missing from the candidate, or a compatible/partial
    // cell became untested. Gates like a regression unless allowed.
    bool lost = false;
};

struct DiffResult {
    std::vector<Change> changes; // in reader, card, interface, suite, step order
    bool allow_missing = false;
    // Runs of either side that did not complete ("candidate: run … interrupted: …").
    std::vector<std::string> incomplete_runs;
    std::size_t count(ChangeKind kind) const;
    std::size_t lost() const; // changes with `lost` set
    bool has_regression() const {
        return count(ChangeKind::Regression) > 0 || (!allow_missing && lost() > 0);
    }
};

// Timing changes smaller than this are never listed, whatever the percentage (scheduler noise).
inline constexpr std::int64_t timing_floor_us = 10000;

DiffResult diff(const ReportModel& baseline, const ReportModel& candidate,
                double timing_threshold_pct, bool allow_missing = false);

std::string render_diff_text(const DiffResult& result);
std::string render_diff_markdown(const DiffResult& result);
std::string render_diff_json(const DiffResult& result);

} // namespace harness::report
