#pragma once
// A results database as the source of a copy to a central server (`cardharness push`): plain SQL
// rows (no model objects), one consistent snapshot per run, and the station's own record of what
// each central server confirmed (tables central_servers / central_pushes, store migration 2).
//
// Which rows and columns are copied is declared by the copier (backends/postgres/tables.cpp) as
// SQL over this database; this class only runs those SELECTs and hands the values on as text.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace SQLite {
class Database;
class Statement;
} // namespace SQLite
struct sqlite3_stmt;

namespace harness::store {

// A run whose current state a given server has not confirmed yet.
struct PendingRun {
    std::int64_t row_id = 0; // runs.id in this database
    std::string uuid;
    std::string started_at;
    std::string status; // runs.status as text (running, complete, incomplete, ...)
    int sessions = 0;
    int verdicts = 0;
    bool pushed_before = false; // the server confirmed an earlier state of this run
};

// One value of a row: text, or nullopt for SQL NULL. Valid only during the callback.
using CopyValue = std::optional<std::string_view>;
using RowSink = std::function<void(const std::vector<CopyValue>& row)>;

struct ServerRecord {
    std::string server_id;
    std::string label;
    std::string last_push;
};

class CopySource {
public:
    // Opens an existing results database (migrating it like every command does). Throws
    // UsageError when the file does not exist or is not a cardharness database.
    explicit CopySource(const std::string& path);
    ~CopySource();
    CopySource(const CopySource&) = delete;
    CopySource& operator=(const CopySource&) = delete;

    const std::string& path() const { return path_; }

    // Runs whose current state (status, number of sessions and verdicts) `server_id` has not
    // confirmed for `station`, oldest first.
    std::vector<PendingRun> pending(const std::string& server_id, const std::string& station) const;

    // Every server this database pushed to, most recent first.
    std::vector<ServerRecord> servers() const;

    // Reads within one snapshot of the file: every rows() call between begin_snapshot() and
    // end_snapshot() sees the same state, also while a `run` writes to the database. Returns the
    // run's state in that snapshot (what confirm() records), nullopt when the run is gone.
    std::optional<PendingRun> begin_snapshot(std::int64_t run_row_id);
    void end_snapshot() noexcept;

    // Runs `select_sql` with ?1 bound to `run_row_id` and calls `sink` once per row, every column
    // as text (integers in decimal, NULL as nullopt). Returns the number of rows.
    std::size_t rows(const std::string& select_sql, std::int64_t run_row_id, const RowSink& sink);

    // Records that `server_id` confirmed `run` (as it was read) for `station`. Not synced to
    // disk at once (synchronous = NORMAL, as the store writes): a confirmation lost to a power
    // cut only makes the next push send that run again, which the server stores once.
    void confirm(const std::string& server_id, const std::string& server_label,
                 const std::string& station, const PendingRun& run);

private:
    // A statement prepared once per database connection (a push reads every table once per run:
    // the same few SELECTs hundreds of times).
    sqlite3_stmt* prepared(const std::string& sql);

    std::string path_;
    std::unique_ptr<SQLite::Database> db_;
    std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
    bool in_snapshot_ = false;
};

} // namespace harness::store
