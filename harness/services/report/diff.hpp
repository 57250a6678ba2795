#pragma once
// Regression gating: two report models compared per reader identity × card × interface and per
// step. Regressions (verdict worse, step pass → fail/error/aborted) make `cardharness diff` exit
// 1; fixes, new and missing readers or cells, and timing changes are listed only.
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
};

struct DiffResult {
    std::vector<Change> changes; // in reader, card, interface, suite, step order
    std::size_t count(ChangeKind kind) const;
    bool has_regression() const { return count(ChangeKind::Regression) > 0; }
};

// Timing changes smaller than this are never listed, whatever the percentage (scheduler noise).
inline constexpr std::int64_t timing_floor_us = 10000;

DiffResult diff(const ReportModel& baseline, const ReportModel& candidate,
                double timing_threshold_pct);

std::string render_diff_text(const DiffResult& result);
std::string render_diff_markdown(const DiffResult& result);
std::string render_diff_json(const DiffResult& result);

} // namespace harness::report
