#pragma once
// Where `report` and `diff` get a report model: a results database (all runs, the latest per
// reader, or one run) or a JSON export.
#include "model/result_query.hpp"
#include "services/report/report.hpp"
#include "services/store/store.hpp"

#include <memory>
#include <string>

namespace harness::cli {

// Throws UsageError when the database is missing, not a cardharness database, or lacks the run.
// Survey runs (`cardharness survey`: driver-level, not observed) stay out unless include_survey;
// a survey run asked for by id without it is a UsageError that says so.
report::ReportModel report_from_db(const std::string& db, report::Selection selection,
                                   const std::string& run_id, bool include_survey = false);
// A station file opened read-only and its report query (the runs report_from_db reads: every
// run, or the one run_id names); the query reads through the store, which it must not outlive.
struct DbQuery {
    std::unique_ptr<store::Store> store;
    std::unique_ptr<model::ResultQuery> query;
};
DbQuery query_db(const std::string& db, const std::string& run_id, bool include_survey);
// A report JSON export; throws UsageError with file:line:column on bad JSON.
report::ReportModel report_from_json(const std::string& path);
// Tells stderr about every run of the model that did not complete (interrupted, incomplete,
// running): a report never hides them.
void warn_incomplete_runs(const report::ReportModel& model, const std::string& origin);
// True when the file starts like an SQLite database.
bool is_sqlite_file(const std::string& path);
// Writes text to PATH (creating its folder); "-" is stdout.
void write_output(const std::string& path, const std::string& text);

} // namespace harness::cli
