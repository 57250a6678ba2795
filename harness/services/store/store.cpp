#include "services/store/store.hpp"

#include "pure/error.hpp"
#include "services/store/stored_values.hpp"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <array>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sqlite3.h>
#include <string_view>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace harness::store {
namespace {

constexpr int busy_timeout_ms = 30000;

// Process-wide SQLite settings, before the first connection opens (sqlite3_config is refused once
// SQLite has initialised): no memory statistics. Nothing here reads sqlite3_memory_used or sets a
// heap limit, and with statistics on every allocation SQLite makes takes a global mutex (this
// SQLite has no lookaside: every record, cursor and savepoint is a malloc), issue 11.
// sqlite3_config is not thread-safe: the first Store of every command opens on its main thread
// before that command starts threads; once SQLite has initialised, the call is refused (MISUSE)
// and statistics simply stay on.
void configure_sqlite() {
    static std::once_flag once;
    std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

// Runs a PRAGMA when the scope ends, also on a throw (errors then are ignored: the connection is
// being unwound): a setting a migration changes only for its own duration.
struct PragmaOnExit {
    SQLite::Database& db;
    const char* sql;
    ~PragmaOnExit() {
        try {
            db.exec(sql);
        } catch (const SQLite::Exception&) {
        }
    }
};

// One schema change. Most are plain SQL; EditsSchemaText ones UPDATE sqlite_schema (under
// writable_schema) to change a constraint's text without rebuilding the table.
struct Migration {
    enum Kind { Sql, EditsSchemaText };
    std::string_view sql;
    Kind kind = Sql;
};

// Migrations: index i brings user_version from i to i+1. Never edit a shipped entry; append.
constexpr std::array<Migration, 8> migrations{{
    {R"sql(
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
)sql"},
    // 2: runs may be "interrupted" and record their owner (pid + process start; host is in
    // runs.host); typed failure kinds on sessions, steps and exchanges; the exchange's response
    // size; each verdict tied to its session (they land together) with its cause codes.
    // The runs table is rebuilt (a CHECK cannot be altered): migrate() turns foreign keys off
    // around this migration, as sqlite.org/lang_altertable.html §7 prescribes.
    {R"sql(
CREATE TABLE runs_v2 (
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
    status           TEXT NOT NULL
                     CHECK (status IN ('running', 'complete', 'incomplete', 'interrupted')),
    cause            TEXT NOT NULL DEFAULT '',
    owner_pid        INTEGER NOT NULL DEFAULT 0,
    owner_start      TEXT NOT NULL DEFAULT ''
);
INSERT INTO runs_v2 (id, uuid, started_at, ended_at, host, os, pcsclite_version,
                     libccid_version, harness_version, lab, status, cause)
    SELECT id, uuid, started_at, ended_at, host, os, pcsclite_version, libccid_version,
           harness_version, lab, status, cause FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v2 RENAME TO runs;
ALTER TABLE sessions ADD COLUMN failure TEXT NOT NULL DEFAULT '';
ALTER TABLE steps ADD COLUMN failure TEXT NOT NULL DEFAULT '';
ALTER TABLE steps ADD COLUMN missing TEXT NOT NULL DEFAULT '';
ALTER TABLE exchanges ADD COLUMN failure TEXT NOT NULL DEFAULT '';
ALTER TABLE exchanges ADD COLUMN response_size INTEGER;
ALTER TABLE verdicts ADD COLUMN session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE;
CREATE TABLE verdict_causes (
    verdict_id INTEGER NOT NULL REFERENCES verdicts(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    code       TEXT NOT NULL,
    PRIMARY KEY (verdict_id, seq)
);
CREATE INDEX verdicts_by_session ON verdicts(session_id);
)sql"},
    // 3: card ids and redaction markers are keyed by the station key, which never enters a
    // database (io/station.hpp). The per-database salt next to the hashes made them reversible.
    {R"sql(
DELETE FROM meta WHERE key = 'card_id_salt';
)sql"},
    // 4: what a central server (services/store/copy_source.hpp) confirmed, per server and station.
    {R"sql(
CREATE TABLE central_servers (
    server_id TEXT PRIMARY KEY,
    label     TEXT NOT NULL,
    last_push TEXT NOT NULL
);
CREATE TABLE central_pushes (
    server_id TEXT NOT NULL REFERENCES central_servers(server_id),
    station   TEXT NOT NULL,
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    status    TEXT NOT NULL,
    sessions  INTEGER NOT NULL,
    verdicts  INTEGER NOT NULL,
    pushed_at TEXT NOT NULL,
    PRIMARY KEY (server_id, station, run_id)
);
)sql"},
    // 5: the CCID messages the lab's emulated reader firmware saw and sent during a failing step
    // (`lab start --usb`), redacted like the APDUs.
    {R"sql(
CREATE TABLE ccid_trace (
    id        INTEGER PRIMARY KEY,
    step_row  INTEGER NOT NULL REFERENCES steps(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('out', 'in', 'interrupt', 'control')),
    offset_us INTEGER NOT NULL DEFAULT 0,
    message   TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ccid_trace_by_step ON ccid_trace(step_row);
)sql"},
    // 6: `cardharness survey`: a run's source (no row: an observed run, hardware or lab), and each
    // surveyed interface's result, keyed by dump file + interface block + the installed libccid
    // version (the resume key; several dumps share a VID:PID:bcdDevice). New tables only, so it
    // commutes with other migrations that rebuild `runs`.
    {R"sql(
CREATE TABLE run_sources (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    source TEXT NOT NULL CHECK (source IN ('survey'))
);
CREATE TABLE survey_results (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    dump_file        TEXT NOT NULL,
    dump_sha256      TEXT NOT NULL,
    block            INTEGER NOT NULL,
    interface_number INTEGER NOT NULL,
    libccid_version  TEXT NOT NULL,
    vid              INTEGER NOT NULL,
    pid              INTEGER NOT NULL,
    bcd_device       INTEGER NOT NULL,
    result           TEXT NOT NULL,
    surveyed_at      TEXT NOT NULL,
    UNIQUE (dump_file, block, libccid_version)
);
CREATE INDEX survey_results_by_reader ON survey_results(vid, pid, bcd_device);
)sql"},
    // 7: when each step began, in µs since its run's start (model::StepResult::started_us): the
    // sessions of a run line up on it (did the readers run at once?). NULL for older rows.
    {R"sql(
ALTER TABLE steps ADD COLUMN started_us INTEGER;
)sql"},
    // 8: the steps' verdict CHECK as comparisons instead of IN (...): SQLite (3.40) builds and
    // drops a temporary b-tree for a constant IN list of more than two values every time a CHECK
    // tests a row, about 2 µs of each step's insert (issue 11). The same constraint, so the table's
    // text is edited in place (sqlite.org/lang_altertable.html §7, the procedure for CHECK
    // constraints: no row is read or written); migrate() bumps schema_version and reads the schema
    // back before the commit. A text that differs (a hand-made schema) is left as it is.
    {R"sql(
UPDATE sqlite_schema
SET sql = replace(sql,
                  'CHECK (verdict IN (''pass'', ''fail'', ''skip'', ''error'', ''aborted''))',
                  'CHECK (verdict = ''pass'' OR verdict = ''fail'' OR verdict = ''skip'' OR '
                  || 'verdict = ''error'' OR verdict = ''aborted'')')
WHERE type = 'table' AND name = 'steps';
)sql",
     Migration::EditsSchemaText},
}};

template <typename Statement, typename T>
void bind_optional(Statement& st, int index, const std::optional<T>& value) {
    if (value)
        st.bind(index, static_cast<int>(*value));
    else
        st.bind(index); // NULL
}

template <typename T>
std::optional<T> column_optional(const SQLite::Column& column) {
    if (column.isNull())
        return std::nullopt;
    return static_cast<T>(column.getInt());
}

void bind_blob(SQLite::Statement& st, int index, const Bytes& bytes) {
    // An empty vector's data() may be null, which SQLite binds as NULL, not as an empty blob.
    static const std::uint8_t empty = 0;
    st.bind(index, bytes.empty() ? &empty : bytes.data(), static_cast<int>(bytes.size()));
}

Bytes column_blob(const SQLite::Column& column) {
    const auto* data = static_cast<const std::uint8_t*>(column.getBlob());
    return Bytes(data, data + column.getBytes());
}

std::string identity_key(const model::ReaderIdentity& r) {
    auto num = [](const std::optional<std::uint16_t>& v) {
        return v ? std::to_string(*v) : std::string("-");
    };
    // Results are keyed by VID, PID and bcdDevice (firmware), plus the name/serial/model/driver.
    return r.pcsc_name + '\x1f' + num(r.vid) + '\x1f' + num(r.pid) + '\x1f' + num(r.bcd_device) +
           '\x1f' + r.serial + '\x1f' + r.reader_model + '\x1f' + r.driver;
}

std::int64_t run_row_id(SQLite::Database& db, const std::string& uuid) {
    SQLite::Statement q(db, "SELECT id FROM runs WHERE uuid = ?");
    q.bind(1, uuid);
    if (!q.executeStep())
        throw Error("no run with id " + uuid + " in the database");
    return q.getColumn(0).getInt64();
}

std::int64_t upsert_reader(SQLite::Database& db, const model::ReaderIdentity& r) {
    const std::string key = identity_key(r);
    SQLite::Statement ins(db,
                          "INSERT INTO readers (identity_key, pcsc_name, vid, pid, bcd_device, "
                          "manufacturer, product, serial, driver, reader_model, "
                          "ccid_descriptor, descriptor_findings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                          "ON CONFLICT(identity_key) DO UPDATE SET "
                          "ccid_descriptor = excluded.ccid_descriptor, "
                          "descriptor_findings = excluded.descriptor_findings, "
                          "manufacturer = excluded.manufacturer, product = excluded.product");
    ins.bind(1, key);
    ins.bind(2, r.pcsc_name);
    bind_optional(ins, 3, r.vid);
    bind_optional(ins, 4, r.pid);
    bind_optional(ins, 5, r.bcd_device);
    ins.bind(6, r.manufacturer);
    ins.bind(7, r.product);
    ins.bind(8, r.serial);
    ins.bind(9, r.driver);
    ins.bind(10, r.reader_model);
    if (r.ccid_descriptor.empty())
        ins.bind(11);
    else
        bind_blob(ins, 11, r.ccid_descriptor);
    ins.bind(12, r.descriptor_findings_json.empty() ? "{}" : r.descriptor_findings_json);
    ins.exec();
    SQLite::Statement q(db, "SELECT id FROM readers WHERE identity_key = ?");
    q.bind(1, key);
    q.executeStep();
    return q.getColumn(0).getInt64();
}

std::optional<std::int64_t> upsert_card(SQLite::Database& db, const model::CardRecord& c) {
    if (c.card_type.empty() || c.card_type == "no_card")
        return std::nullopt;
    SQLite::Statement ins(db, "INSERT OR IGNORE INTO cards (card_id, card_type, interface, atr, "
                              "emulated, test_card) VALUES (?,?,?,?,?,?)");
    ins.bind(1, c.card_id);
    ins.bind(2, c.card_type);
    ins.bind(3, c.interface);
    bind_blob(ins, 4, c.atr);
    ins.bind(5, c.emulated ? 1 : 0);
    ins.bind(6, c.test_card ? 1 : 0);
    ins.exec();
    SQLite::Statement q(db, "SELECT id FROM cards WHERE card_id = ? AND card_type = ? AND "
                            "interface = ? AND atr = ? AND emulated = ? AND test_card = ?");
    q.bind(1, c.card_id);
    q.bind(2, c.card_type);
    q.bind(3, c.interface);
    bind_blob(q, 4, c.atr);
    q.bind(5, c.emulated ? 1 : 0);
    q.bind(6, c.test_card ? 1 : 0);
    q.executeStep();
    return q.getColumn(0).getInt64();
}

// The database holds who tested what and when: owner-only. A new file is created 0600 before
// SQLite opens it (SQLite gives its -wal and -shm files the database file's mode); an existing
// file of ours with group or other access is tightened.
void make_owner_only(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return; // SQLite reports why it cannot open the file
    struct stat st {};
    if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0 && st.st_uid == ::geteuid()) {
        ::fchmod(fd, 0600);
        for (const char* suffix : {"-wal", "-shm", "-journal"})
            ::chmod((path + suffix).c_str(), 0600);
    }
    ::close(fd);
}

model::RunStatus status_column(const SQLite::Column& column) {
    return stored_status(column.getString());
}

model::FailureKind failure_column(const SQLite::Column& column) {
    return stored_failure(column.getString());
}

std::optional<StoreFailure> classify(int extended_code) {
    switch (extended_code & 0xFF) {
    case SQLITE_FULL:
        return StoreFailure::Full;
    case SQLITE_IOERR:
        return StoreFailure::Io;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return StoreFailure::Corrupt;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return StoreFailure::Access;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return StoreFailure::Busy;
    default:
        return std::nullopt;
    }
}

// file:PATH?mode=ro (or immutable=1) with the URI's special characters escaped.
std::string read_only_uri(const std::string& path, bool immutable) {
    std::string uri = "file:";
    for (const char c : path) {
        if (c == '?' || c == '#' || c == '%')
            uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        else
            uri += c;
    }
    return uri + (immutable ? "?immutable=1" : "?mode=ro");
}

} // namespace

const char* to_string(StoreFailure failure) {
    switch (failure) {
    case StoreFailure::Full:
        return "disk full";
    case StoreFailure::Io:
        return "I/O error";
    case StoreFailure::Corrupt:
        return "database corrupt";
    case StoreFailure::Access:
        return "no access";
    case StoreFailure::Busy:
        return "database busy";
    }
    return "error";
}

std::string interrupted_cause(const model::RunOwner& owner) {
    return fmt::format("interrupted: the run's process is gone (host {}, pid {})",
                       owner.host.empty() ? "?" : owner.host, owner.pid);
}

namespace {

// A runs row as run_row() reads it: column 0 is the row id.
const std::string run_columns = "id, uuid, started_at, ended_at, host, os, pcsclite_version, "
                                "libccid_version, harness_version, lab, status, cause, "
                                "owner_pid, owner_start";

// The station name each pushed run was last pushed as (`push --station`), by runs.id: a station's
// database does not otherwise know its station's name. One pass over central_pushes (it has no
// index by run), newest push last so that it wins.
std::map<std::int64_t, std::string> pushed_station_names(SQLite::Database& db) {
    std::map<std::int64_t, std::string> out;
    SQLite::Statement q(db, "SELECT run_id, station FROM central_pushes ORDER BY pushed_at, rowid");
    while (q.executeStep())
        out[q.getColumn(0).getInt64()] = q.getColumn(1).getString();
    return out;
}

// The readers columns pcsc_name, vid, pid, bcd_device, manufacturer, product, serial, driver,
// reader_model, ccid_descriptor, descriptor_findings, from column `first` on.
model::ReaderIdentity reader_row(const SQLite::Statement& row, int first) {
    model::ReaderIdentity r;
    r.pcsc_name = row.getColumn(first).getString();
    r.vid = column_optional<std::uint16_t>(row.getColumn(first + 1));
    r.pid = column_optional<std::uint16_t>(row.getColumn(first + 2));
    r.bcd_device = column_optional<std::uint16_t>(row.getColumn(first + 3));
    r.manufacturer = row.getColumn(first + 4).getString();
    r.product = row.getColumn(first + 5).getString();
    r.serial = row.getColumn(first + 6).getString();
    r.driver = row.getColumn(first + 7).getString();
    r.reader_model = row.getColumn(first + 8).getString();
    r.ccid_descriptor = column_blob(row.getColumn(first + 9));
    r.descriptor_findings_json = row.getColumn(first + 10).getString();
    return r;
}

// The cards columns card_id, card_type, interface, atr, emulated, test_card from column `first`
// on (a LEFT JOIN: no card when card_id is NULL).
model::CardRecord card_row(const SQLite::Statement& row, int first) {
    model::CardRecord c;
    if (row.getColumn(first).isNull())
        return c;
    c.card_id = row.getColumn(first).getString();
    c.card_type = row.getColumn(first + 1).getString();
    c.interface = row.getColumn(first + 2).getString();
    c.atr = column_blob(row.getColumn(first + 3));
    c.emulated = row.getColumn(first + 4).getInt() != 0;
    c.test_card = row.getColumn(first + 5).getInt() != 0;
    return c;
}

// The verdicts columns reader, reader_model, card_type, interface, verdict, diagnosis_en,
// diagnosis_ja from column `first` on (causes are read apart).
model::Verdict verdict_row(const SQLite::Statement& row, int first) {
    return model::Verdict{row.getColumn(first).getString(),
                          row.getColumn(first + 1).getString(),
                          row.getColumn(first + 2).getString(),
                          row.getColumn(first + 3).getString(),
                          model::compatibility_from(row.getColumn(first + 4).getString())
                              .value_or(model::Compatibility::Untested),
                          row.getColumn(first + 5).getString(),
                          row.getColumn(first + 6).getString(),
                          {}};
}

} // namespace

model::Run Store::run_row(const SQLite::Statement& row) const {
    model::Run run;
    run.uuid = row.getColumn(1).getString();
    run.started_at = row.getColumn(2).getString();
    run.ended_at = row.getColumn(3).getString();
    run.environment = {row.getColumn(4).getString(), row.getColumn(5).getString(),
                       row.getColumn(6).getString(), row.getColumn(7).getString(),
                       row.getColumn(8).getString()};
    run.lab = row.getColumn(9).getInt() != 0;
    run.status = status_column(row.getColumn(10));
    run.cause = row.getColumn(11).getString();
    run.owner.host = run.environment.host;
    run.owner.pid = row.getColumn(12).getInt64();
    run.owner.process_start = row.getColumn(13).getString();
    if (stale(run.status, run.owner)) {
        run.status = model::RunStatus::Interrupted;
        run.cause = interrupted_cause(run.owner);
    }
    return run;
}

void Store::fail(const SQLite::Exception& e, const std::string& doing) const {
    const int code = e.getExtendedErrorCode();
    if (const auto failure = classify(code))
        throw StoreError(*failure, path_, code,
                         fmt::format("database {}: {} while {} ({})", path_, to_string(*failure),
                                     doing, e.what()));
    throw Error(fmt::format("database {}: {} while {}", path_, e.what(), doing));
}

Store::Store(const std::string& path, Access access, OwnerGone owner_gone)
    : path_(path), access_(access), owner_gone_(std::move(owner_gone)) {
    configure_sqlite();
    const bool memory = path == ":memory:";
    if (access == Access::ReadOnly) {
        if (!memory && !std::filesystem::exists(path))
            throw UsageError("database " + path + ": no such file");
        try {
            try {
                db_ = std::make_unique<SQLite::Database>(read_only_uri(path, false),
                                                         SQLite::OPEN_READONLY | SQLite::OPEN_URI,
                                                         busy_timeout_ms);
                (void)db_->execAndGet("PRAGMA user_version").getInt();
            } catch (const SQLite::Exception& e) {
                // A WAL database in a folder we may not write (a CI artefact): its -shm cannot be
                // created, so read the file as it is (nobody can be writing it from here).
                if ((e.getErrorCode() & 0xFF) != SQLITE_CANTOPEN || memory)
                    throw;
                // ... but only without a write-ahead log: read immutable, SQLite would not see
                // the transactions still in it.
                std::error_code ec;
                if (std::filesystem::file_size(path + "-wal", ec) > 0 && !ec)
                    throw StoreError(StoreFailure::Access, path, e.getExtendedErrorCode(),
                                     "database " + path +
                                         ": its write-ahead log (-wal) cannot be read in a "
                                         "read-only folder without its -shm file; copy the "
                                         "folder somewhere writable");
                db_ = std::make_unique<SQLite::Database>(read_only_uri(path, true),
                                                         SQLite::OPEN_READONLY | SQLite::OPEN_URI,
                                                         busy_timeout_ms);
            }
            const int version = schema_version();
            if (version == 0)
                throw UsageError("database " + path +
                                 ": not a cardharness results database (no "
                                 "schema)");
            if (version > latest_schema_version())
                throw UsageError(
                    "database " + path + " has schema version " + std::to_string(version) +
                    ", newer than this cardharness understands (" +
                    std::to_string(latest_schema_version()) + "): upgrade cardharness");
            if (version < latest_schema_version()) {
                // Never write the file: migrate a private in-memory copy.
                auto copy = std::make_unique<SQLite::Database>(":memory:", SQLite::OPEN_READWRITE |
                                                                               SQLite::OPEN_CREATE);
                {
                    SQLite::Backup backup(*copy, *db_);
                    backup.executeStep(-1);
                } // finished before the source closes
                db_ = std::move(copy);
                migrate();
            }
        } catch (const SQLite::Exception& e) {
            if ((e.getErrorCode() & 0xFF) == SQLITE_NOTADB)
                throw UsageError("database " + path + ": " + e.what() +
                                 " (is it a cardharness results database?)");
            fail(e, "opening it read-only");
        }
        return;
    }
    try {
        if (!memory) {
            const auto parent = std::filesystem::path(path).parent_path();
            if (!parent.empty())
                std::filesystem::create_directories(parent);
            make_owner_only(path);
        }
        // NOMUTEX (SQLite's multi-thread mode for this connection: no mutex around each bind, step
        // and reset, ~2.6k instructions per stored step, issue 11) because a Store is used by one
        // thread at a time, as ARCHITECTURE.md ("One thread at a time per Store") lists: `run`
        // opens, checks, marks and begins the run before its reader threads start, they write only
        // through cli::ResultSink::write (one mutex), and finish_run follows their join; `survey`
        // stores from its driver's threads one at a time (DriverSurvey's done_mutex) between its
        // begin_run and finish_run; `report`, `diff`, `prune` and CopySource's migrating open use
        // theirs on one thread. A Store shared by threads must be behind one mutex, as ResultSink.
        db_ = std::make_unique<SQLite::Database>(
            path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
            busy_timeout_ms);
        db_->exec("PRAGMA foreign_keys = ON");
        db_->exec("PRAGMA secure_delete = ON"); // deleted rows leave no bytes behind
        // Switching to WAL and the first schema read can answer SQLITE_BUSY without calling the
        // busy handler while another process is creating the same file (sqlite.org/wal.html
        // §"busy"): retry those for as long as the busy timeout.
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
        for (;;) {
            try {
                if (!memory)
                    db_->execAndGet("PRAGMA journal_mode = WAL");
                db_->exec("PRAGMA synchronous = NORMAL");
                migrate();
                break;
            } catch (const SQLite::Exception& e) {
                if ((e.getErrorCode() & 0xFF) != SQLITE_BUSY ||
                    std::chrono::steady_clock::now() > deadline)
                    throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    } catch (const SQLite::Exception& e) {
        const int primary = e.getErrorCode() & 0xFF;
        if (primary == SQLITE_NOTADB)
            throw UsageError("database " + path + ": " + e.what() +
                             " (is it a cardharness results database?)");
        if (classify(e.getExtendedErrorCode()))
            fail(e, "opening it");
        throw UsageError("database " + path + ": " + e.what() +
                         " (is it a cardharness results database?)");
    } catch (const std::filesystem::filesystem_error& e) {
        throw UsageError("database " + path + ": " + e.what());
    }
}

Store::~Store() = default;

int Store::latest_schema_version() {
    return static_cast<int>(migrations.size());
}

int Store::schema_version() const {
    return db_->execAndGet("PRAGMA user_version").getInt();
}

void Store::check_integrity() const {
    try {
        SQLite::Statement q(*db_, "PRAGMA quick_check");
        std::vector<std::string> problems;
        while (q.executeStep()) {
            const std::string line = q.getColumn(0).getString();
            if (line != "ok" && problems.size() < 3)
                problems.push_back(line);
        }
        if (!problems.empty())
            throw StoreError(StoreFailure::Corrupt, path_, SQLITE_CORRUPT,
                             fmt::format("database {}: database corrupt (PRAGMA quick_check: {}); "
                                         "keep it for inspection and use another --db",
                                         path_, fmt::join(problems, "; ")));
    } catch (const SQLite::Exception& e) {
        fail(e, "checking its integrity");
    }
}

void Store::migrate() {
    if (schema_version() >= latest_schema_version()) {
        if (schema_version() > latest_schema_version())
            throw UsageError("database " + path_ + " has schema version " +
                             std::to_string(schema_version()) +
                             ", newer than this cardharness understands (" +
                             std::to_string(latest_schema_version()) + "): upgrade cardharness");
        return;
    }
    // Migration 2 rebuilds a parent table: foreign keys off around the transaction (the pragma is
    // a no-op inside one), checked before the commit.
    db_->exec("PRAGMA foreign_keys = OFF");
    const PragmaOnExit keys_back_on{*db_, "PRAGMA foreign_keys = ON"};
    // BEGIN IMMEDIATE so that two processes opening a fresh file do not both migrate it.
    SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    const int version = schema_version();
    if (version > latest_schema_version())
        throw UsageError("database " + path_ + " has schema version " + std::to_string(version) +
                         ", newer than this cardharness understands (" +
                         std::to_string(latest_schema_version()) + "): upgrade cardharness");
    for (int v = version; v < latest_schema_version(); ++v) {
        const Migration& m = migrations[static_cast<std::size_t>(v)];
        if (m.kind == Migration::EditsSchemaText) {
            // sqlite.org/lang_altertable.html §7: edit the text, bump schema_version (every
            // connection then reads the schema again), and read it here before the commit: a
            // text SQLite cannot parse fails this transaction instead of the file.
            const int cookie = db_->execAndGet("PRAGMA schema_version").getInt();
            db_->exec("PRAGMA writable_schema = ON");
            const PragmaOnExit read_only{*db_, "PRAGMA writable_schema = OFF"};
            db_->exec(std::string(m.sql));
            db_->exec("PRAGMA schema_version = " + std::to_string(cookie + 1));
            db_->exec("PRAGMA writable_schema = OFF");
            SQLite::Statement read_back(*db_, "SELECT * FROM steps LIMIT 0"); // parses all of it
        } else {
            db_->exec(std::string(m.sql));
        }
        db_->exec("PRAGMA user_version = " + std::to_string(v + 1));
    }
    SQLite::Statement check(*db_, "PRAGMA foreign_key_check");
    if (check.executeStep())
        throw Error("database " + path_ + ": the migration broke a foreign key (table " +
                    check.getColumn(0).getString() + ")");
    txn.commit();
}

bool Store::stale(model::RunStatus status, const model::RunOwner& owner) const {
    return status == model::RunStatus::Running && owner_gone_ && owner_gone_(owner);
}

void Store::begin_run(const model::Run& run) {
    try {
        SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        SQLite::Statement ins(*db_,
                              "INSERT INTO runs (uuid, started_at, ended_at, host, os, "
                              "pcsclite_version, libccid_version, harness_version, lab, status, "
                              "cause, owner_pid, owner_start) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
        ins.bind(1, run.uuid);
        ins.bind(2, run.started_at);
        ins.bind(3, run.ended_at);
        ins.bind(4, run.owner.host.empty() ? run.environment.host : run.owner.host);
        ins.bind(5, run.environment.os);
        ins.bind(6, run.environment.pcsclite_version);
        ins.bind(7, run.environment.libccid_version);
        ins.bind(8, run.environment.harness_version);
        ins.bind(9, run.lab ? 1 : 0);
        ins.bind(10, to_string(run.status));
        ins.bind(11, run.cause);
        ins.bind(12, static_cast<std::int64_t>(run.owner.pid));
        ins.bind(13, run.owner.process_start);
        ins.exec();
        const std::int64_t run_id = db_->getLastInsertRowid();
        for (const auto& suite : run.suites) {
            SQLite::Statement s(
                *db_, "INSERT INTO run_suites (run_id, suite_id, content_hash) VALUES (?,?,?)");
            s.bind(1, run_id);
            s.bind(2, suite.id);
            s.bind(3, suite.content_hash);
            s.exec();
        }
        txn.commit();
    } catch (const SQLite::Exception& e) {
        fail(e, "recording the start of run " + run.uuid);
    }
}

namespace {

void insert_verdict(SQLite::Database& db, std::int64_t run_id,
                    std::optional<std::int64_t> session_id, const model::Verdict& v) {
    SQLite::Statement ins(db, "INSERT INTO verdicts (run_id, reader, reader_model, card_type, "
                              "interface, verdict, diagnosis_en, diagnosis_ja, session_id) "
                              "VALUES (?,?,?,?,?,?,?,?,?)");
    ins.bind(1, run_id);
    ins.bind(2, v.reader);
    ins.bind(3, v.reader_model);
    ins.bind(4, v.card_type);
    ins.bind(5, v.interface);
    ins.bind(6, to_string(v.verdict));
    ins.bind(7, v.diagnosis_en);
    ins.bind(8, v.diagnosis_ja);
    if (session_id)
        ins.bind(9, *session_id);
    else
        ins.bind(9);
    ins.exec();
    const std::int64_t verdict_id = db.getLastInsertRowid();
    SQLite::Statement cause(db,
                            "INSERT INTO verdict_causes (verdict_id, seq, code) VALUES (?,?,?)");
    int seq = 0;
    for (const auto& code : v.causes) {
        cause.reset();
        cause.bind(1, verdict_id);
        cause.bind(2, seq++);
        cause.bind(3, code);
        cause.exec();
    }
}

// Rows per INSERT when a session stores its steps and exchanges: SQLite pays per statement for
// its cursors, a statement savepoint, the halt and the reset, about a third of a one-row insert
// (issue 11). 32 rows of 19 values stay under SQLite's historic limit of 999 parameters.
constexpr std::size_t rows_per_insert = 32;

// "<head> VALUES (?,…),(?,…),…": `rows` rows of `columns` values.
std::string multi_row_insert(std::string_view head, int columns, std::size_t rows) {
    std::string row = "(?";
    for (int i = 1; i < columns; ++i)
        row += ",?";
    row += ')';
    std::string sql(head);
    sql += " VALUES ";
    for (std::size_t r = 0; r < rows; ++r) {
        if (r > 0)
            sql += ',';
        sql += row;
    }
    return sql;
}

// A prepared statement's parameters, bound through the C API (SQLite::Statement's checks around
// each call were ~440 instructions per stored step, issue 11); every failure is still a
// SQLite::Exception with the connection's extended code, as SQLiteCpp throws it.
class RowBinder {
public:
    RowBinder(sqlite3* db, sqlite3_stmt* statement) : db_(db), st_(statement) {}
    void bind(int index, std::int64_t value) { check(sqlite3_bind_int64(st_, index, value)); }
    void bind(int index, int value) { check(sqlite3_bind_int(st_, index, value)); }
    void bind(int index) { check(sqlite3_bind_null(st_, index)); } // NULL
    void bind(int index, const std::string& value) {               // a copy: for a temporary
        check(sqlite3_bind_text(st_, index, value.data(), static_cast<int>(value.size()),
                                SQLITE_TRANSIENT));
    }
    // The value must outlive the statement's next step (the session being stored does).
    void bindNoCopy(int index, std::string_view value) {
        check(sqlite3_bind_text(st_, index, value.data(), static_cast<int>(value.size()),
                                SQLITE_STATIC));
    }

private:
    void check(int rc) const {
        if (rc != SQLITE_OK)
            throw SQLite::Exception(db_, rc);
    }
    sqlite3* db_;
    sqlite3_stmt* st_;
};

// An INSERT of one table's rows, prepared once per Store: rows_per_insert rows per statement, and
// the rows left over (fewer than a group) one at a time, so a short session prepares no statement
// of its own size (a 32-row statement costs as much to prepare as ~45 rows to insert).
struct RowInsert {
    using Prepared = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

    RowInsert(std::string head_sql, int column_count)
        : head(std::move(head_sql)), columns(column_count) {}
    std::string head; // "INSERT INTO t (columns…)"
    int columns;
    Prepared group{nullptr, &sqlite3_finalize};
    Prepared one{nullptr, &sqlite3_finalize};

    // Inserts `count` rows in order; bind_row(binder, first, i) binds row i's values at
    // parameters first + 1 … first + columns. No binding is left pointing into the rows after,
    // also when an insert throws.
    template <typename BindRow>
    void insert(SQLite::Database& db, std::size_t count, const BindRow& bind_row) {
        struct Unbind {
            RowInsert& rows;
            ~Unbind() {
                for (sqlite3_stmt* st : {rows.group.get(), rows.one.get()})
                    if (st != nullptr) {
                        sqlite3_reset(st);
                        sqlite3_clear_bindings(st);
                    }
            }
        } unbind{*this};
        sqlite3* handle = db.getHandle();
        const auto run = [&](Prepared& st, std::size_t rows, std::size_t first) {
            if (!st)
                st = prepare(handle, multi_row_insert(head, columns, rows));
            sqlite3_reset(st.get());
            RowBinder binder(handle, st.get());
            for (std::size_t i = 0; i < rows; ++i)
                bind_row(binder, static_cast<int>(i) * columns, first + i);
            if (const int rc = sqlite3_step(st.get()); rc != SQLITE_DONE)
                throw SQLite::Exception(handle, rc);
        };
        std::size_t done = 0;
        for (; count - done >= rows_per_insert; done += rows_per_insert)
            run(group, rows_per_insert, done);
        for (; done < count; ++done)
            run(one, 1, done);
    }

    static Prepared prepare(sqlite3* handle, const std::string& sql) {
        sqlite3_stmt* raw = nullptr;
        const int rc = sqlite3_prepare_v3(handle, sql.c_str(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
        Prepared prepared(raw, &sqlite3_finalize);
        if (rc != SQLITE_OK)
            throw SQLite::Exception(handle, rc);
        return prepared;
    }
};

// The first of `count` new row ids of `table` (an INTEGER PRIMARY KEY), as SQLite would give them
// one by one: one more than the largest in use, 1 in an empty table (sqlite.org/autoinc.html).
// Inside the write transaction nobody else inserts.
std::int64_t next_row_id(SQLite::Database& db, const std::string& table, std::size_t count) {
    SQLite::Statement q(db, "SELECT max(id) FROM " + table);
    q.executeStep();
    const std::int64_t largest = q.getColumn(0).isNull() ? 0 : q.getColumn(0).getInt64();
    if (largest > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(count))
        throw Error("database: the row ids of table " + table + " are used up");
    return largest + 1;
}

} // namespace

// The multi-row inserts of a session's steps and exchanges, prepared on first use.
struct Store::SessionInserts {
    RowInsert steps{"INSERT INTO steps (id, session_id, seq, suite_id, suite_hash, step_id, grp, "
                    "title_en, title_ja, action, verdict, reason_en, reason_ja, sw, duration_us, "
                    "measurements, failure, missing, started_us)",
                    19};
    RowInsert exchanges{"INSERT INTO exchanges (step_row, seq, command, response, sw, "
                        "duration_us, note, failure, response_size)",
                        9};
};

void Store::add_session(const std::string& run_uuid, const model::Session& session,
                        const std::optional<model::Verdict>& verdict) {
    try {
        SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        const std::int64_t run_id = run_row_id(*db_, run_uuid);
        const std::int64_t reader_id = upsert_reader(*db_, session.reader);
        const auto card_id = upsert_card(*db_, session.card);
        SQLite::Statement seq_q(*db_, "SELECT COUNT(*) FROM sessions WHERE run_id = ?");
        seq_q.bind(1, run_id);
        seq_q.executeStep();
        const int seq = seq_q.getColumn(0).getInt();

        SQLite::Statement ins(*db_, "INSERT INTO sessions (run_id, seq, reader_id, card_id, "
                                    "status, cause, failure) VALUES (?,?,?,?,?,?,?)");
        ins.bind(1, run_id);
        ins.bind(2, seq);
        ins.bind(3, reader_id);
        if (card_id)
            ins.bind(4, *card_id);
        else
            ins.bind(4);
        ins.bind(5, to_string(session.status));
        ins.bind(6, session.cause);
        ins.bind(7, to_string(session.failure));
        ins.exec();
        const std::int64_t session_id = db_->getLastInsertRowid();

        // Every step with its suite, in order; their row ids are given here (SQLite's own rule,
        // one more than the largest in use: the same ids) so that their exchanges can follow in
        // groups too.
        std::vector<std::pair<const model::SuiteResult*, const model::StepResult*>> steps;
        std::size_t exchange_count = 0;
        for (const auto& suite : session.suites)
            for (const auto& step : suite.steps) {
                steps.emplace_back(&suite, &step);
                exchange_count += step.exchanges.size();
            }
        const std::int64_t first_step_row = next_row_id(*db_, "steps", steps.size());
        if (!inserts_)
            inserts_ = std::make_unique<SessionInserts>();
        // The session outlives each exec: its strings are bound without a copy (one copy per text
        // column per step was a per-step cost, issue 11).
        inserts_->steps.insert(*db_, steps.size(), [&](RowBinder& st, int at, std::size_t i) {
            const model::SuiteRef& suite = steps[i].first->suite;
            const model::StepResult& step = *steps[i].second;
            st.bind(at + 1, first_step_row + static_cast<std::int64_t>(i));
            st.bind(at + 2, session_id);
            st.bind(at + 3, static_cast<std::int64_t>(i));
            st.bindNoCopy(at + 4, suite.id);
            st.bindNoCopy(at + 5, suite.content_hash);
            st.bindNoCopy(at + 6, step.step_id);
            st.bindNoCopy(at + 7, step.group);
            st.bindNoCopy(at + 8, step.title_en);
            st.bindNoCopy(at + 9, step.title_ja);
            st.bindNoCopy(at + 10, step.action);
            st.bindNoCopy(at + 11, to_string(step.verdict));
            st.bindNoCopy(at + 12, step.reason_en);
            st.bindNoCopy(at + 13, step.reason_ja);
            bind_optional(st, at + 14, step.sw);
            st.bind(at + 15, step.duration_us);
            if (step.measurements_json.empty())
                st.bindNoCopy(at + 16, "{}");
            else
                st.bindNoCopy(at + 16, step.measurements_json);
            st.bindNoCopy(at + 17, to_string(step.failure));
            if (step.missing.empty())
                st.bindNoCopy(at + 18, "");
            else
                st.bind(at + 18, join_tokens(step.missing)); // a copy: a temporary
            if (step.started_us)
                st.bind(at + 19, *step.started_us);
            else
                st.bind(at + 19);
        });

        struct ExchangeRow {
            std::int64_t step_row;
            int seq;
            const model::Exchange* exchange;
        };
        std::vector<ExchangeRow> exchanges;
        exchanges.reserve(exchange_count);
        for (std::size_t i = 0; i < steps.size(); ++i) {
            int ex_seq = 0;
            for (const auto& ex : steps[i].second->exchanges)
                exchanges.push_back({first_step_row + static_cast<std::int64_t>(i), ex_seq++, &ex});
        }
        inserts_->exchanges.insert(
            *db_, exchanges.size(), [&](RowBinder& st, int at, std::size_t i) {
                const model::Exchange& ex = *exchanges[i].exchange;
                st.bind(at + 1, exchanges[i].step_row);
                st.bind(at + 2, exchanges[i].seq);
                st.bindNoCopy(at + 3, ex.command);
                st.bindNoCopy(at + 4, ex.response);
                bind_optional(st, at + 5, ex.sw);
                st.bind(at + 6, ex.duration_us);
                st.bindNoCopy(at + 7, ex.note);
                st.bindNoCopy(at + 8, to_string(ex.failure));
                if (ex.response_size)
                    st.bind(at + 9, static_cast<std::int64_t>(*ex.response_size));
                else
                    st.bind(at + 9);
            });

        // CCID traces are rare (a failing step in a `--usb` lab): one row at a time.
        std::optional<SQLite::Statement> ccid_ins;
        for (std::size_t i = 0; i < steps.size(); ++i) {
            int ccid_seq = 0;
            for (const auto& m : steps[i].second->ccid_trace) {
                if (!ccid_ins)
                    ccid_ins.emplace(*db_, "INSERT INTO ccid_trace (step_row, seq, direction, "
                                           "offset_us, message, note) VALUES (?,?,?,?,?,?)");
                ccid_ins->reset();
                ccid_ins->bind(1, first_step_row + static_cast<std::int64_t>(i));
                ccid_ins->bind(2, ccid_seq++);
                ccid_ins->bind(3, m.direction);
                ccid_ins->bind(4, m.offset_us);
                ccid_ins->bind(5, m.message);
                ccid_ins->bind(6, m.note);
                ccid_ins->exec();
            }
        }
        if (verdict)
            insert_verdict(*db_, run_id, session_id, *verdict);
        txn.commit();
    } catch (const SQLite::Exception& e) {
        fail(e, "storing the session of " + session.reader.pcsc_name);
    }
}

void Store::finish_run(const std::string& run_uuid, model::RunStatus status,
                       const std::string& cause, const std::string& ended_at,
                       const std::vector<model::Verdict>& verdicts) {
    try {
        SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        const std::int64_t run_id = run_row_id(*db_, run_uuid);
        SQLite::Statement upd(*db_,
                              "UPDATE runs SET status = ?, cause = ?, ended_at = ? WHERE id = ?");
        upd.bind(1, to_string(status));
        upd.bind(2, cause);
        upd.bind(3, ended_at);
        upd.bind(4, run_id);
        upd.exec();
        for (const auto& v : verdicts)
            insert_verdict(*db_, run_id, std::nullopt, v);
        txn.commit();
    } catch (const SQLite::Exception& e) {
        fail(e, "recording the end of run " + run_uuid);
    }
}

std::vector<RunSummary> Store::mark_interrupted() {
    std::vector<RunSummary> marked;
    if (!owner_gone_)
        return marked;
    try {
        SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        SQLite::Statement q(*db_, "SELECT uuid, started_at, host, owner_pid, owner_start FROM runs "
                                  "WHERE status = 'running'");
        std::vector<RunSummary> running;
        while (q.executeStep()) {
            RunSummary s;
            s.uuid = q.getColumn(0).getString();
            s.started_at = q.getColumn(1).getString();
            s.owner.host = q.getColumn(2).getString();
            s.owner.pid = q.getColumn(3).getInt64();
            s.owner.process_start = q.getColumn(4).getString();
            running.push_back(std::move(s));
        }
        SQLite::Statement upd(*db_, "UPDATE runs SET status = 'interrupted', cause = ? "
                                    "WHERE uuid = ? AND status = 'running'");
        for (auto& s : running) {
            if (!owner_gone_(s.owner))
                continue;
            s.status = model::RunStatus::Interrupted;
            s.cause = interrupted_cause(s.owner);
            upd.reset();
            upd.bind(1, s.cause);
            upd.bind(2, s.uuid);
            upd.exec();
            marked.push_back(std::move(s));
        }
        txn.commit();
    } catch (const SQLite::Exception& e) {
        fail(e, "marking interrupted runs");
    }
    return marked;
}

std::vector<RunSummary> Store::list_runs() const {
    std::vector<RunSummary> out;
    try {
        SQLite::Statement q(*db_, "SELECT uuid, started_at, ended_at, status, cause, lab, "
                                  "(SELECT COUNT(*) FROM sessions s WHERE s.run_id = runs.id), "
                                  "host, owner_pid, owner_start "
                                  "FROM runs ORDER BY started_at DESC, id DESC");
        while (q.executeStep()) {
            RunSummary s;
            s.uuid = q.getColumn(0).getString();
            s.started_at = q.getColumn(1).getString();
            s.ended_at = q.getColumn(2).getString();
            s.status = status_column(q.getColumn(3));
            s.cause = q.getColumn(4).getString();
            s.lab = q.getColumn(5).getInt() != 0;
            s.sessions = q.getColumn(6).getInt();
            s.owner.host = q.getColumn(7).getString();
            s.owner.pid = q.getColumn(8).getInt64();
            s.owner.process_start = q.getColumn(9).getString();
            if (stale(s.status, s.owner)) {
                s.status = model::RunStatus::Interrupted;
                s.cause = interrupted_cause(s.owner);
            }
            out.push_back(std::move(s));
        }
    } catch (const SQLite::Exception& e) {
        fail(e, "listing its runs");
    }
    return out;
}

std::optional<std::string> Store::latest_run_uuid() const {
    auto runs = list_runs();
    if (runs.empty())
        return std::nullopt;
    return runs.front().uuid;
}

std::optional<model::Run> Store::load_run(const std::string& uuid_or_prefix) const {
    try {
        const auto uuid = find_run(uuid_or_prefix);
        if (!uuid)
            return std::nullopt;
        SQLite::Statement find(*db_, "SELECT " + run_columns + " FROM runs WHERE uuid = ?");
        find.bind(1, *uuid);
        if (!find.executeStep())
            return std::nullopt;
        model::Run run = run_row(find);
        const std::int64_t run_id = find.getColumn(0).getInt64();
        {
            SQLite::Statement station(*db_, "SELECT station FROM central_pushes WHERE run_id = ? "
                                            "ORDER BY pushed_at DESC, rowid DESC LIMIT 1");
            station.bind(1, run_id);
            if (station.executeStep())
                run.station = station.getColumn(0).getString();
        }

        SQLite::Statement suites(*db_, "SELECT suite_id, content_hash FROM run_suites WHERE "
                                       "run_id = ? ORDER BY suite_id");
        suites.bind(1, run_id);
        while (suites.executeStep())
            run.suites.push_back(
                {suites.getColumn(0).getString(), suites.getColumn(1).getString()});

        SQLite::Statement sessions(
            *db_, "SELECT s.id, s.status, s.cause, r.pcsc_name, r.vid, r.pid, r.bcd_device, "
                  "r.manufacturer, r.product, r.serial, r.driver, r.reader_model, "
                  "r.ccid_descriptor, r.descriptor_findings, c.card_id, c.card_type, c.interface, "
                  "c.atr, c.emulated, c.test_card, s.failure FROM sessions s "
                  "JOIN readers r ON r.id = s.reader_id LEFT JOIN cards c ON c.id = s.card_id "
                  "WHERE s.run_id = ? ORDER BY s.seq");
        sessions.bind(1, run_id);
        while (sessions.executeStep()) {
            model::Session session;
            session.status = status_column(sessions.getColumn(1));
            session.cause = sessions.getColumn(2).getString();
            session.reader = reader_row(sessions, 3);
            session.card = card_row(sessions, 14);
            session.failure = failure_column(sessions.getColumn(20));
            session.suites = load_suites(sessions.getColumn(0).getInt64());
            run.sessions.push_back(std::move(session));
        }

        SQLite::Statement verdicts(*db_, "SELECT id, reader, reader_model, card_type, interface, "
                                         "verdict, diagnosis_en, diagnosis_ja FROM verdicts "
                                         "WHERE run_id = ? ORDER BY id");
        SQLite::Statement causes(*db_, "SELECT code FROM verdict_causes WHERE verdict_id = ? "
                                       "ORDER BY seq");
        verdicts.bind(1, run_id);
        while (verdicts.executeStep()) {
            model::Verdict v = verdict_row(verdicts, 1);
            causes.reset();
            causes.bind(1, verdicts.getColumn(0).getInt64());
            while (causes.executeStep())
                v.causes.push_back(causes.getColumn(0).getString());
            run.verdicts.push_back(std::move(v));
        }
        return run;
    } catch (const SQLite::Exception& e) {
        fail(e, "reading run " + uuid_or_prefix);
    }
}

std::optional<std::string> Store::find_run(const std::string& uuid_or_prefix) const {
    if (uuid_or_prefix.empty())
        return std::nullopt;
    try {
        SQLite::Statement exact(*db_, "SELECT uuid FROM runs WHERE uuid = ?");
        exact.bind(1, uuid_or_prefix);
        if (exact.executeStep())
            return exact.getColumn(0).getString();
        // A prefix is a range of the UNIQUE index on uuid (LIKE would scan every run): UUIDs are
        // lower-case hex and '-', all below U+007F.
        std::string lower = uuid_or_prefix;
        for (auto& c : lower)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        SQLite::Statement range(*db_, "SELECT uuid FROM runs WHERE uuid >= ?1 AND uuid < ?1 || "
                                      "char(127) ORDER BY uuid LIMIT 2");
        range.bind(1, lower);
        if (!range.executeStep())
            return std::nullopt;
        std::string found = range.getColumn(0).getString();
        if (range.executeStep())
            throw UsageError("run id prefix " + uuid_or_prefix + " is ambiguous");
        return found;
    } catch (const SQLite::Exception& e) {
        fail(e, "looking up run " + uuid_or_prefix);
    }
}

std::vector<model::SuiteResult> Store::load_suites(std::int64_t session_id) const {
    std::vector<model::SuiteResult> suites;
    SQLite::Statement steps(*db_, "SELECT id, suite_id, suite_hash, step_id, grp, title_en, "
                                  "title_ja, action, verdict, reason_en, reason_ja, sw, "
                                  "duration_us, measurements, failure, missing, started_us "
                                  "FROM steps "
                                  "WHERE session_id = ? ORDER BY seq");
    SQLite::Statement exchanges(*db_, "SELECT command, response, sw, duration_us, note, "
                                      "failure, response_size FROM exchanges "
                                      "WHERE step_row = ? ORDER BY seq");
    SQLite::Statement ccid(*db_, "SELECT direction, offset_us, message, note FROM ccid_trace "
                                 "WHERE step_row = ? ORDER BY seq");
    steps.bind(1, session_id);
    while (steps.executeStep()) {
        const std::string suite_id = steps.getColumn(1).getString();
        if (suites.empty() || suites.back().suite.id != suite_id)
            suites.push_back({{suite_id, steps.getColumn(2).getString()}, {}});
        model::StepResult step;
        step.step_id = steps.getColumn(3).getString();
        step.group = steps.getColumn(4).getString();
        step.title_en = steps.getColumn(5).getString();
        step.title_ja = steps.getColumn(6).getString();
        step.action = steps.getColumn(7).getString();
        step.verdict = model::step_verdict_from(steps.getColumn(8).getString())
                           .value_or(model::StepVerdict::Error);
        step.reason_en = steps.getColumn(9).getString();
        step.reason_ja = steps.getColumn(10).getString();
        step.sw = column_optional<std::uint16_t>(steps.getColumn(11));
        step.duration_us = steps.getColumn(12).getInt64();
        step.measurements_json = steps.getColumn(13).getString();
        step.failure = failure_column(steps.getColumn(14));
        step.missing = split_tokens(steps.getColumn(15).getString());
        if (!steps.getColumn(16).isNull())
            step.started_us = steps.getColumn(16).getInt64();
        exchanges.reset();
        exchanges.bind(1, steps.getColumn(0).getInt64());
        while (exchanges.executeStep()) {
            model::Exchange x{
                exchanges.getColumn(0).getString(), exchanges.getColumn(1).getString(),
                column_optional<std::uint16_t>(exchanges.getColumn(2)),
                exchanges.getColumn(3).getInt64(), exchanges.getColumn(4).getString()};
            x.failure = failure_column(exchanges.getColumn(5));
            if (!exchanges.getColumn(6).isNull())
                x.response_size = static_cast<std::size_t>(exchanges.getColumn(6).getInt64());
            step.exchanges.push_back(std::move(x));
        }
        ccid.reset();
        ccid.bind(1, steps.getColumn(0).getInt64());
        while (ccid.executeStep())
            step.ccid_trace.push_back({ccid.getColumn(0).getString(), ccid.getColumn(1).getInt64(),
                                       ccid.getColumn(2).getString(),
                                       ccid.getColumn(3).getString()});
        suites.back().steps.push_back(std::move(step));
    }
    return suites;
}

std::vector<model::SuiteResult> Store::session_evidence(std::int64_t session_key) const {
    try {
        return load_suites(session_key);
    } catch (const SQLite::Exception& e) {
        fail(e, "reading the steps of session " + std::to_string(session_key));
    }
}

std::vector<model::RunHeader> Store::run_headers(const QueryScope& scope) const {
    try {
        std::optional<std::int64_t> only;
        if (!scope.run_uuid.empty()) {
            SQLite::Statement q(*db_, "SELECT id FROM runs WHERE uuid = ?");
            q.bind(1, scope.run_uuid);
            if (!q.executeStep())
                return {};
            only = q.getColumn(0).getInt64();
        }
        // One condition on a run id column for every statement below (one run: an index
        // lookup; survey runs left out unless asked for).
        const auto in_scope = [&](const char* column) {
            return fmt::format(
                "{} AND {}", only ? fmt::format("{} = ?1", column) : std::string("?1 IS NULL"),
                scope.include_survey
                    ? std::string("1")
                    : fmt::format("{} NOT IN (SELECT run_id FROM run_sources)", column));
        };
        const auto bind_scope = [&](SQLite::Statement& st) {
            if (only)
                st.bind(1, *only);
            else
                st.bind(1);
        };
        std::vector<model::RunHeader> out;
        std::map<std::int64_t, std::size_t> index; // run row id → out
        SQLite::Statement runs(*db_, "SELECT " + run_columns + " FROM runs WHERE " +
                                         in_scope("id") + " ORDER BY id");
        bind_scope(runs);
        const auto stations = pushed_station_names(*db_);
        while (runs.executeStep()) {
            model::RunHeader h;
            h.run = run_row(runs);
            if (const auto s = stations.find(runs.getColumn(0).getInt64()); s != stations.end())
                h.run.station = s->second;
            index.emplace(runs.getColumn(0).getInt64(), out.size());
            out.push_back(std::move(h));
        }

        SQLite::Statement suites(*db_, "SELECT run_id, suite_id, content_hash FROM run_suites "
                                       "WHERE " +
                                           in_scope("run_id") + " ORDER BY run_id, suite_id");
        bind_scope(suites);
        while (suites.executeStep())
            if (const auto it = index.find(suites.getColumn(0).getInt64()); it != index.end())
                out[it->second].run.suites.push_back(
                    {suites.getColumn(1).getString(), suites.getColumn(2).getString()});

        std::map<std::int64_t, std::shared_ptr<const model::ReaderIdentity>> readers;
        SQLite::Statement reader_q(*db_, "SELECT id, pcsc_name, vid, pid, bcd_device, "
                                         "manufacturer, product, serial, driver, reader_model, "
                                         "ccid_descriptor, descriptor_findings FROM readers");
        while (reader_q.executeStep()) {
            readers.emplace(reader_q.getColumn(0).getInt64(),
                            std::make_shared<const model::ReaderIdentity>(reader_row(reader_q, 1)));
        }

        SQLite::Statement sessions(
            *db_, "SELECT s.id, s.run_id, s.status, s.cause, s.reader_id, c.card_id, c.card_type, "
                  "c.interface, c.atr, c.emulated, c.test_card, s.failure FROM sessions s "
                  "LEFT JOIN cards c ON c.id = s.card_id WHERE " +
                      in_scope("s.run_id") + " ORDER BY s.run_id, s.seq");
        bind_scope(sessions);
        while (sessions.executeStep()) {
            const auto it = index.find(sessions.getColumn(1).getInt64());
            const auto reader = readers.find(sessions.getColumn(4).getInt64());
            if (it == index.end() || reader == readers.end())
                continue;
            model::SessionHeader h;
            h.key = sessions.getColumn(0).getInt64();
            h.status = status_column(sessions.getColumn(2));
            h.cause = sessions.getColumn(3).getString();
            h.reader = reader->second;
            h.card = card_row(sessions, 5);
            h.failure = failure_column(sessions.getColumn(11));
            out[it->second].sessions.push_back(std::move(h));
        }

        std::map<std::int64_t, std::pair<std::size_t, std::size_t>> verdict_at;
        SQLite::Statement verdicts(*db_, "SELECT id, run_id, reader, reader_model, card_type, "
                                         "interface, verdict, diagnosis_en, diagnosis_ja "
                                         "FROM verdicts WHERE " +
                                             in_scope("run_id") + " ORDER BY id");
        bind_scope(verdicts);
        while (verdicts.executeStep()) {
            const auto it = index.find(verdicts.getColumn(1).getInt64());
            if (it == index.end())
                continue;
            auto& list = out[it->second].run.verdicts;
            verdict_at.emplace(verdicts.getColumn(0).getInt64(),
                               std::make_pair(it->second, list.size()));
            list.push_back(verdict_row(verdicts, 2));
        }
        SQLite::Statement causes(*db_, "SELECT vc.verdict_id, vc.code FROM verdict_causes vc "
                                       "JOIN verdicts v ON v.id = vc.verdict_id WHERE " +
                                           in_scope("v.run_id") +
                                           " ORDER BY vc.verdict_id, vc.seq");
        bind_scope(causes);
        while (causes.executeStep())
            if (const auto it = verdict_at.find(causes.getColumn(0).getInt64());
                it != verdict_at.end())
                out[it->second.first].run.verdicts[it->second.second].causes.push_back(
                    causes.getColumn(1).getString());
        return out;
    } catch (const SQLite::Exception& e) {
        fail(e, "reading its runs for a report");
    }
}

namespace {

class StoreQuery final : public model::ResultQuery {
public:
    StoreQuery(const Store& store, QueryScope scope) : store_(store), scope_(std::move(scope)) {}
    std::vector<model::RunHeader> runs() const override { return store_.run_headers(scope_); }
    std::vector<model::SuiteResult> evidence(std::int64_t session_key) const override {
        return store_.session_evidence(session_key);
    }

private:
    const Store& store_;
    QueryScope scope_;
};

} // namespace

std::unique_ptr<model::ResultQuery> Store::query(QueryScope scope) const {
    return std::make_unique<StoreQuery>(*this, std::move(scope));
}

int Store::delete_runs(const std::vector<std::string>& uuids) {
    int deleted = 0;
    try {
        SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
        db_->exec("CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY)");
        db_->exec("DELETE FROM temp.doomed");
        SQLite::Statement add(*db_, "INSERT OR IGNORE INTO temp.doomed SELECT id FROM runs "
                                    "WHERE uuid = ?");
        for (const auto& uuid : uuids) {
            add.reset();
            add.bind(1, uuid);
            deleted += add.exec();
        }
        // Bottom up, each table in one statement (the foreign keys' cascades then find nothing
        // left to do row by row).
        for (const char* sql : {
                 "DELETE FROM exchanges WHERE step_row IN (SELECT st.id FROM steps st JOIN "
                 "sessions s ON s.id = st.session_id WHERE s.run_id IN temp.doomed)",
                 "DELETE FROM ccid_trace WHERE step_row IN (SELECT st.id FROM steps st JOIN "
                 "sessions s ON s.id = st.session_id WHERE s.run_id IN temp.doomed)",
                 "DELETE FROM steps WHERE session_id IN (SELECT id FROM sessions WHERE run_id IN "
                 "temp.doomed)",
                 "DELETE FROM verdict_causes WHERE verdict_id IN (SELECT id FROM verdicts WHERE "
                 "run_id IN temp.doomed)",
                 "DELETE FROM verdicts WHERE run_id IN temp.doomed",
                 "DELETE FROM sessions WHERE run_id IN temp.doomed",
                 "DELETE FROM run_suites WHERE run_id IN temp.doomed",
                 "DELETE FROM central_pushes WHERE run_id IN temp.doomed",
                 "DELETE FROM runs WHERE id IN temp.doomed",
                 "DELETE FROM readers WHERE id NOT IN (SELECT reader_id FROM sessions)",
                 "DELETE FROM cards WHERE id NOT IN (SELECT card_id FROM sessions WHERE card_id "
                 "IS NOT NULL)",
             })
            db_->exec(sql);
        db_->exec("DELETE FROM temp.doomed");
        txn.commit();
    } catch (const SQLite::Exception& e) {
        fail(e, "deleting runs");
    }
    return deleted;
}

void Store::vacuum() {
    try {
        db_->exec("VACUUM");
        if (path_ != ":memory:")
            db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const SQLite::Exception& e) {
        fail(e, "compacting it (VACUUM)");
    }
}

} // namespace harness::store
