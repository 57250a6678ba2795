// The survey's part of the results database (schema migration 2): which runs are survey runs,
// and the per-interface survey results with their resume key.
#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

namespace harness::store {

namespace {

std::int64_t survey_run_id(SQLite::Database& db, const std::string& uuid) {
    SQLite::Statement q(db, "SELECT id FROM runs WHERE uuid = ?");
    q.bind(1, uuid);
    if (!q.executeStep())
        throw Error("no run with id " + uuid + " in the database");
    return q.getColumn(0).getInt64();
}

} // namespace

void Store::mark_survey_run(const std::string& run_uuid) {
    SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement ins(*db_, "INSERT OR IGNORE INTO run_sources (run_id, source) VALUES (?, "
                                "'survey')");
    ins.bind(1, survey_run_id(*db_, run_uuid));
    ins.exec();
    txn.commit();
}

std::vector<std::string> Store::survey_run_uuids() const {
    SQLite::Statement q(*db_, "SELECT r.uuid FROM runs r JOIN run_sources s ON s.run_id = r.id "
                              "WHERE s.source = 'survey' ORDER BY r.id");
    std::vector<std::string> out;
    while (q.executeStep())
        out.push_back(q.getColumn(0).getString());
    return out;
}

void Store::put_survey_record(const SurveyRecord& r) {
    SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement ins(
        *db_, "INSERT INTO survey_results (run_id, dump_file, dump_sha256, block, "
              "interface_number, libccid_version, vid, pid, bcd_device, result, surveyed_at) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?) "
              "ON CONFLICT (dump_file, block, libccid_version) DO UPDATE SET "
              "run_id = excluded.run_id, dump_sha256 = excluded.dump_sha256, "
              "interface_number = excluded.interface_number, vid = excluded.vid, "
              "pid = excluded.pid, bcd_device = excluded.bcd_device, result = excluded.result, "
              "surveyed_at = excluded.surveyed_at");
    ins.bind(1, survey_run_id(*db_, r.run_uuid));
    ins.bind(2, r.dump_file);
    ins.bind(3, r.dump_sha256);
    ins.bind(4, r.block);
    ins.bind(5, r.interface_number);
    ins.bind(6, r.libccid_version);
    ins.bind(7, int{r.vid});
    ins.bind(8, int{r.pid});
    ins.bind(9, int{r.bcd_device});
    ins.bind(10, r.result_json);
    ins.bind(11, r.surveyed_at);
    ins.exec();
    txn.commit();
}

std::vector<SurveyRecord> Store::survey_records(const std::string& libccid_version) const {
    SQLite::Statement q(
        *db_, "SELECT s.dump_file, s.dump_sha256, s.block, s.interface_number, "
              "s.libccid_version, s.vid, s.pid, s.bcd_device, s.result, r.uuid, s.surveyed_at "
              "FROM survey_results s JOIN runs r ON r.id = s.run_id "
              "WHERE ? = '' OR s.libccid_version = ? ORDER BY s.dump_file, s.block, "
              "s.libccid_version");
    q.bind(1, libccid_version);
    q.bind(2, libccid_version);
    std::vector<SurveyRecord> out;
    while (q.executeStep()) {
        SurveyRecord r;
        r.dump_file = q.getColumn(0).getString();
        r.dump_sha256 = q.getColumn(1).getString();
        r.block = q.getColumn(2).getInt();
        r.interface_number = q.getColumn(3).getInt();
        r.libccid_version = q.getColumn(4).getString();
        r.vid = static_cast<std::uint16_t>(q.getColumn(5).getInt());
        r.pid = static_cast<std::uint16_t>(q.getColumn(6).getInt());
        r.bcd_device = static_cast<std::uint16_t>(q.getColumn(7).getInt());
        r.result_json = q.getColumn(8).getString();
        r.run_uuid = q.getColumn(9).getString();
        r.surveyed_at = q.getColumn(10).getString();
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace harness::store
