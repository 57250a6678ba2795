// What a station remembers of its pushes: a run is pending for a server and station until that
// server confirmed its current state (status, sessions, verdicts); snapshots are consistent.
#include "pure/error.hpp"
#include "services/store/copy_source.hpp"
#include "services/store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/cardharness-copy-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

model::Run make_run(const std::string& uuid, const std::string& started) {
    model::Run run;
    run.uuid = uuid;
    run.started_at = started;
    return run;
}

model::Session make_session(const std::string& reader) {
    model::Session s;
    s.reader.pcsc_name = reader;
    model::StepResult step;
    step.step_id = "x";
    step.verdict = model::StepVerdict::Pass;
    s.suites = {{{"suite", "hash"}, {step}}};
    return s;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_missing_file_is_a_usage_error_not_a_new_database) {
    TempDir dir;
    BOOST_CHECK_THROW(store::CopySource((dir.path / "none.db").string()), UsageError);
    BOOST_TEST(!fs::exists(dir.path / "none.db"));
}

BOOST_AUTO_TEST_CASE(runs_stay_pending_until_the_server_confirmed_their_current_state) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    store::Store st(path);
    st.begin_run(make_run("run-b", "2026-01-02T00:00:00Z"));
    st.begin_run(make_run("run-a", "2026-01-01T00:00:00Z"));
    st.add_session("run-a", make_session("R1"));
    st.finish_run("run-a", model::RunStatus::Complete, "", "e", {});

    store::CopySource source(path);
    auto pending = source.pending("srv1", "station-1");
    BOOST_REQUIRE(pending.size() == 2u);
    BOOST_TEST(pending[0].uuid == "run-a"); // oldest first
    BOOST_TEST(pending[0].status == "complete");
    BOOST_TEST(pending[0].sessions == 1);
    BOOST_TEST(!pending[0].pushed_before);
    BOOST_TEST(pending[1].status == "running");

    for (const auto& run : pending) {
        const auto state = source.begin_snapshot(run.row_id);
        BOOST_REQUIRE(state.has_value());
        source.end_snapshot();
        source.confirm("srv1", "role@host:5432/db", "station-1", *state);
    }
    BOOST_TEST(source.pending("srv1", "station-1").empty());
    // Another server, or another station name on the same server, has not seen them.
    BOOST_TEST(source.pending("srv2", "station-1").size() == 2u);
    BOOST_TEST(source.pending("srv1", "station-2").size() == 2u);
    BOOST_REQUIRE(source.servers().size() == 1u);
    BOOST_TEST(source.servers()[0].label == "role@host:5432/db");

    // The running run gains a session, then completes: pending again, marked as pushed before.
    st.add_session("run-b", make_session("R2"));
    pending = source.pending("srv1", "station-1");
    BOOST_REQUIRE(pending.size() == 1u);
    BOOST_TEST(pending[0].uuid == "run-b");
    BOOST_TEST(pending[0].pushed_before);
    BOOST_TEST(pending[0].sessions == 1);
    st.finish_run("run-b", model::RunStatus::Incomplete, "stopped", "e", {});
    pending = source.pending("srv1", "station-1");
    BOOST_REQUIRE(pending.size() == 1u);
    BOOST_TEST(pending[0].status == "incomplete");
}

BOOST_AUTO_TEST_CASE(a_snapshot_does_not_see_writes_that_land_after_it_began) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    store::Store st(path);
    st.begin_run(make_run("run-a", "2026-01-01T00:00:00Z"));
    st.add_session("run-a", make_session("R1"));
    store::CopySource source(path);
    const auto run = source.pending("s", "st").at(0);
    const auto state = source.begin_snapshot(run.row_id);
    BOOST_REQUIRE(state.has_value());
    BOOST_TEST(state->sessions == 1);
    // Another writer (a `run` still going) adds a session while the push reads.
    st.add_session("run-a", make_session("R2"));
    const auto sessions = source.rows("SELECT s.id FROM sessions s WHERE s.run_id = ?1", run.row_id,
                                      [](const std::vector<store::CopyValue>&) {});
    BOOST_TEST(sessions == 1u);
    source.end_snapshot();
    // What was confirmed is the snapshot's state: the new session keeps the run pending.
    source.confirm("s", "label", "st", *state);
    BOOST_TEST(source.pending("s", "st").size() == 1u);
    BOOST_TEST(!source.begin_snapshot(run.row_id + 1000).has_value());
    source.end_snapshot();
}

BOOST_AUTO_TEST_CASE(rows_hands_on_text_and_null) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    { store::Store st(path); }
    store::CopySource source(path);
    std::vector<std::optional<std::string>> got;
    const auto n = source.rows(
        "SELECT ?1 + 1, NULL, 'a''b', x'00ff'", 41, [&](const std::vector<store::CopyValue>& row) {
            for (const auto& v : row)
                got.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
        });
    BOOST_TEST(n == 1u);
    BOOST_REQUIRE(got.size() == 4u);
    BOOST_TEST(got[0].value() == "42");
    BOOST_TEST(!got[1].has_value());
    BOOST_TEST(got[2].value() == "a'b");
    BOOST_TEST(got[3].value().size() == 2u);
    BOOST_CHECK_THROW(
        source.rows("SELECT nope FROM nowhere", 1, [](const std::vector<store::CopyValue>&) {}),
        Error);
}
