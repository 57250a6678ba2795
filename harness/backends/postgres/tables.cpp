#include "backends/postgres/tables.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace harness::central {
namespace {

using T = ColumnType;

// The declarations. Local SQL aliases: r runs, s sessions, st steps, e exchanges, v verdicts,
// rd readers, c cards, rs run_suites. The run's own UUID and the station are not columns here:
// every central row carries them as (station, run_uuid).
std::vector<Table> make_tables() {
    return {
        {"runs",
         "runs r WHERE r.id = ?1",
         {
             {"started_at", T::Text, "r.started_at"},
             {"ended_at", T::Text, "r.ended_at"},
             {"host", T::Text, "r.host"},
             {"os", T::Text, "r.os"},
             {"pcsclite_version", T::Text, "r.pcsclite_version"},
             {"libccid_version", T::Text, "r.libccid_version"},
             {"harness_version", T::Text, "r.harness_version"},
             {"lab", T::Boolean, "r.lab"},
             {"status", T::Text, "r.status"},
             {"cause", T::Text, "r.cause"},
             // Version 3: a survey run (`cardharness survey`, driver-level) is marked so;
             // reports leave it out unless asked, as they do on the station.
             {"source", T::Text,
              "coalesce((SELECT src.source FROM run_sources src WHERE src.run_id = r.id), '')", 3},
         },
         0,
         {"status", "ended_at", "cause"}},
        {"run_suites",
         "run_suites rs WHERE rs.run_id = ?1",
         {
             {"suite_id", T::Text, "rs.suite_id"},
             {"content_hash", T::Text, "rs.content_hash"},
         },
         1},
        // Readers and cards as the run's sessions reference them (a copy per run, so every run
        // on the server is complete in itself and never changes after it is finished).
        {"readers",
         "readers rd WHERE rd.id IN (SELECT s.reader_id FROM sessions s WHERE s.run_id = ?1)",
         {
             {"local_id", T::BigInt, "rd.id"},
             {"identity_key", T::Text, "rd.identity_key"},
             {"pcsc_name", T::Text, "rd.pcsc_name"},
             {"vid", T::Integer, "rd.vid"},
             {"pid", T::Integer, "rd.pid"},
             {"bcd_device", T::Integer, "rd.bcd_device"},
             {"manufacturer", T::Text, "rd.manufacturer"},
             {"product", T::Text, "rd.product"},
             {"serial", T::Text, "rd.serial"},
             {"driver", T::Text, "rd.driver"},
             {"reader_model", T::Text, "rd.reader_model"},
             {"ccid_descriptor", T::Bytea, "rd.ccid_descriptor"},
             {"descriptor_findings", T::Text, "rd.descriptor_findings"},
         },
         1},
        // Card ids are the station's anonymous ids: keyed with the station's own secret, so the
        // same card gets unrelated ids on two stations (never joinable on the server).
        {"cards",
         "cards c WHERE c.id IN (SELECT s.card_id FROM sessions s WHERE s.run_id = ?1)",
         {
             {"local_id", T::BigInt, "c.id"},
             {"card_id", T::Text, "c.card_id"},
             {"card_type", T::Text, "c.card_type"},
             {"interface", T::Text, "c.interface"},
             {"atr", T::Bytea, "c.atr"},
             {"emulated", T::Boolean, "c.emulated"},
             {"test_card", T::Boolean, "c.test_card"},
         },
         1},
        {"sessions",
         "sessions s WHERE s.run_id = ?1",
         {
             {"local_id", T::BigInt, "s.id"},
             {"seq", T::Integer, "s.seq"},
             {"reader_local_id", T::BigInt, "s.reader_id"},
             {"card_local_id", T::BigInt, "s.card_id"},
             {"status", T::Text, "s.status"},
             {"cause", T::Text, "s.cause"},
             {"failure", T::Text, "s.failure", 3},
         },
         1,
         {"status", "cause", "failure"}},
        {"steps",
         "steps st JOIN sessions s ON s.id = st.session_id WHERE s.run_id = ?1",
         {
             {"local_id", T::BigInt, "st.id"},
             {"session_local_id", T::BigInt, "st.session_id"},
             {"seq", T::Integer, "st.seq"},
             {"suite_id", T::Text, "st.suite_id"},
             {"suite_hash", T::Text, "st.suite_hash"},
             {"step_id", T::Text, "st.step_id"},
             {"grp", T::Text, "st.grp"},
             {"title_en", T::Text, "st.title_en"},
             {"title_ja", T::Text, "st.title_ja"},
             {"action", T::Text, "st.action"},
             {"verdict", T::Text, "st.verdict"},
             {"reason_en", T::Text, "st.reason_en"},
             {"reason_ja", T::Text, "st.reason_ja"},
             {"sw", T::Integer, "st.sw"},
             {"duration_us", T::BigInt, "st.duration_us"},
             {"measurements", T::Text, "st.measurements"},
             {"failure", T::Text, "st.failure", 3},
             {"missing", T::Text, "st.missing", 3},
             // Version 4: when the step began, µs since its run's start (NULL before).
             {"started_us", T::BigInt, "st.started_us", 4},
         },
         1},
        // Exchanges as stored: already redacted on the station (PIN bytes and personal data
        // never reach the database, so they cannot reach the server).
        {"exchanges",
         "exchanges e JOIN steps st ON st.id = e.step_row JOIN sessions s ON s.id = st.session_id "
         "WHERE s.run_id = ?1",
         {
             {"local_id", T::BigInt, "e.id"},
             {"step_local_id", T::BigInt, "e.step_row"},
             {"seq", T::Integer, "e.seq"},
             {"command", T::Text, "e.command"},
             {"response", T::Text, "e.response"},
             {"sw", T::Integer, "e.sw"},
             {"duration_us", T::BigInt, "e.duration_us"},
             {"note", T::Text, "e.note"},
             {"failure", T::Text, "e.failure", 3},
             {"response_size", T::BigInt, "e.response_size", 3},
         },
         1},
        {"verdicts",
         "verdicts v WHERE v.run_id = ?1",
         {
             {"local_id", T::BigInt, "v.id"},
             {"reader", T::Text, "v.reader"},
             {"reader_model", T::Text, "v.reader_model"},
             {"card_type", T::Text, "v.card_type"},
             {"interface", T::Text, "v.interface"},
             {"verdict", T::Text, "v.verdict"},
             {"diagnosis_en", T::Text, "v.diagnosis_en"},
             {"diagnosis_ja", T::Text, "v.diagnosis_ja"},
             {"session_local_id", T::BigInt, "v.session_id", 3},
         },
         1},
        // Version 3: what the report shows of a verdict and a failing lab step besides the rows
        // above: the verdict's cause codes (most telling first) and the CCID messages of the
        // lab's emulated reader firmware (already redacted on the station).
        {"verdict_causes",
         "verdict_causes vc JOIN verdicts v ON v.id = vc.verdict_id WHERE v.run_id = ?1",
         {
             {"verdict_local_id", T::BigInt, "vc.verdict_id", 3},
             {"seq", T::Integer, "vc.seq", 3},
             {"code", T::Text, "vc.code", 3},
         },
         2,
         {},
         3},
        {"ccid_trace",
         "ccid_trace ct JOIN steps st ON st.id = ct.step_row JOIN sessions s ON s.id = "
         "st.session_id WHERE s.run_id = ?1",
         {
             {"local_id", T::BigInt, "ct.id", 3},
             {"step_local_id", T::BigInt, "ct.step_row", 3},
             {"seq", T::Integer, "ct.seq", 3},
             {"direction", T::Text, "ct.direction", 3},
             {"offset_us", T::BigInt, "ct.offset_us", 3},
             {"message", T::Text, "ct.message", 3},
             {"note", T::Text, "ct.note", 3},
         },
         1,
         {},
         3},
    };
}

// Statements of a migration that are not derived from the declarations. Index = version - 1.
// Version 1: the schema, its version table, the server's id and the station register.
// Version 2: stations separated (row-level security; see station_separation()).
const std::array<std::string_view, 2> fixed_sql{
    R"sql(CREATE SCHEMA cardharness;
CREATE TABLE cardharness.schema_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by name NOT NULL DEFAULT current_user
);
CREATE TABLE cardharness.server (
    server_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    singleton  boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton)
);
INSERT INTO cardharness.server DEFAULT VALUES;
CREATE TABLE cardharness.stations (
    station    text PRIMARY KEY CHECK (station ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    role       name NOT NULL DEFAULT current_user,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
GRANT USAGE ON SCHEMA cardharness TO PUBLIC;
GRANT SELECT ON cardharness.schema_migrations, cardharness.server TO PUBLIC)sql",
    R"sql(ALTER TABLE cardharness.stations ENABLE ROW LEVEL SECURITY;
CREATE POLICY stations_read ON cardharness.stations FOR SELECT USING (true);
CREATE POLICY stations_claim ON cardharness.stations FOR INSERT WITH CHECK (role = current_user);
GRANT SELECT, INSERT (station) ON cardharness.stations TO PUBLIC)sql",
};

// Version at which stations are separated: tables created from then on get their policies
// when they are created.
constexpr int separation_version = 2;

// The rows a role may write: those of the stations registered to it.
constexpr std::string_view own_station =
    "station = ANY (ARRAY(SELECT o.station FROM cardharness.stations o "
    "WHERE o.role = current_user))";

std::string qualified(const Table& t) {
    return std::string(schema_name) + "." + std::string(t.name);
}

bool is_run_table(const Table& t) {
    return t.key == 0;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i)
            out += sep;
        out += parts[i];
    }
    return out;
}

std::vector<std::string> key_columns(const Table& t) {
    std::vector<std::string> key{"station", "run_uuid"};
    for (std::size_t i = 0; i < t.key; ++i)
        key.emplace_back(t.columns[i].name);
    return key;
}

std::string create_table(const Table& t) {
    std::vector<std::string> lines{"    station text NOT NULL", "    run_uuid text NOT NULL"};
    for (const auto& c : t.columns)
        if (c.since <= t.since)
            lines.push_back(
                "    " + std::string(c.name) + " " + pg_type(c.type) +
                (&c - t.columns.data() < static_cast<std::ptrdiff_t>(t.key) ? " NOT NULL" : ""));
    if (is_run_table(t)) {
        // Which role wrote the run: set by the server, never by the station.
        lines.emplace_back("    pushed_by name NOT NULL DEFAULT current_user");
        lines.emplace_back("    pushed_at timestamptz NOT NULL DEFAULT now()");
        lines.emplace_back("    FOREIGN KEY (station) REFERENCES cardharness.stations");
    } else {
        lines.emplace_back(
            "    FOREIGN KEY (station, run_uuid) REFERENCES cardharness.runs ON DELETE CASCADE");
    }
    lines.push_back("    PRIMARY KEY (" + join(key_columns(t), ", ") + ")");
    return "CREATE TABLE " + qualified(t) + " (\n" + join(lines, ",\n") + "\n)";
}

// What a station may write: INSERT on the declared columns (never pushed_by/pushed_at), UPDATE
// on the merge columns. `all`: every column up to `version` (a table that becomes separated
// now), else only the columns `version` adds.
std::vector<std::string> grants(const Table& t, int version, bool all) {
    std::vector<std::string> insert;
    std::vector<std::string> update;
    if (all)
        insert = {"station", "run_uuid"};
    for (const auto& c : t.columns) {
        if (!(all ? c.since <= version : c.since == version))
            continue;
        insert.emplace_back(c.name);
        if (std::find(t.merge.begin(), t.merge.end(), c.name) != t.merge.end())
            update.emplace_back(c.name);
    }
    std::vector<std::string> out;
    if (!insert.empty())
        out.push_back("GRANT INSERT (" + join(insert, ", ") + ") ON " + qualified(t) +
                      " TO PUBLIC");
    if (!update.empty())
        out.push_back("GRANT UPDATE (" + join(update, ", ") + ") ON " + qualified(t) +
                      " TO PUBLIC");
    return out;
}

// Row-level security for one table: everyone may read, a role writes only its stations' rows.
std::vector<std::string> station_separation(const Table& t) {
    const std::string q = qualified(t);
    const std::string n(t.name);
    std::vector<std::string> out{
        "ALTER TABLE " + q + " ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE " + q + " FORCE ROW LEVEL SECURITY",
        "CREATE POLICY " + n + "_read ON " + q + " FOR SELECT USING (true)",
        "CREATE POLICY " + n + "_write ON " + q + " FOR INSERT WITH CHECK (" +
            std::string(own_station) + ")",
        "GRANT SELECT ON " + q + " TO PUBLIC",
    };
    if (!t.merge.empty())
        out.push_back("CREATE POLICY " + n + "_merge ON " + q + " FOR UPDATE USING (" +
                      std::string(own_station) + ") WITH CHECK (" + std::string(own_station) + ")");
    return out;
}

} // namespace

const std::vector<Table>& tables() {
    static const std::vector<Table> all = make_tables();
    return all;
}

int schema_version() {
    return schema_version(tables());
}

int schema_version(const std::vector<Table>& declarations) {
    int latest = static_cast<int>(fixed_sql.size());
    for (const auto& t : declarations) {
        latest = std::max(latest, t.since);
        for (const auto& c : t.columns)
            latest = std::max(latest, c.since);
    }
    return latest;
}

std::vector<std::string> migration(int version) {
    return migration(tables(), version);
}

std::vector<std::string> migration(const std::vector<Table>& declarations, int version) {
    if (version < 1 || version > schema_version(declarations))
        throw std::out_of_range("no central schema migration " + std::to_string(version));
    std::vector<std::string> out;
    if (version <= static_cast<int>(fixed_sql.size()))
        out.emplace_back(fixed_sql[static_cast<std::size_t>(version - 1)]);
    for (const auto& t : declarations) {
        if (t.since == version) {
            out.push_back(create_table(t));
            if (is_run_table(t))
                out.push_back("CREATE INDEX runs_by_start ON " + qualified(t) + " (started_at)");
        } else if (t.since < version) {
            for (const auto& c : t.columns)
                if (c.since == version)
                    out.push_back("ALTER TABLE " + qualified(t) + " ADD COLUMN " +
                                  std::string(c.name) + " " + pg_type(c.type));
        }
        if (t.since > version || version < separation_version)
            continue;
        // Station separation: every table at that version, a later table when it is created;
        // later versions grant the columns they add.
        const bool separate_now = version == separation_version || t.since == version;
        if (separate_now)
            for (auto& statement : station_separation(t))
                out.push_back(std::move(statement));
        for (auto& statement : grants(t, version, separate_now))
            out.push_back(std::move(statement));
    }
    return out;
}

const char* pg_type(ColumnType type) {
    switch (type) {
    case ColumnType::Text:
        return "text";
    case ColumnType::Integer:
        return "integer";
    case ColumnType::BigInt:
        return "bigint";
    case ColumnType::Boolean:
        return "boolean";
    case ColumnType::Bytea:
        return "bytea";
    }
    return "text";
}

std::vector<std::string> column_names(const Table& table) {
    std::vector<std::string> out;
    for (const auto& c : table.columns)
        out.emplace_back(c.name);
    return out;
}

std::string local_select(const Table& table) {
    std::vector<std::string> exprs;
    for (const auto& c : table.columns) {
        const std::string e(c.local);
        if (c.type == ColumnType::Bytea)
            // bytea's text input: \x and hex digits (SQLite's hex(NULL) is '', keep NULL).
            exprs.push_back("CASE WHEN " + e + " IS NULL THEN NULL ELSE '\\x' || hex(" + e +
                            ") END");
        else
            exprs.push_back(e);
    }
    return "SELECT " + join(exprs, ", ") + " FROM " + std::string(table.local_from);
}

std::size_t staging_width() {
    std::size_t width = 0;
    for (const auto& t : tables())
        width = std::max(width, t.columns.size());
    return width;
}

std::string create_staging_table() {
    std::vector<std::string> cols{"tbl smallint NOT NULL"};
    for (std::size_t i = 1; i <= staging_width(); ++i)
        cols.push_back("c" + std::to_string(i) + " text");
    // Emptied by the push itself (DELETE after each run, TRUNCATE now and then): ON COMMIT
    // DELETE ROWS would truncate it at every commit, a few ms each (file operations).
    return "CREATE TEMPORARY TABLE " + std::string(staging_table) + " (" + join(cols, ", ") + ")";
}

std::vector<std::string> staging_columns() {
    std::vector<std::string> cols{"tbl"};
    for (std::size_t i = 1; i <= staging_width(); ++i)
        cols.push_back("c" + std::to_string(i));
    return cols;
}

namespace {

// INSERT … SELECT of one table's staged rows (tbl = its index in tables()), from the staging
// table itself or from `source` (a WITH query over it).
std::string insert_one(std::size_t index, InsertMode mode,
                       const std::string& source = "pg_temp." + std::string(staging_table)) {
    const Table& table = tables()[index];
    const auto names = column_names(table);
    const std::string target = qualified(table);
    std::vector<std::string> values{"$1", "$2"};
    for (std::size_t i = 0; i < table.columns.size(); ++i)
        values.push_back("c" + std::to_string(i + 1) + "::" + pg_type(table.columns[i].type));
    std::string sql = "INSERT INTO " + target + " (station, run_uuid, " + join(names, ", ") +
                      ") SELECT " + join(values, ", ") + " FROM " + source +
                      " WHERE tbl = " + std::to_string(index);
    if (mode == InsertMode::FreshRun && !is_run_table(table))
        return sql;
    sql += " ON CONFLICT (" + join(key_columns(table), ", ") + ") ";
    if (table.merge.empty())
        return sql + "DO NOTHING";
    std::vector<std::string> set;
    std::vector<std::string> old_values;
    std::vector<std::string> new_values;
    for (const auto name : table.merge) {
        const std::string n(name);
        set.push_back(n + " = EXCLUDED." + n);
        old_values.push_back(target + "." + n);
        new_values.push_back("EXCLUDED." + n);
    }
    return sql + "DO UPDATE SET " + join(set, ", ") + " WHERE " + target +
           ".status IN ('running', 'interrupted') AND (" + join(old_values, ", ") +
           ") IS DISTINCT FROM (" + join(new_values, ", ") + ")";
}

} // namespace

std::string insert_run_from_staging() {
    // xmax = 0 on the returned row: this statement inserted the run (it was not on the server).
    return insert_one(0, InsertMode::Merge) + " RETURNING (xmax = 0) AS inserted";
}

std::string insert_rows_from_staging(InsertMode mode) {
    // One statement (one round trip): each table's INSERT is a data-modifying WITH query, the
    // staging table is emptied by another; all of them read the statement's snapshot. The staged
    // rows are read once into `staged` (MATERIALIZED): the staging table also holds the dead
    // rows of earlier runs until the push truncates it, and each INSERT scanning it would visit
    // them all again. Merge counts the rows each INSERT added; for a fresh run every staged row
    // is added.
    const std::string stage = "pg_temp." + std::string(staging_table);
    std::vector<std::string> with{"staged AS MATERIALIZED (SELECT * FROM " + stage + ")"};
    std::vector<std::string> counts;
    for (std::size_t i = 1; i < tables().size(); ++i) {
        const std::string name = "i_" + std::string(tables()[i].name);
        if (mode == InsertMode::Merge) {
            with.push_back(name + " AS (" + insert_one(i, mode, "staged") + " RETURNING 1)");
            counts.push_back("(SELECT count(*) FROM " + name + ")");
        } else {
            with.push_back(name + " AS (" + insert_one(i, mode, "staged") + ")");
        }
    }
    with.push_back("emptied AS (DELETE FROM " + stage + ")");
    return "WITH " + join(with, ", ") + " SELECT " +
           (counts.empty() ? std::string("NULL") : join(counts, " + ")) + " AS added";
}

} // namespace harness::central
