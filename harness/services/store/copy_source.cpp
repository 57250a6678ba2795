#include "services/store/copy_source.hpp"

#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <filesystem>
#include <sqlite3.h>

namespace harness::store {
namespace {

constexpr int busy_timeout_ms = 30000;

// The run's state as a push confirms it: status and how many sessions and verdicts it has.
constexpr const char* run_state_columns =
    "r.id, r.uuid, r.started_at, r.status, "
    "(SELECT COUNT(*) FROM sessions s WHERE s.run_id = r.id), "
    "(SELECT COUNT(*) FROM verdicts v WHERE v.run_id = r.id)";

PendingRun run_state(SQLite::Statement& q) {
    PendingRun run;
    run.row_id = q.getColumn(0).getInt64();
    run.uuid = q.getColumn(1).getString();
    run.started_at = q.getColumn(2).getString();
    run.status = q.getColumn(3).getString();
    run.sessions = q.getColumn(4).getInt();
    run.verdicts = q.getColumn(5).getInt();
    return run;
}

} // namespace

CopySource::CopySource(const std::string& path) : path_(path) {
    if (!std::filesystem::exists(path))
        throw UsageError("no results database at " + path + " (give it with --db)");
    // Opening through the store checks that it is a cardharness database and migrates it.
    { Store migrated(path); }
    try {
        db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE, busy_timeout_ms);
        db_->exec("PRAGMA foreign_keys = ON");
        // As the store writes (WAL): a commit is not synced to disk at once. Each run a push
        // confirms is one small transaction; synced, they cost more than the push itself.
        db_->exec("PRAGMA synchronous = NORMAL");
    } catch (const SQLite::Exception& e) {
        throw UsageError("database " + path + ": " + e.what());
    }
}

CopySource::~CopySource() {
    end_snapshot();
    for (auto& [sql, statement] : statements_)
        sqlite3_finalize(statement);
}

sqlite3_stmt* CopySource::prepared(const std::string& sql) {
    if (const auto found = statements_.find(sql); found != statements_.end()) {
        sqlite3_reset(found->second);
        sqlite3_clear_bindings(found->second);
        return found->second;
    }
    sqlite3* db = db_->getHandle();
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &raw, nullptr) != SQLITE_OK) {
        sqlite3_finalize(raw);
        throw Error("database " + path_ + ": " + sqlite3_errmsg(db) + " in: " + sql);
    }
    statements_.emplace(sql, raw);
    return raw;
}

std::vector<PendingRun> CopySource::pending(const std::string& server_id,
                                            const std::string& station) const {
    SQLite::Statement q(
        *db_, std::string("SELECT ") + run_state_columns +
                  ", p.run_id IS NOT NULL FROM runs r LEFT JOIN central_pushes p ON "
                  "p.run_id = r.id AND p.server_id = ?1 AND p.station = ?2 "
                  "WHERE p.run_id IS NULL OR p.status <> r.status "
                  "OR p.sessions <> (SELECT COUNT(*) FROM sessions s WHERE s.run_id = r.id) "
                  "OR p.verdicts <> (SELECT COUNT(*) FROM verdicts v WHERE v.run_id = r.id) "
                  "ORDER BY r.started_at, r.id");
    q.bind(1, server_id);
    q.bind(2, station);
    std::vector<PendingRun> out;
    while (q.executeStep()) {
        auto run = run_state(q);
        run.pushed_before = q.getColumn(6).getInt() != 0;
        out.push_back(std::move(run));
    }
    return out;
}

std::vector<ServerRecord> CopySource::servers() const {
    SQLite::Statement q(*db_, "SELECT server_id, label, last_push FROM central_servers "
                              "ORDER BY last_push DESC, rowid DESC");
    std::vector<ServerRecord> out;
    while (q.executeStep())
        out.push_back(
            {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
    return out;
}

std::optional<PendingRun> CopySource::begin_snapshot(std::int64_t run_row_id) {
    end_snapshot();
    // A deferred transaction's first read fixes the snapshot (WAL): every later read sees it.
    db_->exec("BEGIN DEFERRED");
    in_snapshot_ = true;
    SQLite::Statement q(*db_, std::string("SELECT ") + run_state_columns +
                                  " FROM runs r WHERE r.id = ?1");
    q.bind(1, run_row_id);
    if (!q.executeStep())
        return std::nullopt;
    return run_state(q);
}

void CopySource::end_snapshot() noexcept {
    if (!in_snapshot_)
        return;
    in_snapshot_ = false;
    try {
        db_->exec("COMMIT");
    } catch (const SQLite::Exception&) {
        // A read-only transaction has nothing to lose; the connection stays usable.
    }
}

std::size_t CopySource::rows(const std::string& select_sql, std::int64_t run_row_id,
                             const RowSink& sink) {
    // The C API directly: this loop carries every row of a push.
    sqlite3* db = db_->getHandle();
    sqlite3_stmt* raw = prepared(select_sql);
    // Reset when done (also on a throw): a statement left stepping keeps its read open.
    const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, &sqlite3_reset);
    sqlite3_bind_int64(raw, 1, run_row_id);
    const int n = sqlite3_column_count(raw);
    std::vector<CopyValue> row(static_cast<std::size_t>(n));
    std::size_t count = 0;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        for (int i = 0; i < n; ++i) {
            auto& value = row[static_cast<std::size_t>(i)];
            if (sqlite3_column_type(raw, i) == SQLITE_NULL) {
                value.reset();
                continue;
            }
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, i));
            const int bytes = sqlite3_column_bytes(raw, i);
            value = std::string_view(text ? text : "", static_cast<std::size_t>(bytes));
        }
        sink(row);
        ++count;
    }
    if (rc != SQLITE_DONE)
        throw Error("database " + path_ + ": " + sqlite3_errmsg(db));
    return count;
}

void CopySource::confirm(const std::string& server_id, const std::string& server_label,
                         const std::string& station, const PendingRun& run) {
    sqlite3* db = db_->getHandle();
    const auto step = [&](sqlite3_stmt* statement) {
        const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> reset(statement,
                                                                          &sqlite3_reset);
        if (sqlite3_step(statement) != SQLITE_DONE)
            throw Error("database " + path_ + ": " + sqlite3_errmsg(db) +
                        " while recording a push");
    };
    const auto text = [](sqlite3_stmt* statement, int i, const std::string& value) {
        sqlite3_bind_text(statement, i, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT);
    };
    SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    sqlite3_stmt* server =
        prepared("INSERT INTO central_servers (server_id, label, last_push) VALUES "
                 "(?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
                 "ON CONFLICT(server_id) DO UPDATE SET label = excluded.label, "
                 "last_push = excluded.last_push");
    text(server, 1, server_id);
    text(server, 2, server_label);
    step(server);
    sqlite3_stmt* push =
        prepared("INSERT INTO central_pushes (server_id, station, run_id, status, sessions, "
                 "verdicts, pushed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                 "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
                 "ON CONFLICT(server_id, station, run_id) DO UPDATE SET status = excluded.status, "
                 "sessions = excluded.sessions, verdicts = excluded.verdicts, "
                 "pushed_at = excluded.pushed_at");
    text(push, 1, server_id);
    text(push, 2, station);
    sqlite3_bind_int64(push, 3, run.row_id);
    text(push, 4, run.status);
    sqlite3_bind_int(push, 5, run.sessions);
    sqlite3_bind_int(push, 6, run.verdicts);
    step(push);
    txn.commit();
}

} // namespace harness::store
