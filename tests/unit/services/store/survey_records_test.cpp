// The survey's tables: survey runs are marked, records are keyed by dump file + block + libccid
// version (a second put replaces), and go with their run.
#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <unistd.h>

using namespace harness;

namespace {

model::Run a_run(const std::string& uuid) {
    model::Run run;
    run.uuid = uuid;
    run.started_at = "2025-01-01T00:00:00Z";
    run.lab = true;
    return run;
}

store::SurveyRecord record(const std::string& file, int block, const std::string& libccid,
                           const std::string& run, const std::string& json) {
    store::SurveyRecord r;
    r.dump_file = file;
    r.dump_sha256 = "ab";
    r.block = block;
    r.interface_number = block;
    r.libccid_version = libccid;
    r.vid = 0x054C;
    r.pid = 0x0DC8;
    r.bcd_device = 0x0100;
    r.result_json = json;
    r.run_uuid = run;
    r.surveyed_at = "2025-01-01T00:00:01Z";
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(survey_runs_and_records) {
    const auto path =
        std::filesystem::temp_directory_path() / ("survey_records_" + std::to_string(::getpid()));
    std::filesystem::remove(path);
    {
        store::Store db(path.string());
        db.begin_run(a_run("11111111-0000-4000-8000-000000000001"));
        db.begin_run(a_run("11111111-0000-4000-8000-000000000002"));
        BOOST_TEST(db.survey_run_uuids().empty());
        db.mark_survey_run("11111111-0000-4000-8000-000000000002");
        db.mark_survey_run("11111111-0000-4000-8000-000000000002"); // idempotent
        BOOST_TEST(db.survey_run_uuids() ==
                   std::vector<std::string>{"11111111-0000-4000-8000-000000000002"});
        BOOST_CHECK_THROW(db.mark_survey_run("nope"), Error);

        const std::string run = "11111111-0000-4000-8000-000000000002";
        db.put_survey_record(record("b.txt", 0, "1.5.2", run, "{\"n\":1}"));
        db.put_survey_record(record("a.txt", 1, "1.5.2", run, "{\"n\":2}"));
        db.put_survey_record(record("a.txt", 1, "1.5.5", run, "{\"n\":3}"));
        db.put_survey_record(record("b.txt", 0, "1.5.2", run, "{\"n\":4}")); // replaces
        const auto v152 = db.survey_records("1.5.2");
        BOOST_TEST_REQUIRE(v152.size() == 2U);
        BOOST_TEST(v152[0].dump_file == "a.txt");
        BOOST_TEST(v152[1].result_json == "{\"n\":4}");
        BOOST_TEST(v152[1].run_uuid == run);
        BOOST_TEST(v152[1].vid == 0x054C);
        BOOST_TEST(db.survey_records().size() == 3U);
        BOOST_TEST(db.survey_records("9.9").empty());
    }
    {
        // A deleted run takes its records and its source row with it.
        SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE);
        raw.exec("PRAGMA foreign_keys = ON");
        raw.exec("DELETE FROM runs WHERE uuid = '11111111-0000-4000-8000-000000000002'");
    }
    store::Store db(path.string());
    BOOST_TEST(db.survey_records().empty());
    BOOST_TEST(db.survey_run_uuids().empty());
    std::filesystem::remove(path);
}
