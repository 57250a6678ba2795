#pragma once
// The results database (SQLite through SQLiteCpp). Schema versions are migrations keyed by
// PRAGMA user_version; WAL and foreign keys are on; every write is one BEGIN IMMEDIATE
// transaction with a busy timeout, so two processes can write to one database at once.
// A run row is written at start (status "running"), so an interrupted run stays visible; each
// reader session (its steps and exchanges) lands in one transaction. The file is owner-only
// (0600) and holds no key: card ids and markers are HMACs under the station key (io/station.hpp).
#include "model/run.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace harness::store {

// Header of a stored run, for listings.
struct RunSummary {
    std::string uuid;
    std::string started_at;
    std::string ended_at;
    model::RunStatus status = model::RunStatus::Running;
    std::string cause;
    bool lab = false;
    int sessions = 0;
};

class Store {
public:
    // Opens (creating the file and its folder if needed) and migrates. ":memory:" works.
    // Throws harness::UsageError for a file that is not a cardharness database or is newer
    // than this harness understands.
    explicit Store(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    static int latest_schema_version();
    int schema_version() const;
    const std::string& path() const { return path_; }

    void begin_run(const model::Run& run);
    void add_session(const std::string& run_uuid, const model::Session& session);
    void finish_run(const std::string& run_uuid, model::RunStatus status, const std::string& cause,
                    const std::string& ended_at, const std::vector<model::Verdict>& verdicts);

    // Full run by UUID (or a unique UUID prefix); nullopt when absent.
    std::optional<model::Run> load_run(const std::string& uuid_or_prefix) const;
    std::vector<RunSummary> list_runs() const; // newest first
    std::optional<std::string> latest_run_uuid() const;

private:
    void migrate();
    std::string path_;
    std::unique_ptr<SQLite::Database> db_;
};

} // namespace harness::store
