#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/cardharness-store-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

model::Run make_run(const std::string& uuid) {
    model::Run run;
    run.uuid = uuid;
    run.started_at = "2026-11-24T10:00:00Z";
    run.environment = {"host1", "Debian 12", "1.9.9", "1.5.2", "0.1.0"};
    run.lab = true;
    run.suites = {{"identify", "aa11"}, {"transport", "bb22"}};
    return run;
}

model::Session make_session(const std::string& reader, model::RunStatus status) {
    model::Session s;
    s.reader.pcsc_name = reader;
    s.reader.vid = 0x1D50;
    s.reader.pid = 0x0001;
    s.reader.bcd_device = 0x0102;
    s.reader.manufacturer = "Lab";
    s.reader.product = "Lab Short 261";
    s.reader.reader_model = "lab-short-261";
    s.reader.ccid_descriptor = Bytes(54, 0x36);
    s.card = {"c0ffee", "mynumber", "contact", {0x3B, 0xDA}, true, true};
    s.status = status;
    model::StepResult step;
    step.step_id = "jpki.token";
    step.group = "token";
    step.title_en = "Read the token";
    step.title_ja = "トークンを読む";
    step.action = "read_ef";
    step.verdict = model::StepVerdict::Pass;
    step.reason_en = "ok";
    step.sw = 0x9000;
    step.duration_us = 1234;
    step.exchanges = {{"00 A4 02 0C 02 00 06", "90 00", 0x9000, 100, ""},
                      {"00 B0 00 00 20", "<redacted len=34>", 0x9000, 200, "redacted"}};
    s.suites = {{{"identify", "aa11"}, {step, step}}};
    s.suites[0].steps[1].step_id = "jpki.text";
    s.suites[0].steps[1].verdict = model::StepVerdict::Fail;
    s.suites[0].steps[1].sw = std::nullopt;
    return s;
}

} // namespace

BOOST_AUTO_TEST_CASE(fresh_database_is_migrated_to_the_latest_schema_with_wal_and_foreign_keys) {
    TempDir dir;
    const auto path = (dir.path / "sub" / "harness.db").string();
    store::Store st(path);
    BOOST_TEST(st.schema_version() == store::Store::latest_schema_version());
    BOOST_TEST(fs::exists(path));
    SQLite::Database raw(path);
    BOOST_TEST(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
    // Reopening does not re-run migrations.
    store::Store again(path);
    BOOST_TEST(again.schema_version() == store::Store::latest_schema_version());
}

BOOST_AUTO_TEST_CASE(run_round_trips_with_sessions_steps_exchanges_and_verdicts) {
    store::Store st(":memory:");
    auto run = make_run("11111111-2222-3333-4444-555555555555");
    st.begin_run(run);
    st.add_session(run.uuid, make_session("Lab Reader 00 00", model::RunStatus::Complete));
    st.add_session(run.uuid, make_session("Lab Reader 01 00", model::RunStatus::Incomplete));
    model::Verdict v{"Lab Reader 00 00",
                     "lab-short-261",
                     "mynumber",
                     "contact",
                     model::Compatibility::Incompatible,
                     "258-byte response failed",
                     "258バイト応答に失敗"};
    st.finish_run(run.uuid, model::RunStatus::Complete, "", "2026-11-24T10:01:00Z", {v});

    auto loaded = st.load_run("11111111").value();
    BOOST_TEST(loaded.uuid == run.uuid);
    BOOST_TEST(loaded.status == model::RunStatus::Complete);
    BOOST_TEST(loaded.ended_at == "2026-11-24T10:01:00Z");
    BOOST_TEST(loaded.environment.pcsclite_version == "1.9.9");
    BOOST_TEST(loaded.suites.size() == 2u);
    BOOST_REQUIRE(loaded.sessions.size() == 2u);
    const auto& s0 = loaded.sessions[0];
    BOOST_TEST(s0.reader.pcsc_name == "Lab Reader 00 00");
    BOOST_TEST(s0.reader.bcd_device.value() == 0x0102);
    BOOST_TEST(s0.reader.ccid_descriptor.size() == 54u);
    BOOST_TEST(s0.card.card_type == "mynumber");
    BOOST_TEST((s0.card.atr == Bytes{0x3B, 0xDA}));
    BOOST_REQUIRE(s0.suites.size() == 1u);
    BOOST_REQUIRE(s0.suites[0].steps.size() == 2u);
    BOOST_TEST(s0.suites[0].steps[0].title_ja == "トークンを読む");
    BOOST_TEST(s0.suites[0].steps[0].exchanges.size() == 2u);
    BOOST_TEST(s0.suites[0].steps[0].exchanges[1].response == "<redacted len=34>");
    BOOST_TEST(!s0.suites[0].steps[1].sw.has_value());
    BOOST_TEST(s0.suites[0].steps[1].verdict == model::StepVerdict::Fail);
    BOOST_TEST(loaded.sessions[1].status == model::RunStatus::Incomplete);
    BOOST_REQUIRE(loaded.verdicts.size() == 1u);
    BOOST_TEST(loaded.verdicts[0].verdict == model::Compatibility::Incompatible);
    BOOST_TEST(loaded.verdicts[0].diagnosis_ja == "258バイト応答に失敗");
    BOOST_TEST(!st.load_run("99999999").has_value());
}

BOOST_AUTO_TEST_CASE(an_interrupted_run_stays_visible_as_running_with_its_sessions_kept) {
    store::Store st(":memory:");
    auto run = make_run("aaaaaaaa-0000-0000-0000-000000000001");
    st.begin_run(run);
    st.add_session(run.uuid, make_session("Lab Reader 00 00", model::RunStatus::Complete));
    // The process dies here: finish_run never happens.
    auto runs = st.list_runs();
    BOOST_REQUIRE(runs.size() == 1u);
    BOOST_TEST(runs[0].status == model::RunStatus::Running);
    BOOST_TEST(runs[0].sessions == 1);
    BOOST_TEST(st.load_run(run.uuid)->sessions.at(0).suites.at(0).steps.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_failed_session_write_leaves_nothing_half_written) {
    store::Store st(":memory:");
    // No run with that uuid: the transaction rolls back and no reader/session rows remain.
    BOOST_CHECK_THROW(st.add_session("no-such-run", make_session("R", model::RunStatus::Complete)),
                      Error);
    BOOST_TEST(st.list_runs().empty());
}

BOOST_AUTO_TEST_CASE(no_key_is_kept_next_to_the_hashes) {
    // Version 1 kept a per-database salt in meta; with it, anyone holding the file could reverse
    // a marker of a My Number by trying all 10^12. The migration drops it (and secure_delete
    // leaves no copy in free pages); new databases never have one.
    TempDir dir;
    const auto old_db = (dir.path / "v1.db").string();
    {
        store::Store fresh(old_db);
        BOOST_TEST(fresh.schema_version() == store::Store::latest_schema_version());
    }
    const Bytes salt(32, 0xC7);
    {
        SQLite::Database raw(old_db, SQLite::OPEN_READWRITE);
        raw.exec("PRAGMA user_version = 1");
        SQLite::Statement ins(raw, "INSERT INTO meta (key, value) VALUES ('card_id_salt', ?)");
        ins.bind(1, salt.data(), static_cast<int>(salt.size()));
        ins.exec();
    }
    {
        store::Store migrated(old_db);
        BOOST_TEST(migrated.schema_version() == store::Store::latest_schema_version());
    }
    SQLite::Database raw(old_db, SQLite::OPEN_READWRITE);
    BOOST_TEST(raw.execAndGet("SELECT count(*) FROM meta WHERE key = 'card_id_salt'").getInt() ==
               0);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    std::ifstream in(old_db, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST(bytes.find(std::string(salt.begin(), salt.end())) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_database_is_owner_only) {
    TempDir dir;
    const auto path = dir.path / "h.db";
    {
        store::Store st(path.string());
        st.begin_run(make_run("r1"));
    }
    const auto mode = [](const fs::path& p) {
        return fs::status(p).permissions() & fs::perms::all;
    };
    BOOST_TEST((mode(path) == (fs::perms::owner_read | fs::perms::owner_write)));
    if (fs::exists(path.string() + "-wal"))
        BOOST_TEST(
            (mode(path.string() + "-wal") == (fs::perms::owner_read | fs::perms::owner_write)));
    // A database an older version left readable by everyone is tightened when opened.
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
    { store::Store again(path.string()); }
    BOOST_TEST((mode(path) == (fs::perms::owner_read | fs::perms::owner_write)));
}

BOOST_AUTO_TEST_CASE(not_a_database_and_newer_schema_are_usage_errors) {
    TempDir dir;
    const auto junk = (dir.path / "junk.db").string();
    std::ofstream(junk) << "this is not an SQLite database, just some text that is long enough"
                        << std::string(200, 'x');
    BOOST_CHECK_THROW(store::Store{junk}, UsageError);
    const auto future = (dir.path / "future.db").string();
    {
        SQLite::Database raw(future, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        raw.exec("PRAGMA user_version = 999");
    }
    BOOST_CHECK_THROW(store::Store{future}, UsageError);
}

BOOST_AUTO_TEST_CASE(two_processes_writing_to_one_database_both_succeed) {
    TempDir dir;
    const auto path = (dir.path / "shared.db").string();
    constexpr int runs_per_process = 40;
    pid_t children[2];
    for (int child = 0; child < 2; ++child) {
        children[child] = ::fork();
        BOOST_REQUIRE(children[child] >= 0);
        if (children[child] == 0) {
            int code = 0;
            try {
                store::Store st(path);
                for (int i = 0; i < runs_per_process; ++i) {
                    auto run = make_run("p" + std::to_string(child) + "-" + std::to_string(i));
                    st.begin_run(run);
                    st.add_session(run.uuid, make_session("Reader " + std::to_string(child),
                                                          model::RunStatus::Complete));
                    st.finish_run(run.uuid, model::RunStatus::Complete, "", "t", {});
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "child %d: %s\n", child, e.what());
                code = 1;
            }
            std::_Exit(code);
        }
    }
    for (pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        BOOST_TEST(WIFEXITED(status));
        BOOST_TEST(WEXITSTATUS(status) == 0);
    }
    store::Store st(path);
    const auto runs = st.list_runs();
    BOOST_TEST(runs.size() == 2u * runs_per_process);
    for (const auto& r : runs) {
        BOOST_TEST(r.status == model::RunStatus::Complete);
        BOOST_TEST(r.sessions == 1);
    }
}

BOOST_AUTO_TEST_CASE(a_card_with_an_empty_atr_is_stored_as_an_empty_blob) {
    store::Store st(":memory:");
    auto run = make_run("bbbbbbbb-0000-0000-0000-000000000002");
    st.begin_run(run);
    auto session = make_session("Lab Reader 00 00", model::RunStatus::Incomplete);
    session.card.atr.clear(); // a mute card: no ATR
    st.add_session(run.uuid, session);
    st.add_session(run.uuid, session); // the same card record again is found, not duplicated
    const auto loaded = st.load_run(run.uuid).value();
    BOOST_REQUIRE(loaded.sessions.size() == 2u);
    BOOST_TEST(loaded.sessions[1].card.card_type == "mynumber");
    BOOST_TEST(loaded.sessions[1].card.atr.empty());
}
