#pragma once
// The central PostgreSQL store that stations push their results to (libpqxx; this folder is the
// only includer of pqxx). A station keeps its SQLite database as its source of truth; `push`
// copies every run the server has not confirmed yet, one server transaction per run, bulk rows
// by COPY into temporary staging tables and one INSERT … SELECT … ON CONFLICT per table, so a
// repeated or interrupted push leaves exactly one copy. Stations are separated on the server by
// row-level security: a role writes only the stations registered to it (tables.cpp).
#include "services/store/copy_source.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace harness::central {

// Throws UsageError when the connection string (a postgresql:// URI or key=value words) does
// not parse, names a port that is not a number, or carries a password, or when PGPASSWORD is set:
// passwords come only from PGPASSFILE or ~/.pgpass (a password on a command line shows in ps and
// shell history).
void refuse_passwords(const std::string& conninfo, std::string_view option = "--to");

// Throws UsageError unless `name` is a station name the server accepts (letters, digits, '.',
// '_', '-'; up to 63 characters, starting with a letter or digit).
void check_station_name(const std::string& name);

// The default station name: this machine's host name.
std::string default_station_name();

struct RunPush {
    std::int64_t rows_sent = 0;  // rows read from the station and sent
    std::int64_t rows_added = 0; // rows the server did not have (inserted or merged)
    bool skipped = false;        // the run vanished from the station database meanwhile
};

class Server {
public:
    // Connects (libpq: the URI or key=value words, then the PG* environment variables).
    // Throws EnvironmentError when the server cannot be reached or refuses the login.
    explicit Server(const std::string& conninfo);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // A second connection to the same server as the same role (a push's other lane).
    std::unique_ptr<Server> another() const;

    // role@host:port/dbname (never a password); host may be a socket folder.
    std::string label() const;
    std::string role() const;

    // The central schema version on the server, 0 when it has none.
    int schema_version();
    // A random id the schema was created with: what a station's push records are keyed by.
    std::string server_id();

    // Creates or upgrades the central schema to `target` (0: the newest this client knows) in
    // one transaction; returns the version before. Run by the database owner. Throws
    // EnvironmentError when the server's schema is newer than this client knows, or the role
    // may not change it.
    int migrate(int target = 0);

    // Throws EnvironmentError (saying which side to upgrade) unless the server's schema is
    // exactly the version this client writes.
    void require_current_schema();

    // Registers `station` to this role on its first push; throws EnvironmentError when it is
    // registered to another role.
    void claim_station(const std::string& station);

    // Copies one run (its state in one snapshot of the station database) in one server
    // transaction. Idempotent.
    RunPush push_run(store::CopySource& source, std::int64_t run_row_id,
                     const std::string& run_uuid, const std::string& station,
                     store::PendingRun* state_read);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct PushProgress {
    std::size_t runs_done = 0;
    std::size_t runs_total = 0;
    std::int64_t rows_sent = 0;
    std::int64_t rows_added = 0;
    double seconds = 0;
};

struct PushSummary {
    std::size_t runs_total = 0;  // pending when the push started
    std::size_t runs_pushed = 0; // confirmed by the server
    std::int64_t rows_sent = 0;
    std::int64_t rows_added = 0;
    double seconds = 0;
};

// Pushes every run the server has not confirmed for `station`, oldest first, and records each
// confirmation in the station database. Calls `progress` after every run. On a failure the runs
// confirmed so far stay confirmed; the exception says what is still pending. With `lanes` > 1,
// that many connections push runs side by side (each run still one server transaction; the
// server's work is most of a push's, and it spreads over its cores); `progress` is then called
// from the lanes' threads, one call at a time.
PushSummary push(Server& server, store::CopySource& source, const std::string& station,
                 const std::function<void(const PushProgress&)>& progress, std::size_t lanes = 1);

} // namespace harness::central
