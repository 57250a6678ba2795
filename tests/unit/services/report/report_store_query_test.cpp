// The report read through the store's query interface (model::ResultQuery: run headers and
// verdicts, then the evidence of the chosen cells only) is the report of the fully loaded runs,
// byte for byte, in every selection; run lookup by UUID prefix uses the index and stays exact.
#include "fixture.hpp"
#include "pure/error.hpp"
#include "services/report/report.hpp"
#include "services/store/copy_source.hpp"
#include "services/store/store.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <unistd.h>

using namespace harness;
using namespace report_test;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/cardharness-rq-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

// Counts the sessions whose steps a report read.
class CountingQuery final : public model::ResultQuery {
public:
    explicit CountingQuery(const model::ResultQuery& inner) : inner_(inner) {}
    std::vector<model::RunHeader> runs() const override { return inner_.runs(); }
    std::vector<model::SuiteResult> evidence(std::int64_t key) const override {
        ++evidence_calls;
        return inner_.evidence(key);
    }
    mutable int evidence_calls = 0;

private:
    const model::ResultQuery& inner_;
};

void store_run(store::Store& st, const model::Run& run) {
    model::Run header = run;
    header.status = model::RunStatus::Running;
    header.sessions.clear();
    header.verdicts.clear();
    st.begin_run(header);
    std::vector<model::Verdict> loose;
    for (const auto& v : run.verdicts) {
        const model::Session* session = nullptr;
        for (const auto& s : run.sessions)
            if (s.reader.pcsc_name == v.reader && s.card.card_type == v.card_type &&
                s.card.interface == v.interface)
                session = &s;
        if (session)
            st.add_session(run.uuid, *session, v);
        else
            loose.push_back(v);
    }
    st.finish_run(run.uuid, run.status, run.cause, run.ended_at, loose);
}

struct Fixture {
    TempDir dir;
    std::string path = (dir.path / "h.db").string();
    std::vector<model::Run> runs;
    Fixture() {
        const auto a = reader("Reader A", 1), b = reader("Reader B", 2);
        const std::vector<model::StepResult> good = {step("t1", model::StepVerdict::Pass, 10),
                                                     step("t2", model::StepVerdict::Pass, 20)};
        const std::vector<model::StepResult> bad = {step("t1", model::StepVerdict::Pass, 10),
                                                    step("t2", model::StepVerdict::Fail, 30)};
        runs.push_back(run("11111111-0000-4000-8000-000000000001", "2026-01-01T00:00:00Z",
                           {{a, "mynumber", "contact", model::Compatibility::Compatible, good},
                            {b, "juki", "contact", model::Compatibility::Compatible, good}}));
        runs.push_back(run("11112222-0000-4000-8000-000000000002", "2026-01-02T00:00:00Z",
                           {{a, "mynumber", "contact", model::Compatibility::Incompatible, bad},
                            {a, "juki", "contactless", model::Compatibility::Partial, bad}}));
        // A verdict without a session of its own, and an incomplete run.
        runs.back().verdicts.push_back(model::Verdict{b.pcsc_name,
                                                      "",
                                                      "mynumber",
                                                      "contact",
                                                      model::Compatibility::Untested,
                                                      "",
                                                      "",
                                                      {"no_card"}});
        runs.back().verdicts[0].causes = {"message_too_long", "chain"};
        runs.push_back(run("22223333-0000-4000-8000-000000000003", "2026-01-03T00:00:00Z",
                           {{b, "juki", "contact", model::Compatibility::Partial, bad}}));
        runs.back().status = model::RunStatus::Incomplete;
        runs.back().cause = "card removed";
        // A survey run: out of the observed views unless asked for.
        runs.push_back(run("33334444-0000-4000-8000-000000000004", "2026-01-04T00:00:00Z",
                           {{a, "mynumber", "contact", model::Compatibility::Compatible, good}}));
        store::Store st(path);
        for (const auto& r : runs)
            store_run(st, r);
        st.mark_survey_run(runs.back().uuid);
    }
    // The runs as the store gives them back in full (what `report` read before the query).
    std::vector<model::Run> loaded(bool include_survey) const {
        store::Store st(path, store::Access::ReadOnly);
        std::vector<model::Run> out;
        for (std::size_t i = 0; i < runs.size(); ++i)
            if (include_survey || i + 1 < runs.size())
                out.push_back(*st.load_run(runs[i].uuid));
        return out;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(the_query_gives_the_report_of_the_loaded_runs_in_every_selection) {
    Fixture f;
    const store::Store st(f.path, store::Access::ReadOnly);
    for (const bool survey : {false, true})
        for (const auto selection : {report::Selection::Newest, report::Selection::Latest}) {
            const auto query = st.query({survey, {}});
            CountingQuery counting(*query);
            const auto via_query = report::build(counting, selection);
            const auto via_runs = report::build(f.loaded(survey), selection);
            BOOST_TEST(report::render_json(via_query) == report::render_json(via_runs));
            BOOST_TEST(report::render_html(via_query, report::Lang::En, report::View::Technical) ==
                       report::render_html(via_runs, report::Lang::En, report::View::Technical));
            // Only the sessions of the cells shown were read in full.
            int with_session = 0;
            for (const auto& row : via_query.readers)
                for (const auto& cell : row.cells)
                    with_session += cell.session ? 1 : 0;
            BOOST_TEST(counting.evidence_calls == with_session);
            BOOST_TEST(with_session > 0);
        }
    // One run.
    const auto one = st.query({true, f.runs[1].uuid});
    const auto via_query = report::build(*one, report::Selection::Run);
    const auto via_runs = report::build(std::vector<model::Run>{*st.load_run(f.runs[1].uuid)},
                                        report::Selection::Run);
    BOOST_TEST(report::render_json(via_query) == report::render_json(via_runs));
    BOOST_TEST(via_query.runs.size() == 1U);
    // The cause codes and the verdict without a session come through.
    BOOST_TEST(report::render_json(via_query).find("message_too_long") != std::string::npos);
    BOOST_TEST(report::render_json(via_query).find("no_card") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(survey_runs_stay_out_unless_asked_for) {
    Fixture f;
    const store::Store st(f.path, store::Access::ReadOnly);
    BOOST_TEST(st.query({false, {}})->runs().size() == 3U);
    BOOST_TEST(st.query({true, {}})->runs().size() == 4U);
}

BOOST_AUTO_TEST_CASE(a_run_is_found_by_uuid_or_unique_prefix_only) {
    Fixture f;
    const store::Store st(f.path, store::Access::ReadOnly);
    BOOST_TEST(*st.find_run(f.runs[2].uuid) == f.runs[2].uuid);
    BOOST_TEST(*st.find_run("2222") == f.runs[2].uuid);
    BOOST_TEST(*st.find_run("22223333-0000") == f.runs[2].uuid);
    BOOST_TEST(*st.find_run("3333444") == f.runs[3].uuid);
    BOOST_CHECK_THROW(st.find_run("1111"), UsageError); // two runs start so
    BOOST_TEST(*st.find_run("11112") == f.runs[1].uuid);
    BOOST_TEST(!st.find_run("9"));
    BOOST_TEST(!st.find_run("%"));  // LIKE's wildcards are not wildcards
    BOOST_TEST(!st.find_run("_1")); // …
    BOOST_TEST(!st.find_run(""));
    BOOST_TEST(st.load_run("11112")->uuid == f.runs[1].uuid);
}

BOOST_AUTO_TEST_CASE(a_station_file_names_the_station_its_runs_were_pushed_as) {
    Fixture f;
    {
        // What `push --station` records: run 1 pushed as lab-a, run 2 as lab-a and later, to
        // another server, as lab-b (the newest name counts); run 3 never pushed.
        store::CopySource source(f.path);
        const auto pending = source.pending("server-1", "lab-a");
        BOOST_TEST_REQUIRE(pending.size() == 4U);
        source.confirm("server-1", "ch@one/central", "lab-a", pending[0]);
        source.confirm("server-1", "ch@one/central", "lab-a", pending[1]);
        source.confirm("server-2", "ch@two/central", "lab-b", pending[1]);
    }
    const store::Store st(f.path, store::Access::ReadOnly);
    std::map<std::string, std::string> station;
    for (const auto& h : st.query({false, {}})->runs())
        station[h.run.uuid] = h.run.station;
    BOOST_TEST(station[f.runs[0].uuid] == "lab-a");
    BOOST_TEST(station[f.runs[1].uuid] == "lab-b");
    BOOST_TEST(station[f.runs[2].uuid] == "");
    BOOST_TEST(st.load_run(f.runs[1].uuid)->station == "lab-b");
    BOOST_TEST(st.load_run(f.runs[2].uuid)->station == "");
    // Both reads give the same report, which names the stations.
    const auto via_query = report::build(*st.query({false, {}}), report::Selection::Newest);
    const auto json = report::render_json(via_query);
    BOOST_TEST(json ==
               report::render_json(report::build(f.loaded(false), report::Selection::Newest)));
    // Run 1's cells are all superseded by newer runs (so it is not listed): only lab-b's run 2
    // and the unnamed run 3 are in this report.
    BOOST_TEST(report::stations(via_query) == (std::vector<std::string>{"lab-b"}));
    BOOST_TEST(json.find("\"station\": \"lab-b\"") != std::string::npos);
    BOOST_TEST(json.find("\"station\": \"lab-a\"") == std::string::npos);
}
