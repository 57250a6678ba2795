#pragma once
// The results database (SQLite through SQLiteCpp). Schema versions are migrations keyed by
// PRAGMA user_version; WAL and foreign keys are on; every write is one BEGIN IMMEDIATE
// transaction with a busy timeout, so two processes can write to one database at once.
//
// Nothing half-written, nothing hidden:
// - A run row is written at start (status "running", with its owner: host, pid, process start),
//   so a run whose process dies stays visible; the next `run` on the database marks it
//   "interrupted" (mark_interrupted), and a read-only open shows it so without writing.
// - A reader session (steps, exchanges) and its verdict (with its cause codes) land in ONE
//   transaction, or not at all.
// - Every SQLite failure is typed: disk full, I/O, corrupt, no access → StoreError (an
//   EnvironmentError, exit 3) naming the file; "not a cardharness database" / a newer schema →
//   UsageError (exit 2).
// - The file is owner-only (0600) and holds no key: card ids and markers are HMACs under the
//   station key (io/station.hpp).
#include "model/result_query.hpp"
#include "model/run.hpp"
#include "pure/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace SQLite {
class Database;
class Exception;
class Statement;
} // namespace SQLite

namespace harness::store {

enum class StoreFailure { Full, Io, Corrupt, Access, Busy };
const char* to_string(StoreFailure failure); // "disk full", "I/O error", …

// The database file could not be read or written: the run stops (exit 3), the file is named.
class StoreError : public EnvironmentError {
public:
    StoreError(StoreFailure failure, std::string path, int sqlite_code, const std::string& what)
        : EnvironmentError(what), failure_(failure), path_(std::move(path)),
          sqlite_code_(sqlite_code) {}
    StoreFailure failure() const { return failure_; }
    const std::string& path() const { return path_; }
    int sqlite_code() const { return sqlite_code_; } // extended result code
private:
    StoreFailure failure_;
    std::string path_;
    int sqlite_code_;
};

// Header of a stored run, for listings.
struct RunSummary {
    std::string uuid;
    std::string started_at;
    std::string ended_at;
    model::RunStatus status = model::RunStatus::Running;
    std::string cause;
    bool lab = false;
    int sessions = 0;
    model::RunOwner owner;
};

// Whether a run's owner process is gone (a "running" run whose owner is gone was interrupted).
// The CLI passes io::liveness; tests pass their own.
using OwnerGone = std::function<bool(const model::RunOwner&)>;

enum class Access {
    ReadWrite, // creates the file and its folder, migrates
    ReadOnly,  // never writes: an older schema is migrated in a private in-memory copy
};

// One surveyed CCID interface (`cardharness survey`): the result JSON the survey prints for it,
// keyed by dump file + interface block + the installed libccid version (several dumps share a
// VID:PID:bcdDevice), with the survey run whose sessions hold its steps.
struct SurveyRecord {
    std::string dump_file;
    std::string dump_sha256;
    int block = 0;
    int interface_number = 0;
    std::string libccid_version;
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::uint16_t bcd_device = 0;
    std::string result_json;
    std::string run_uuid;
    std::string surveyed_at;
};

// Which runs a report query (Store::query) covers.
struct QueryScope {
    bool include_survey = false; // also survey runs (`cardharness survey`)
    std::string run_uuid;        // only this run (its full UUID); empty: every run
};

// One thread at a time: its read-write connection has no mutex of its own (ARCHITECTURE.md, "One
// thread at a time per Store"); threads that share a Store serialise their calls (cli::ResultSink).
class Store {
public:
    // Opens (ReadWrite: creating the file and its folder if needed) and migrates. ":memory:"
    // works. Throws UsageError for a file that is not a cardharness database or is newer than
    // this harness understands, StoreError when SQLite reports the file corrupt or unreadable.
    explicit Store(const std::string& path, Access access = Access::ReadWrite,
                   OwnerGone owner_gone = {});
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    static int latest_schema_version();
    int schema_version() const;
    const std::string& path() const { return path_; }

    // PRAGMA quick_check; throws StoreError (Corrupt) naming the file unless it answers "ok".
    void check_integrity() const;

    void begin_run(const model::Run& run);
    // The session, its steps and exchanges, and its verdict (when given) in one transaction.
    void add_session(const std::string& run_uuid, const model::Session& session,
                     const std::optional<model::Verdict>& verdict = std::nullopt);
    // Ends the run; `verdicts` are verdicts without a session of their own (usually none).
    void finish_run(const std::string& run_uuid, model::RunStatus status, const std::string& cause,
                    const std::string& ended_at, const std::vector<model::Verdict>& verdicts = {});
    // Marks "running" runs whose owner is gone as "interrupted" (with the owner in the cause);
    // returns the runs marked. Needs the owner_gone check given at open.
    std::vector<RunSummary> mark_interrupted();

    // Full run by UUID (or a unique UUID prefix); nullopt when absent. A "running" run whose
    // owner is gone is returned as "interrupted" (without writing).
    std::optional<model::Run> load_run(const std::string& uuid_or_prefix) const;
    // The full UUID of the run with this UUID or unique UUID prefix (an index lookup, no scan);
    // nullopt when absent; UsageError when the prefix is ambiguous.
    std::optional<std::string> find_run(const std::string& uuid_or_prefix) const;
    std::vector<RunSummary> list_runs() const; // newest first, stale runs as "interrupted"

    // The report's reads (model::ResultQuery) over the runs in scope: run headers, verdicts and
    // session headers in a few statements for all runs together, and the steps of a session only
    // when asked (evidence). The store must outlive the query.
    std::unique_ptr<model::ResultQuery> query(QueryScope scope) const;
    std::vector<model::RunHeader> run_headers(const QueryScope& scope) const;
    std::vector<model::SuiteResult> session_evidence(std::int64_t session_key) const;
    std::optional<std::string> latest_run_uuid() const;

    // Deletes these runs (UUIDs) with everything that hangs on them (sessions, steps, exchanges,
    // CCID traces, verdicts, push records), and the readers and cards no session refers to any
    // more, in one transaction; returns how many runs it deleted (`cardharness prune`).
    int delete_runs(const std::vector<std::string>& uuids);
    // VACUUM: gives the pages freed by delete_runs back to the file system.
    void vacuum();

    // Survey runs (runs with source = survey): kept out of the observed views unless asked for.
    void mark_survey_run(const std::string& run_uuid);
    std::vector<std::string> survey_run_uuids() const;
    // Adds or replaces the record of (dump_file, block, libccid_version).
    void put_survey_record(const SurveyRecord& record);
    // Records of one libccid version (empty: every version), by dump file and block.
    std::vector<SurveyRecord> survey_records(const std::string& libccid_version = {}) const;

private:
    void migrate();
    std::vector<model::SuiteResult> load_suites(std::int64_t session_id) const;
    bool stale(model::RunStatus status, const model::RunOwner& owner) const;
    // A row of `SELECT <run_columns> FROM runs`, a stale "running" run shown as interrupted.
    model::Run run_row(const SQLite::Statement& row) const;
    [[noreturn]] void fail(const SQLite::Exception& e, const std::string& doing) const;

    std::string path_;
    Access access_;
    OwnerGone owner_gone_;
    std::unique_ptr<SQLite::Database> db_;
    struct SessionInserts; // add_session's prepared statements (before db_ closes)
    std::unique_ptr<SessionInserts> inserts_;
};

// "the run's process is gone (host H, pid P)": the cause stored/shown for an interrupted run.
std::string interrupted_cause(const model::RunOwner& owner);

} // namespace harness::store
