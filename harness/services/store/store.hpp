#pragma once
// The results database (SQLite through SQLiteCpp). Schema versions are migrations keyed by
// PRAGMA user_version; WAL and foreign keys are on; every write is one BEGIN IMMEDIATE
// transaction with a busy timeout, so two processes can write to one database at once.
// A run row is written at start (status "running"), so an interrupted run stays visible; each
// reader session (its steps and exchanges) lands in one transaction.
#include "io/salt.hpp"
#include "model/run.hpp"

#include <cstdint>
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

class Store : public io::SaltStore {
public:
    // Opens (creating the file and its folder if needed) and migrates. ":memory:" works.
    // Throws harness::UsageError for a file that is not a cardharness database or is newer
    // than this harness understands.
    explicit Store(const std::string& path);
    ~Store() override;
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

    io::Salt salt() override;

    // Survey runs (runs with source = survey): kept out of the observed views unless asked for.
    void mark_survey_run(const std::string& run_uuid);
    std::vector<std::string> survey_run_uuids() const;
    // Adds or replaces the record of (dump_file, block, libccid_version).
    void put_survey_record(const SurveyRecord& record);
    // Records of one libccid version (empty: every version), by dump file and block.
    std::vector<SurveyRecord> survey_records(const std::string& libccid_version = {}) const;

private:
    void migrate();
    std::string path_;
    std::unique_ptr<SQLite::Database> db_;
};

} // namespace harness::store
