// Several stores read as one (model::UnionQuery, `report --db A --db postgresql://…`): a run in
// several stores counts once, from the first store that has it; two runs with one UUID in the same
// store both count; each session's evidence comes from its own store.
#include "model/result_query.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace harness;

namespace {

model::Run run(const std::string& uuid, const std::string& station, const std::string& step) {
    model::Run r;
    r.uuid = uuid;
    r.station = station;
    model::Session s;
    s.reader.pcsc_name = "reader of " + uuid;
    model::StepResult st;
    st.step_id = step;
    s.suites.push_back(model::SuiteResult{{"suite", "hash"}, {st}});
    r.sessions.push_back(s);
    return r;
}

std::string step_of(const model::ResultQuery& q, std::int64_t key) {
    return q.evidence(key).at(0).steps.at(0).step_id;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_run_in_two_stores_counts_once_from_the_first) {
    const std::vector<model::Run> file = {run("u1", "", "from-file")};
    const std::vector<model::Run> server = {run("u1", "lab-a", "from-server"),
                                            run("u2", "lab-a", "u2-a"), run("u2", "lab-b", "u2-b")};
    const model::RunsQuery a(file), b(server);
    const model::UnionQuery both({&a, &b});
    const auto runs = both.runs();
    BOOST_TEST_REQUIRE(runs.size() == 3U); // u1 once; u2 of two stations on one server: twice
    BOOST_TEST(runs[0].run.uuid == "u1");
    BOOST_TEST(runs[0].run.station.empty()); // the file's copy, as the first store holds it
    BOOST_TEST(step_of(both, runs[0].sessions.at(0).key) == "from-file");
    BOOST_TEST(runs[1].run.station == "lab-a");
    BOOST_TEST(step_of(both, runs[1].sessions.at(0).key) == "u2-a");
    BOOST_TEST(runs[2].run.station == "lab-b");
    BOOST_TEST(step_of(both, runs[2].sessions.at(0).key) == "u2-b");
    BOOST_CHECK_THROW(both.evidence(99), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(the_order_of_the_stores_decides_which_copy_counts) {
    const std::vector<model::Run> file = {run("u1", "", "from-file")};
    const std::vector<model::Run> server = {run("u1", "lab-a", "from-server")};
    const model::RunsQuery a(file), b(server);
    const model::UnionQuery server_first({&b, &a});
    const auto runs = server_first.runs();
    BOOST_TEST_REQUIRE(runs.size() == 1U);
    BOOST_TEST(runs[0].run.station == "lab-a");
    BOOST_TEST(step_of(server_first, runs[0].sessions.at(0).key) == "from-server");
}
