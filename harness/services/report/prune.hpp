#pragma once
// `cardharness prune`: which runs to delete from a results database kept for years. The rule
// keeps every cell's newest evidence: a run that decides a cell of the report (the newest verdict
// per reader identity × card type × interface) stays, however old, and so does a run still
// running.
#include "model/run.hpp"
#include "services/report/report.hpp"

#include <optional>
#include <string>
#include <vector>

namespace harness::report {

struct PruneCandidate {
    std::string uuid;
    std::string started_at; // ISO 8601 UTC
    model::RunStatus status = model::RunStatus::Complete;
};

struct PruneRule {
    std::optional<int> keep_latest; // keep the newest N runs
    std::string before;             // remove runs started before this ISO date/time
};

struct PrunePlan {
    std::vector<std::string> remove;           // uuids, newest first
    std::vector<std::string> kept_as_evidence; // would go by the rule, decide a cell
    std::vector<std::string> kept_running;     // would go by the rule, still running
};

// `runs` newest first (as store::Store::list_runs gives them); `newest` the report model built
// with Selection::Newest over the same runs.
PrunePlan plan_prune(const std::vector<PruneCandidate>& runs, const ReportModel& newest,
                     const PruneRule& rule);

// True for "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SSZ" (what --before accepts).
bool is_prune_date(std::string_view text);

} // namespace harness::report
