// The prune rule: --keep-latest / --before choose old runs, but a run that decides a report cell
// (a cell's newest evidence) and a run still running are kept.
#include "fixture.hpp"
#include "services/report/prune.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace report_test;

namespace {

struct Fixture {
    std::vector<model::Run> runs;                   // oldest first
    std::vector<report::PruneCandidate> candidates; // newest first
    report::ReportModel newest;
    Fixture() {
        const auto a = reader("Reader A", 1), b = reader("Reader B", 2);
        const std::vector<model::StepResult> ok = {step("t", model::StepVerdict::Pass, 1)};
        // Reader B was tested only in the oldest run: that run decides B's cell for ever.
        runs.push_back(run("r1", "2025-01-01T00:00:00Z",
                           {{b, "juki", "contact", model::Compatibility::Compatible, ok},
                            {a, "juki", "contact", model::Compatibility::Compatible, ok}}));
        for (int i = 2; i <= 5; ++i)
            runs.push_back(run("r" + std::to_string(i),
                               "2025-01-0" + std::to_string(i) + "T00:00:00Z",
                               {{a, "juki", "contact", model::Compatibility::Compatible, ok}}));
        for (auto it = runs.rbegin(); it != runs.rend(); ++it)
            candidates.push_back({it->uuid, it->started_at, model::RunStatus::Complete});
        newest = report::build(runs, report::Selection::Newest);
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(keep_latest_keeps_the_newest_runs_and_every_cells_newest_evidence) {
    Fixture f;
    report::PruneRule rule;
    rule.keep_latest = 2;
    const auto plan = report::plan_prune(f.candidates, f.newest, rule);
    BOOST_TEST(plan.remove == (std::vector<std::string>{"r3", "r2"}));
    BOOST_TEST(plan.kept_as_evidence == std::vector<std::string>{"r1"});
    rule.keep_latest = 0; // even "keep none" keeps the evidence of every cell
    const auto all = report::plan_prune(f.candidates, f.newest, rule);
    BOOST_TEST(all.remove == (std::vector<std::string>{"r4", "r3", "r2"}));
    BOOST_TEST(all.kept_as_evidence == (std::vector<std::string>{"r5", "r1"}));
}

BOOST_AUTO_TEST_CASE(before_removes_older_runs_but_not_running_ones) {
    Fixture f;
    f.candidates[3].status = model::RunStatus::Running; // r2
    report::PruneRule rule;
    rule.before = "2025-01-04";
    const auto plan = report::plan_prune(f.candidates, f.newest, rule);
    BOOST_TEST(plan.remove == std::vector<std::string>{"r3"});
    BOOST_TEST(plan.kept_running == std::vector<std::string>{"r2"});
    BOOST_TEST(plan.kept_as_evidence == std::vector<std::string>{"r1"});
    rule.before = "2025-01-01T00:00:00Z"; // nothing started before
    BOOST_TEST(report::plan_prune(f.candidates, f.newest, rule).remove.empty());
}

BOOST_AUTO_TEST_CASE(dates_are_checked) {
    BOOST_TEST(report::is_prune_date("2025-03-01"));
    BOOST_TEST(report::is_prune_date("2025-03-01T12:00:00Z"));
    BOOST_TEST(!report::is_prune_date("2025-3-1"));
    BOOST_TEST(!report::is_prune_date("2025-13-01"));
    BOOST_TEST(!report::is_prune_date("yesterday"));
    BOOST_TEST(!report::is_prune_date("2025-03-01 12:00"));
    BOOST_TEST(!report::is_prune_date(""));
}
