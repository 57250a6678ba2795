// The push declarations (backends/postgres/tables.cpp) against the real station schema: every
// declared local SQL runs on a database the store writes, the central migrations that shipped
// never change, and the generated statements key every row by station + run UUID + local key.
#include "backends/postgres/tables.hpp"
#include "services/store/copy_source.hpp"
#include "services/store/store.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/cardharness-central-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

model::Session session(const std::string& reader, bool with_card) {
    model::Session s;
    s.reader.pcsc_name = reader;
    s.reader.vid = 0x072F;
    s.reader.ccid_descriptor = Bytes{0x36, 0x21, 0x01};
    if (with_card)
        s.card = {"card-1", "mynumber", "contact", {0x3B, 0x8A}, true, true};
    model::StepResult step;
    step.step_id = "jpki.select";
    step.action = "select_aid";
    step.verdict = model::StepVerdict::Pass;
    step.sw = 0x9000;
    step.exchanges = {{"00 A4 04 0C", "", 0x9000, 10, ""}, {"00 B0 00 00 00", "", {}, 5, "x"}};
    model::StepResult step2 = step;
    step2.step_id = "jpki.read";
    step2.sw = std::nullopt;
    step2.verdict = model::StepVerdict::Fail;
    step2.failure = model::FailureKind::TooLong;
    step2.missing = {"pin:auth", "pin:sign"};
    step2.ccid_trace = {{"out", 12, "6F 05 00 00 00 00 07 00 00 00", "XfrBlock"}};
    s.suites = {{{"jpki-mynumber", std::string(64, 'a')}, {step, step2}}};
    return s;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string migration_text(int version) {
    std::string out;
    for (const auto& statement : central::migration(version))
        out += statement + ";\n";
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(declarations_are_consistent) {
    std::set<std::string> names;
    for (const auto& t : central::tables()) {
        BOOST_TEST_CONTEXT(t.name) {
            BOOST_TEST(names.insert(std::string(t.name)).second);
            BOOST_TEST(t.key <= t.columns.size());
            BOOST_TEST(t.columns.size() <= central::max_copy_columns);
            std::set<std::string> cols;
            for (const auto& c : t.columns) {
                BOOST_TEST(cols.insert(std::string(c.name)).second, "duplicate column " << c.name);
                BOOST_TEST(c.name != "station");
                BOOST_TEST(c.name != "run_uuid");
                BOOST_TEST(c.since >= t.since);
                BOOST_TEST(c.since <= central::schema_version());
            }
            // A table that merges changes of unfinished rows has the status they are read from.
            if (!t.merge.empty())
                BOOST_TEST(cols.count("status") == 1u);
            for (const auto m : t.merge)
                BOOST_TEST(cols.count(std::string(m)) == 1u, "merge column " << m);
            // Key columns come first and are never merged.
            for (std::size_t i = 0; i < t.key; ++i)
                BOOST_TEST((std::find(t.merge.begin(), t.merge.end(), t.columns[i].name) ==
                            t.merge.end()));
        }
    }
    // The run table comes first (children reference it) and is the only one without a key.
    BOOST_TEST(central::tables().front().name == "runs");
    BOOST_TEST(central::tables().front().key == 0u);
    for (std::size_t i = 1; i < central::tables().size(); ++i)
        BOOST_TEST(central::tables()[i].key >= 1u);
}

BOOST_AUTO_TEST_CASE(every_local_select_runs_on_the_station_schema_and_finds_the_run_rows) {
    TempDir dir;
    const auto path = (dir.path / "h.db").string();
    std::string uuid;
    {
        store::Store st(path);
        model::Run other;
        other.uuid = "other-run";
        other.started_at = "2026-01-01T00:00:00Z";
        st.begin_run(other);
        st.add_session(other.uuid, session("Other Reader 00 00", true));
        st.finish_run(other.uuid, model::RunStatus::Complete, "", "x", {});

        model::Run run;
        run.uuid = uuid = "the-run";
        run.started_at = "2026-01-02T00:00:00Z";
        run.suites = {{"jpki-mynumber", std::string(64, 'a')}};
        st.begin_run(run);
        st.add_session(run.uuid, session("Reader A 00 00", true));
        st.add_session(run.uuid, session("Reader B 00 00", false));
        st.finish_run(run.uuid, model::RunStatus::Complete, "", "2026-01-02T00:01:00Z",
                      {{"Reader A 00 00",
                        "",
                        "mynumber",
                        "contact",
                        model::Compatibility::Compatible,
                        "",
                        "",
                        {"message_too_long"}}});
    }
    store::CopySource source(path);
    const auto pending = source.pending("server", "st");
    BOOST_REQUIRE(pending.size() == 2u);
    const auto& run = pending[1];
    BOOST_TEST(run.uuid == uuid);
    const auto state = source.begin_snapshot(run.row_id);
    BOOST_REQUIRE(state.has_value());
    const std::map<std::string, std::size_t> expected{
        {"runs", 1},  {"run_suites", 1}, {"readers", 2},  {"cards", 1},          {"sessions", 2},
        {"steps", 4}, {"exchanges", 8},  {"verdicts", 1}, {"verdict_causes", 1}, {"ccid_trace", 2}};
    for (const auto& t : central::tables()) {
        BOOST_TEST_CONTEXT(t.name) {
            std::size_t width = 0;
            std::vector<std::vector<std::optional<std::string>>> rows;
            const auto n = source.rows(central::local_select(t), run.row_id,
                                       [&](const std::vector<store::CopyValue>& row) {
                                           width = row.size();
                                           std::vector<std::optional<std::string>> copy;
                                           for (const auto& v : row)
                                               copy.push_back(v ? std::optional<std::string>(*v)
                                                                : std::nullopt);
                                           rows.push_back(std::move(copy));
                                       });
            BOOST_TEST(n == expected.at(std::string(t.name)));
            BOOST_TEST(width == t.columns.size());
            if (t.name == "readers") {
                // bytea travels as \x hex; a missing descriptor stays NULL, not "\x".
                const auto col = 11u;
                BOOST_TEST(t.columns[col].name == "ccid_descriptor");
                BOOST_TEST(rows[0][col].value() == "\\x362101");
            }
            if (t.name == "sessions") {
                BOOST_TEST(t.columns[3].name == "card_local_id");
                BOOST_TEST(rows[0][3].has_value());
                BOOST_TEST(!rows[1][3].has_value()); // the session without a card
            }
            if (t.name == "runs")
                BOOST_TEST(rows[0][7].value() == "0"); // lab: boolean input accepts 0/1
            if (t.name == "steps") {
                // The typed facts of central schema 3, as the station stored them.
                BOOST_TEST(t.columns[16].name == "failure");
                BOOST_TEST(rows[1][16].value() == "too_long");
                BOOST_TEST(rows[1][17].value() == "pin:auth pin:sign");
            }
            if (t.name == "verdict_causes")
                BOOST_TEST(rows[0][2].value() == "message_too_long");
        }
    }
    source.end_snapshot();
}

BOOST_AUTO_TEST_CASE(shipped_central_migrations_never_change) {
    // A shipped migration may already have run on a server: change the schema by declaring a
    // column with `since` = the next version (or adding SQL for it), never by editing these.
    const fs::path dir = fs::path(CARDHARNESS_SOURCE_DIR) / "tests/fixtures/central";
    for (int v = 1; v <= central::schema_version(); ++v) {
        const auto file = dir / ("migration_" + std::to_string(v) + ".sql");
        if (!fs::exists(file)) {
            if (std::getenv("CARDHARNESS_UPDATE_FIXTURES")) {
                std::ofstream(file) << migration_text(v);
                continue;
            }
            BOOST_FAIL("no pinned copy of central migration " << v << " at " << file
                                                              << " (run once with "
                                                                 "CARDHARNESS_UPDATE_FIXTURES=1)");
        }
        BOOST_TEST_CONTEXT("central migration " << v) {
            BOOST_TEST(migration_text(v) == read_file(file));
        }
    }
}

BOOST_AUTO_TEST_CASE(generated_statements_key_rows_by_station_run_and_local_key) {
    const auto run = central::insert_run_from_staging();
    const auto merge = central::insert_rows_from_staging(central::InsertMode::Merge);
    const auto fresh = central::insert_rows_from_staging(central::InsertMode::FreshRun);
    BOOST_TEST(run.find("ON CONFLICT (station, run_uuid) DO UPDATE SET") != std::string::npos);
    BOOST_TEST(run.find("status IN ('running', 'interrupted')") != std::string::npos);
    BOOST_TEST(run.find("RETURNING (xmax = 0) AS inserted") != std::string::npos);
    BOOST_TEST(run.find("WHERE tbl = 0") != std::string::npos);
    // Only a run just inserted skips the conflict clauses.
    BOOST_TEST(fresh.find("ON CONFLICT") == std::string::npos);
    for (const auto* sql : {&merge, &fresh})
        BOOST_TEST(sql->find("emptied AS (DELETE FROM pg_temp.ch_stage)") != std::string::npos);
    for (std::size_t i = 1; i < central::tables().size(); ++i) {
        const auto& t = central::tables()[i];
        const std::string target = "INSERT INTO cardharness." + std::string(t.name) + " (";
        BOOST_TEST_CONTEXT(t.name) {
            BOOST_TEST(merge.find(target + "station, run_uuid, " +
                                  std::string(t.columns[0].name)) != std::string::npos);
            BOOST_TEST(merge.find("WHERE tbl = " + std::to_string(i) +
                                  " ON CONFLICT (station, "
                                  "run_uuid, " +
                                  std::string(t.columns[0].name)) != std::string::npos);
            BOOST_TEST(fresh.find("WHERE tbl = " + std::to_string(i)) != std::string::npos);
        }
    }
    const auto cols = central::staging_columns();
    BOOST_TEST(cols.size() == central::staging_width() + 1);
    BOOST_TEST(cols.size() <= central::max_copy_columns);
    BOOST_TEST(central::create_staging_table().find("CREATE TEMPORARY TABLE ch_stage (tbl ") == 0u);
    // Station separation is part of the schema: every data table gets row-level security.
    std::string all;
    for (int v = 1; v <= central::schema_version(); ++v)
        all += migration_text(v);
    for (const auto& t : central::tables()) {
        const std::string q = "cardharness." + std::string(t.name);
        BOOST_TEST(all.find("ALTER TABLE " + q + " FORCE ROW LEVEL SECURITY") != std::string::npos);
        BOOST_TEST(all.find("CREATE POLICY " + std::string(t.name) + "_write ON " + q) !=
                   std::string::npos);
    }
    // FreshRun inserts without a conflict clause: sound only because every other table's rows
    // need their run row (a foreign key), which this transaction has just inserted.
    for (int v = 1; v <= central::schema_version(); ++v)
        for (const auto& statement : central::migration(v))
            for (const auto& t : central::tables())
                if (t.key != 0 &&
                    statement.rfind("CREATE TABLE cardharness." + std::string(t.name) + " (", 0) ==
                        0)
                    BOOST_TEST(statement.find("FOREIGN KEY (station, run_uuid) REFERENCES "
                                              "cardharness.runs") != std::string::npos,
                               t.name << " lacks its foreign key to runs");
    BOOST_CHECK_THROW(central::migration(0), std::out_of_range);
    BOOST_CHECK_THROW(central::migration(central::schema_version() + 1), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(a_column_or_table_declared_for_the_next_version_gets_its_own_migration) {
    // What another change does: a station column (since = next version) and a new table.
    auto declarations = central::tables();
    const int next = central::schema_version() + 1;
    auto& steps = *std::find_if(declarations.begin(), declarations.end(),
                                [](const central::Table& t) { return t.name == "steps"; });
    steps.columns.push_back({"failure_kind", central::ColumnType::Text, "st.failure_kind", next});
    auto& runs = declarations.front();
    runs.columns.push_back({"holder_pid", central::ColumnType::Integer, "r.pid", next});
    central::Table extra{"notes",
                         "notes n WHERE n.run_id = ?1",
                         {{"local_id", central::ColumnType::BigInt, "n.id", next},
                          {"text", central::ColumnType::Text, "n.text", next}},
                         1,
                         {},
                         next};
    declarations.push_back(extra);
    BOOST_TEST(central::schema_version(declarations) == next);
    // Earlier versions are untouched by the new declarations.
    for (int v = 1; v < next; ++v)
        BOOST_TEST(central::migration(declarations, v) == central::migration(v));
    std::string sql;
    for (const auto& statement : central::migration(declarations, next))
        sql += statement + ";\n";
    BOOST_TEST_MESSAGE(sql);
    for (const char* expected :
         {"ALTER TABLE cardharness.steps ADD COLUMN failure_kind text;",
          "GRANT INSERT (failure_kind) ON cardharness.steps TO PUBLIC;",
          "ALTER TABLE cardharness.runs ADD COLUMN holder_pid integer;",
          "GRANT INSERT (holder_pid) ON cardharness.runs TO PUBLIC;",
          "CREATE TABLE cardharness.notes (", "    PRIMARY KEY (station, run_uuid, local_id)",
          "REFERENCES cardharness.runs ON DELETE CASCADE",
          "ALTER TABLE cardharness.notes FORCE ROW LEVEL SECURITY;",
          "CREATE POLICY notes_write ON cardharness.notes FOR INSERT WITH CHECK",
          "GRANT INSERT (station, run_uuid, local_id, text) ON cardharness.notes TO PUBLIC;"})
        BOOST_TEST(sql.find(expected) != std::string::npos, "missing: " << expected);
    // Nothing else of the old tables is redone.
    BOOST_TEST(sql.find("CREATE TABLE cardharness.steps") == std::string::npos);
    BOOST_TEST(sql.find("CREATE POLICY steps_") == std::string::npos);
    BOOST_TEST(sql.find("GRANT UPDATE") == std::string::npos);
}
