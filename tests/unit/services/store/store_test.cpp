#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
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
    s.suites[0].steps[0].started_us = 1500000; // 1.5 s after the run's start
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
    // The step's start time (schema 7) comes back; a step without one stays without (NULL).
    BOOST_TEST(s0.suites[0].steps[0].started_us.value() == 1500000);
    BOOST_TEST(!s0.suites[0].steps[1].started_us.has_value());
    BOOST_TEST(loaded.sessions[1].status == model::RunStatus::Incomplete);
    BOOST_REQUIRE(loaded.verdicts.size() == 1u);
    BOOST_TEST(loaded.verdicts[0].verdict == model::Compatibility::Incompatible);
    BOOST_TEST(loaded.verdicts[0].diagnosis_ja == "258バイト応答に失敗");
    BOOST_TEST(!st.load_run("99999999").has_value());
}

// A session stores its steps and exchanges several rows per INSERT: a long session (more rows
// than one group, a shorter last group, two suites, steps without exchanges or with several, CCID
// traces) comes back whole and in order, each exchange and trace on its own step.
BOOST_AUTO_TEST_CASE(a_long_session_round_trips_in_order_across_insert_groups) {
    TempDir dir;
    const auto path = (dir.path / "harness.db").string();
    store::Store st(path);
    auto run = make_run("22222222-2222-3333-4444-555555555555");
    st.begin_run(run);
    st.add_session(run.uuid, make_session("Lab Reader 00 00", model::RunStatus::Complete));

    auto s = make_session("Lab Reader 01 00", model::RunStatus::Incomplete);
    s.suites = {{{"identify", "aa11"}, {}}, {{"transport", "bb22"}, {}}};
    for (int k = 0; k < 75; ++k) {
        model::StepResult step;
        step.step_id = "step." + std::to_string(k);
        step.group = "g" + std::to_string(k % 3);
        step.title_en = "Step " + std::to_string(k);
        step.title_ja = "手順 " + std::to_string(k);
        step.action = "apdu";
        step.verdict = k % 5 == 0 ? model::StepVerdict::Skip : model::StepVerdict::Pass;
        step.reason_en = k % 2 == 0 ? "" : "reason " + std::to_string(k);
        if (k % 3 != 0)
            step.sw = static_cast<std::uint16_t>(0x9000 + k);
        step.duration_us = 10 * k;
        if (k % 7 == 0)
            step.measurements_json = "{\"n\":" + std::to_string(k) + "}";
        if (k % 5 == 0)
            step.missing = {"pin:auth", "card:" + std::to_string(k)};
        if (k % 4 == 0)
            step.started_us = 1000 * k;
        for (int e = 0; e < k % 4; ++e) {
            model::Exchange x{"00 A4 " + std::to_string(k), "90 0" + std::to_string(e), 0x9000, e,
                              e == 1 ? "note " + std::to_string(k) : ""};
            if (e == 2)
                x.failure = model::FailureKind::Timeout;
            if (e != 1)
                x.response_size = static_cast<std::size_t>(k + e);
            step.exchanges.push_back(x);
        }
        if (k % 11 == 1)
            step.ccid_trace = {{"out", 5, "6F " + std::to_string(k), ""},
                               {"in", 9, "80 " + std::to_string(k), "ok"}};
        s.suites[k < 40 ? 0 : 1].steps.push_back(step);
    }
    // A write that fails in the middle of its groups leaves nothing behind, and the store's
    // reused statements still work afterwards.
    {
        SQLite::Database raw(path, SQLite::OPEN_READWRITE);
        raw.exec("CREATE TRIGGER boom BEFORE INSERT ON exchanges WHEN NEW.command = 'boom' "
                 "BEGIN SELECT RAISE(ABORT, 'boom'); END");
    }
    auto broken = s;
    broken.suites[1].steps[30].exchanges[0].command = "boom";
    BOOST_CHECK_THROW(st.add_session(run.uuid, broken), std::exception);
    {
        SQLite::Database raw(path, SQLite::OPEN_READWRITE);
        raw.exec("DROP TRIGGER boom");
        BOOST_TEST(raw.execAndGet("SELECT count(*) FROM steps").getInt() == 2);
        BOOST_TEST(raw.execAndGet("SELECT count(*) FROM exchanges").getInt() == 4);
    }
    st.add_session(run.uuid, s);

    const auto loaded = st.load_run(run.uuid).value();
    BOOST_REQUIRE(loaded.sessions.size() == 2u);
    const auto& got = loaded.sessions[1];
    BOOST_REQUIRE(got.suites.size() == 2u);
    for (std::size_t u = 0; u < 2; ++u) {
        BOOST_TEST(got.suites[u].suite.id == s.suites[u].suite.id);
        BOOST_TEST(got.suites[u].suite.content_hash == s.suites[u].suite.content_hash);
        BOOST_REQUIRE(got.suites[u].steps.size() == s.suites[u].steps.size());
        for (std::size_t i = 0; i < s.suites[u].steps.size(); ++i) {
            const auto& a = s.suites[u].steps[i];
            const auto& b = got.suites[u].steps[i];
            BOOST_TEST(b.step_id == a.step_id);
            BOOST_TEST(b.group == a.group);
            BOOST_TEST(b.title_en == a.title_en);
            BOOST_TEST(b.title_ja == a.title_ja);
            BOOST_TEST(b.verdict == a.verdict);
            BOOST_TEST(b.reason_en == a.reason_en);
            BOOST_TEST((b.sw == a.sw));
            BOOST_TEST(b.duration_us == a.duration_us);
            BOOST_TEST(b.measurements_json ==
                       (a.measurements_json.empty() ? "{}" : a.measurements_json));
            BOOST_TEST(b.missing == a.missing);
            BOOST_TEST((b.started_us == a.started_us));
            BOOST_REQUIRE(b.exchanges.size() == a.exchanges.size());
            for (std::size_t e = 0; e < a.exchanges.size(); ++e) {
                BOOST_TEST(b.exchanges[e].command == a.exchanges[e].command);
                BOOST_TEST(b.exchanges[e].response == a.exchanges[e].response);
                BOOST_TEST(b.exchanges[e].duration_us == a.exchanges[e].duration_us);
                BOOST_TEST(b.exchanges[e].note == a.exchanges[e].note);
                BOOST_TEST(b.exchanges[e].failure == a.exchanges[e].failure);
                BOOST_TEST((b.exchanges[e].response_size == a.exchanges[e].response_size));
            }
            BOOST_REQUIRE(b.ccid_trace.size() == a.ccid_trace.size());
            for (std::size_t m = 0; m < a.ccid_trace.size(); ++m) {
                BOOST_TEST(b.ccid_trace[m].direction == a.ccid_trace[m].direction);
                BOOST_TEST(b.ccid_trace[m].offset_us == a.ccid_trace[m].offset_us);
                BOOST_TEST(b.ccid_trace[m].message == a.ccid_trace[m].message);
                BOOST_TEST(b.ccid_trace[m].note == a.ccid_trace[m].note);
            }
        }
    }
    // Row ids follow the steps' order, after the first session's, as one-row inserts gave them.
    SQLite::Database raw(path);
    BOOST_TEST(raw.execAndGet("SELECT count(*) FROM steps s JOIN steps t ON t.session_id = "
                              "s.session_id AND t.seq = s.seq + 1 WHERE t.id != s.id + 1")
                   .getInt() == 0);
    BOOST_TEST(raw.execAndGet("SELECT min(id) FROM steps WHERE session_id = (SELECT max(id) "
                              "FROM sessions)")
                   .getInt() == 3);
    BOOST_TEST(
        raw.execAndGet("SELECT count(*) FROM exchanges e JOIN exchanges f ON f.id = e.id + 1 "
                       "JOIN steps a ON a.id = e.step_row JOIN steps b ON b.id = f.step_row "
                       "WHERE b.id < a.id OR (b.id = a.id AND f.seq != e.seq + 1)")
            .getInt() == 0);
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
        // Schema 2 is the last one that kept the salt (migration 3 drops it): rewind the file to
        // it (what migrations 4 to 7 add goes too).
        raw.exec("DROP TABLE central_pushes; DROP TABLE central_servers; DROP TABLE ccid_trace; "
                 "DROP TABLE survey_results; DROP TABLE run_sources; "
                 "ALTER TABLE steps DROP COLUMN started_us");
        raw.exec("PRAGMA user_version = 2");
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

// ---- Issue 8 §4: nothing half-written, nothing hidden. ----------------------------------------

namespace {

// Schema version 1 as shipped (the first cardharness release), to test the migration of a real
// older database.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE readers (
    id                  INTEGER PRIMARY KEY,
    identity_key        TEXT NOT NULL UNIQUE,
    pcsc_name           TEXT NOT NULL,
    vid                 INTEGER,
    pid                 INTEGER,
    bcd_device          INTEGER,
    manufacturer        TEXT NOT NULL DEFAULT '',
    product             TEXT NOT NULL DEFAULT '',
    serial              TEXT NOT NULL DEFAULT '',
    driver              TEXT NOT NULL DEFAULT '',
    reader_model        TEXT NOT NULL DEFAULT '',
    ccid_descriptor     BLOB,
    descriptor_findings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE cards (
    id        INTEGER PRIMARY KEY,
    card_id   TEXT NOT NULL,
    card_type TEXT NOT NULL,
    interface TEXT NOT NULL,
    atr       BLOB NOT NULL,
    emulated  INTEGER NOT NULL CHECK (emulated IN (0, 1)),
    test_card INTEGER NOT NULL CHECK (test_card IN (0, 1)),
    UNIQUE (card_id, card_type, interface, atr, emulated, test_card)
);
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    uuid             TEXT NOT NULL UNIQUE,
    started_at       TEXT NOT NULL,
    ended_at         TEXT NOT NULL DEFAULT '',
    host             TEXT NOT NULL DEFAULT '',
    os               TEXT NOT NULL DEFAULT '',
    pcsclite_version TEXT NOT NULL DEFAULT '',
    libccid_version  TEXT NOT NULL DEFAULT '',
    harness_version  TEXT NOT NULL DEFAULT '',
    lab              INTEGER NOT NULL CHECK (lab IN (0, 1)),
    status           TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete')),
    cause            TEXT NOT NULL DEFAULT ''
);
CREATE TABLE run_suites (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    suite_id     TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (run_id, suite_id)
);
CREATE TABLE sessions (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    reader_id INTEGER NOT NULL REFERENCES readers(id),
    card_id   INTEGER REFERENCES cards(id),
    status    TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete')),
    cause     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE steps (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    suite_id     TEXT NOT NULL,
    suite_hash   TEXT NOT NULL,
    step_id      TEXT NOT NULL,
    grp          TEXT NOT NULL DEFAULT '',
    title_en     TEXT NOT NULL DEFAULT '',
    title_ja     TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL DEFAULT '',
    verdict      TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'skip', 'error', 'aborted')),
    reason_en    TEXT NOT NULL DEFAULT '',
    reason_ja    TEXT NOT NULL DEFAULT '',
    sw           INTEGER,
    duration_us  INTEGER NOT NULL DEFAULT 0,
    measurements TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE exchanges (
    id          INTEGER PRIMARY KEY,
    step_row    INTEGER NOT NULL REFERENCES steps(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    command     TEXT NOT NULL,
    response    TEXT NOT NULL,
    sw          INTEGER,
    duration_us INTEGER NOT NULL DEFAULT 0,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE TABLE verdicts (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    reader       TEXT NOT NULL,
    reader_model TEXT NOT NULL DEFAULT '',
    card_type    TEXT NOT NULL,
    interface    TEXT NOT NULL,
    verdict      TEXT NOT NULL CHECK (verdict IN ('compatible', 'partial', 'incompatible', 'untested')),
    diagnosis_en TEXT NOT NULL DEFAULT '',
    diagnosis_ja TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_run ON sessions(run_id);
CREATE INDEX steps_by_session ON steps(session_id);
CREATE INDEX exchanges_by_step ON exchanges(step_row);
CREATE INDEX verdicts_by_run ON verdicts(run_id);
)sql";

model::Verdict verdict_of(const model::Session& s, model::Compatibility v,
                          std::vector<std::string> causes) {
    model::Verdict out{s.reader.pcsc_name,
                       s.reader.reader_model,
                       s.card.card_type,
                       s.card.interface,
                       v,
                       "diagnosis",
                       "診断",
                       std::move(causes)};
    return out;
}

std::int64_t count(const std::string& path, const std::string& table) {
    SQLite::Database raw(path);
    return raw.execAndGet("SELECT COUNT(*) FROM " + table).getInt64();
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

BOOST_AUTO_TEST_CASE(a_session_and_its_verdict_land_together_with_typed_facts) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    store::Store st(path);
    auto run = make_run("cccccccc-0000-0000-0000-000000000003");
    run.owner = {"host1", 4242, "boot/123"};
    st.begin_run(run);
    auto s = make_session("Lab Reader 00 00", model::RunStatus::Incomplete);
    s.failure = model::FailureKind::NoService;
    s.suites[0].steps[1].failure = model::FailureKind::Communication;
    s.suites[0].steps[1].missing = {"pin:auth", "extended_apdu"};
    s.suites[0].steps[1].exchanges[0].failure = model::FailureKind::Communication;
    s.suites[0].steps[0].exchanges[1].response_size = 34;
    st.add_session(run.uuid, s,
                   verdict_of(s, model::Compatibility::Untested, {"pcscd_lost", "card_removed"}));
    const auto loaded = st.load_run(run.uuid).value();
    BOOST_REQUIRE(loaded.verdicts.size() == 1U);
    BOOST_TEST(
        (loaded.verdicts[0].causes == std::vector<std::string>{"pcscd_lost", "card_removed"}));
    const auto& ls = loaded.sessions.at(0);
    BOOST_TEST((ls.failure == model::FailureKind::NoService));
    BOOST_TEST((ls.suites[0].steps[1].failure == model::FailureKind::Communication));
    BOOST_TEST(
        (ls.suites[0].steps[1].missing == std::vector<std::string>{"pin:auth", "extended_apdu"}));
    BOOST_TEST((ls.suites[0].steps[1].exchanges[0].failure == model::FailureKind::Communication));
    BOOST_TEST(ls.suites[0].steps[0].exchanges[1].response_size.value() == 34U);
    BOOST_TEST(!ls.suites[0].steps[0].exchanges[0].response_size.has_value());
    BOOST_TEST(loaded.owner.pid == 4242);
    BOOST_TEST(loaded.owner.process_start == "boot/123");
    SQLite::Database raw(path);
    BOOST_TEST(
        raw.execAndGet("SELECT COUNT(*) FROM verdicts WHERE session_id IS NOT NULL").getInt() == 1);
}

BOOST_AUTO_TEST_CASE(a_verdict_that_cannot_be_written_takes_its_session_with_it) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    store::Store st(path);
    auto run = make_run("dddddddd-0000-0000-0000-000000000004");
    st.begin_run(run);
    const auto s = make_session("Lab Reader 00 00", model::RunStatus::Complete);
    st.add_session(run.uuid, s, verdict_of(s, model::Compatibility::Compatible, {"all_passed"}));
    {
        // The verdict insert fails after the session's rows went in (as a full disk would).
        SQLite::Database raw(path, SQLite::OPEN_READWRITE);
        raw.exec("CREATE TRIGGER no_verdicts BEFORE INSERT ON verdicts BEGIN "
                 "SELECT RAISE(ABORT, 'simulated write failure'); END");
    }
    BOOST_CHECK_THROW(
        st.add_session(run.uuid, s, verdict_of(s, model::Compatibility::Compatible, {})), Error);
    BOOST_TEST(count(path, "sessions") == 1);
    BOOST_TEST(count(path, "steps") == 2);
    BOOST_TEST(count(path, "verdicts") == 1);
    BOOST_TEST(count(path, "exchanges") == 4);
}

BOOST_AUTO_TEST_CASE(a_stale_running_run_is_marked_interrupted_and_a_live_one_is_not) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    {
        store::Store st(path);
        auto dead = make_run("eeeeeeee-0000-0000-0000-000000000005");
        dead.owner = {"host1", 111, "boot/1"};
        st.begin_run(dead);
        st.add_session(dead.uuid, make_session("Lab Reader 00 00", model::RunStatus::Complete));
        auto alive = make_run("ffffffff-0000-0000-0000-000000000006");
        alive.started_at = "2026-11-24T11:00:00Z";
        alive.owner = {"host1", 222, "boot/2"};
        st.begin_run(alive);
    }
    const store::OwnerGone gone = [](const model::RunOwner& o) { return o.pid == 111; };
    // Read-only: shown as interrupted, the file is not written.
    const std::string before = file_bytes(path);
    {
        store::Store ro(path, store::Access::ReadOnly, gone);
        const auto runs = ro.list_runs();
        BOOST_REQUIRE(runs.size() == 2U);
        BOOST_TEST(runs[1].uuid == "eeeeeeee-0000-0000-0000-000000000005");
        BOOST_TEST((runs[1].status == model::RunStatus::Interrupted));
        BOOST_TEST(runs[1].cause.find("pid 111") != std::string::npos);
        BOOST_TEST((runs[0].status == model::RunStatus::Running));
        BOOST_TEST((ro.load_run("eeeeeeee")->status == model::RunStatus::Interrupted));
    }
    BOOST_TEST((file_bytes(path) == before));
    {
        SQLite::Database raw(path);
        BOOST_TEST(raw.execAndGet("SELECT status FROM runs WHERE owner_pid = 111").getString() ==
                   "running");
    }
    // The next run marks it.
    store::Store st(path, store::Access::ReadWrite, gone);
    const auto marked = st.mark_interrupted();
    BOOST_REQUIRE(marked.size() == 1U);
    BOOST_TEST(marked[0].uuid == "eeeeeeee-0000-0000-0000-000000000005");
    SQLite::Database raw(path);
    BOOST_TEST(raw.execAndGet("SELECT status FROM runs WHERE owner_pid = 111").getString() ==
               "interrupted");
    BOOST_TEST(raw.execAndGet("SELECT status FROM runs WHERE owner_pid = 222").getString() ==
               "running");
    BOOST_TEST(st.mark_interrupted().empty());
}

BOOST_AUTO_TEST_CASE(a_version_1_database_migrates_and_reads_read_only_without_writing) {
    TempDir dir;
    const auto path = (dir.path / "v1.db").string();
    {
        SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        raw.exec("PRAGMA journal_mode = WAL");
        raw.exec(schema_v1);
        raw.exec("PRAGMA user_version = 1");
        raw.exec("INSERT INTO runs (uuid, started_at, host, lab, status) VALUES "
                 "('11111111-aaaa', '2025-01-01T00:00:00Z', 'h', 1, 'running')");
        raw.exec("INSERT INTO readers (identity_key, pcsc_name) VALUES ('k', 'Reader 0')");
        raw.exec("INSERT INTO sessions (run_id, seq, reader_id, status) VALUES (1, 0, 1, "
                 "'complete')");
        raw.exec("INSERT INTO steps (session_id, seq, suite_id, suite_hash, step_id, verdict) "
                 "VALUES (1, 0, 's', 'h', 'a', 'pass')");
        raw.exec("INSERT INTO verdicts (run_id, reader, card_type, interface, verdict) VALUES "
                 "(1, 'Reader 0', 'mynumber', 'contact', 'compatible')");
    }
    const std::string before = file_bytes(path);
    {
        store::Store ro(path, store::Access::ReadOnly);
        BOOST_TEST(ro.schema_version() == store::Store::latest_schema_version());
        const auto run = ro.load_run("11111111").value();
        BOOST_TEST(run.sessions.size() == 1U);
        BOOST_TEST(run.verdicts.size() == 1U);
        BOOST_TEST(run.sessions[0].suites.at(0).steps.size() == 1U);
        // A step stored before schema 7 has no start time.
        BOOST_TEST(!run.sessions[0].suites.at(0).steps.at(0).started_us.has_value());
    }
    BOOST_TEST((file_bytes(path) == before));
    {
        SQLite::Database raw(path);
        BOOST_TEST(raw.execAndGet("PRAGMA user_version").getInt() == 1);
    }
    // Read-write migrates in place, keeping every row and every link.
    {
        store::Store st(path, store::Access::ReadWrite,
                        [](const model::RunOwner&) { return true; });
        BOOST_TEST(st.schema_version() == store::Store::latest_schema_version());
        BOOST_TEST(st.mark_interrupted().size() == 1U); // 'interrupted' passes the new CHECK
        const auto run = st.load_run("11111111").value();
        BOOST_TEST((run.status == model::RunStatus::Interrupted));
        BOOST_TEST(run.sessions.size() == 1U);
    }
    SQLite::Database raw(path);
    SQLite::Statement fk(raw, "PRAGMA foreign_key_check");
    BOOST_TEST(!fk.executeStep());
    BOOST_TEST(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
    // The children still reference the rebuilt runs table.
    const std::string sql =
        raw.execAndGet("SELECT sql FROM sqlite_schema WHERE name = 'sessions'").getString();
    BOOST_TEST(sql.find("REFERENCES runs(id)") != std::string::npos);
    // Migration 8 edited the steps' verdict CHECK in place (comparisons, not IN).
    const std::string steps =
        raw.execAndGet("SELECT sql FROM sqlite_schema WHERE name = 'steps'").getString();
    BOOST_TEST(steps.find("verdict IN") == std::string::npos);
    BOOST_TEST(steps.find("verdict = 'aborted'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_steps_verdict_check_refuses_what_it_refused_without_a_temporary_table) {
    // Issue 11: a constant IN list in a CHECK made SQLite build a temporary b-tree for every step
    // inserted; migration 8 writes the same constraint as comparisons.
    TempDir dir;
    const auto path = (dir.path / "c.db").string();
    { store::Store fresh(path); }
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("INSERT INTO runs (uuid, started_at, host, lab, status) VALUES "
             "('22222222-bbbb', '2025-01-01T00:00:00Z', 'h', 1, 'running')");
    raw.exec("INSERT INTO readers (identity_key, pcsc_name) VALUES ('k', 'Reader 0')");
    raw.exec("INSERT INTO sessions (run_id, seq, reader_id, status) VALUES (1, 0, 1, 'complete')");
    const auto insert = [&](const std::string& verdict) {
        raw.exec("INSERT INTO steps (session_id, seq, suite_id, suite_hash, step_id, verdict) "
                 "VALUES (1, 0, 's', 'h', 'a', '" +
                 verdict + "')");
    };
    for (const char* verdict : {"pass", "fail", "skip", "error", "aborted"})
        BOOST_CHECK_NO_THROW(insert(verdict));
    for (const char* verdict : {"PASS", "passed", "", "untested"})
        BOOST_CHECK_THROW(insert(verdict), SQLite::Exception);
    bool ephemeral = false;
    SQLite::Statement plan(raw, "EXPLAIN INSERT INTO steps (session_id, seq, suite_id, suite_hash, "
                                "step_id, verdict) VALUES (1, 0, 's', 'h', 'a', 'pass')");
    while (plan.executeStep())
        ephemeral = ephemeral || plan.getColumn(1).getString() == "OpenEphemeral";
    BOOST_TEST(!ephemeral);
    BOOST_TEST(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
}

BOOST_AUTO_TEST_CASE(a_corrupt_page_is_named_and_refused) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    {
        store::Store st(path);
        auto run = make_run("abababab-0000-0000-0000-000000000007");
        st.begin_run(run);
        auto s = make_session("Lab Reader 00 00", model::RunStatus::Complete);
        for (int i = 0; i < 40; ++i)
            s.suites[0].steps.push_back(s.suites[0].steps[0]);
        for (int i = 0; i < 5; ++i)
            st.add_session(run.uuid, s);
    }
    std::int64_t page = 0;
    {
        SQLite::Database raw(path, SQLite::OPEN_READWRITE);
        raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        // A leaf page of the steps table, which every reader of the run reads.
        page = raw.execAndGet("SELECT pageno FROM dbstat WHERE name = 'steps' AND pagetype = "
                              "'leaf' ORDER BY pageno LIMIT 1 OFFSET (SELECT count(*) / 2 FROM "
                              "dbstat WHERE name = 'steps' AND pagetype = 'leaf')")
                   .getInt64();
    }
    const auto size = fs::file_size(path);
    BOOST_REQUIRE(size > 8 * 4096);
    BOOST_REQUIRE(page > 1);
    {
        // Overwrite that page with garbage.
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>((page - 1) * 4096));
        const std::string junk(4096, '\x5A');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    try {
        store::Store st(path);
        st.check_integrity();
        BOOST_FAIL("a corrupt database passed quick_check");
    } catch (const store::StoreError& e) {
        BOOST_TEST((e.failure() == store::StoreFailure::Corrupt));
        BOOST_TEST(std::string(e.what()).find(path) != std::string::npos);
    }
    // Reading it (report, diff) names the file too, as an environment error (exit 3).
    try {
        store::Store ro(path, store::Access::ReadOnly);
        for (const auto& r : ro.list_runs())
            (void)ro.load_run(r.uuid);
        BOOST_FAIL("reading a corrupt database succeeded");
    } catch (const store::StoreError& e) {
        BOOST_TEST(std::string(e.what()).find(path) != std::string::npos);
    }
}
