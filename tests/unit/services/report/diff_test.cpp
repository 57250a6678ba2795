#include "fixture.hpp"
#include "services/report/diff.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace harness;
using namespace report_test;
using model::Compatibility;
using model::StepVerdict;
using report::ChangeKind;

namespace {

report::ReportModel one(const std::vector<CellSpec>& cells) {
    return report::build({run("r", "2025-01-01T00:00:00Z", cells)}, report::Selection::Run);
}

const auto alpha = reader("Alpha", 1);
const auto beta = reader("Beta", 2);

} // namespace

BOOST_AUTO_TEST_CASE(identical_models_have_no_changes) {
    const auto m = one({{alpha,
                         "mynumber",
                         "contact",
                         Compatibility::Compatible,
                         {step("a", StepVerdict::Pass, 5000)}}});
    const auto r = report::diff(m, m, 10);
    BOOST_TEST(r.changes.empty());
    BOOST_TEST(!r.has_regression());
}

BOOST_AUTO_TEST_CASE(worse_verdict_and_failing_step_are_regressions) {
    const auto base =
        one({{alpha,
              "mynumber",
              "contact",
              Compatibility::Compatible,
              {step("a", StepVerdict::Pass, 5000), step("b", StepVerdict::Pass, 10)}}});
    const auto cand =
        one({{alpha,
              "mynumber",
              "contact",
              Compatibility::Incompatible,
              {step("a", StepVerdict::Pass, 5100), step("b", StepVerdict::Fail, 10)}}});
    const auto r = report::diff(base, cand, 50);
    BOOST_TEST(r.has_regression());
    BOOST_TEST(r.count(ChangeKind::Regression) == 2U);
    BOOST_TEST(r.count(ChangeKind::Timing) == 0U);
    const auto text = report::render_diff_text(r);
    BOOST_TEST(text.find("verdict: compatible → incompatible") != std::string::npos);
    BOOST_TEST(text.find("step b (s): pass → fail — failed b") != std::string::npos);
    const auto j = nlohmann::json::parse(report::render_diff_json(r));
    BOOST_TEST(j["regression"] == true);
    BOOST_TEST(j["counts"]["regression"] == 2);
    // Reversed, the same changes are fixes.
    const auto back = report::diff(cand, base, 50);
    BOOST_TEST(!back.has_regression());
    BOOST_TEST(back.count(ChangeKind::Fix) == 2U);
}

BOOST_AUTO_TEST_CASE(partial_is_worse_than_compatible_and_better_than_incompatible) {
    const auto c = one({{alpha, "juki", "contact", Compatibility::Compatible, {}}});
    const auto p = one({{alpha, "juki", "contact", Compatibility::Partial, {}}});
    const auto i = one({{alpha, "juki", "contact", Compatibility::Incompatible, {}}});
    BOOST_TEST(report::diff(c, p, 50).has_regression());
    BOOST_TEST(report::diff(p, i, 50).has_regression());
    BOOST_TEST(!report::diff(i, p, 50).has_regression());
}

BOOST_AUTO_TEST_CASE(new_readers_and_cells_are_listed_missing_ones_gate_unless_allowed) {
    const auto base = one({{alpha, "mynumber", "contact", Compatibility::Compatible, {}},
                           {alpha, "juki", "contact", Compatibility::Compatible, {}}});
    const auto cand = one({{alpha, "mynumber", "contact", Compatibility::Compatible, {}},
                           {beta, "mynumber", "contact", Compatibility::Incompatible, {}}});
    // A cell missing from the candidate is lost evidence: a regression unless allowed.
    const auto r = report::diff(base, cand, 50);
    BOOST_TEST(r.has_regression());
    BOOST_TEST(r.count(ChangeKind::Regression) == 0U);
    BOOST_TEST(r.count(ChangeKind::NewReader) == 1U);
    BOOST_TEST(r.count(ChangeKind::MissingCell) == 1U);
    BOOST_TEST(r.lost() == 1U);
    BOOST_TEST(!report::diff(base, cand, 50, true).has_regression());
    // A reader missing from the candidate gates too; new readers and cells never do.
    const auto r2 = report::diff(cand, base, 50);
    BOOST_TEST(r2.count(ChangeKind::MissingReader) == 1U);
    BOOST_TEST(r2.count(ChangeKind::NewCell) == 1U);
    BOOST_TEST(r2.has_regression());
    BOOST_TEST(report::render_diff_text(r2).find("lost evidence") != std::string::npos);
    BOOST_TEST(!report::diff(cand, base, 50, true).has_regression());
    const auto j = nlohmann::json::parse(report::render_diff_json(r2));
    BOOST_TEST(j["regression"] == true);
    BOOST_TEST(j["counts"]["lost"] == 1);
    // Only new things: no regression.
    const auto grown = one({{alpha, "mynumber", "contact", Compatibility::Compatible, {}},
                            {alpha, "juki", "contact", Compatibility::Compatible, {}},
                            {beta, "juki", "contact", Compatibility::Compatible, {}}});
    BOOST_TEST(!report::diff(base, grown, 50).has_regression());
}

BOOST_AUTO_TEST_CASE(compatible_or_partial_to_untested_gates_incompatible_to_untested_does_not) {
    for (const auto before : {Compatibility::Compatible, Compatibility::Partial}) {
        const auto base = one({{alpha, "mynumber", "contact", before, {}}});
        const auto cand = one({{alpha, "mynumber", "contact", Compatibility::Untested, {}}});
        const auto r = report::diff(base, cand, 50);
        BOOST_TEST(r.has_regression());
        BOOST_TEST(r.lost() == 1U);
        BOOST_TEST(!report::diff(base, cand, 50, true).has_regression());
    }
    const auto base = one({{alpha, "mynumber", "contact", Compatibility::Incompatible, {}}});
    const auto cand = one({{alpha, "mynumber", "contact", Compatibility::Untested, {}}});
    BOOST_TEST(!report::diff(base, cand, 50).has_regression());
}

BOOST_AUTO_TEST_CASE(runs_that_did_not_complete_are_named) {
    auto interrupted = run("k", "2025-01-02T00:00:00Z",
                           {{alpha, "mynumber", "contact", Compatibility::Compatible, {}}});
    interrupted.status = model::RunStatus::Interrupted;
    interrupted.cause = "the run's process is gone (host h, pid 42)";
    const auto base = one({{alpha, "mynumber", "contact", Compatibility::Compatible, {}}});
    const auto cand = report::build({interrupted}, report::Selection::Run);
    const auto r = report::diff(base, cand, 50);
    BOOST_REQUIRE(r.incomplete_runs.size() == 1U);
    BOOST_TEST(r.incomplete_runs[0].find("candidate: run k") == 0U);
    BOOST_TEST(r.incomplete_runs[0].find("interrupted") != std::string::npos);
    BOOST_TEST(report::render_diff_text(r).find("Runs not complete (1)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(timings_beyond_the_threshold_are_listed) {
    const auto base =
        one({{alpha,
              "mynumber",
              "contact",
              Compatibility::Compatible,
              {step("sign", StepVerdict::Pass, 400000), step("tiny", StepVerdict::Pass, 200)}}});
    const auto cand =
        one({{alpha,
              "mynumber",
              "contact",
              Compatibility::Compatible,
              {step("sign", StepVerdict::Pass, 900000), step("tiny", StepVerdict::Pass, 900)}}});
    const auto r = report::diff(base, cand, 50);
    BOOST_TEST(!r.has_regression());
    BOOST_TEST_REQUIRE(r.count(ChangeKind::Timing) == 1U); // "tiny" is under the floor
    BOOST_TEST(r.changes[0].step_id == "sign");
    BOOST_TEST(r.changes[0].reason_en.find("+125%") != std::string::npos);
    BOOST_TEST(report::diff(base, cand, 200).count(ChangeKind::Timing) == 0U);
}

BOOST_AUTO_TEST_CASE(a_json_export_compares_equal_to_its_source) {
    const auto m = one({{alpha,
                         "mynumber",
                         "contact",
                         Compatibility::Partial,
                         {step("a", StepVerdict::Fail, 5000)}}});
    const auto exported = report::parse_json(report::render_json(m), "m.json");
    BOOST_TEST(report::diff(exported, m, 0).changes.empty());
}
