#include "cli/report_source.hpp"

#include "io/process.hpp"
#include "io/text_file.hpp"
#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fmt/core.h>
#include <fstream>
#include <sstream>

namespace harness::cli {

namespace fs = std::filesystem;

bool is_sqlite_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char head[16] = {};
    in.read(head, sizeof head);
    return in.gcount() == 16 && std::string_view(head, 15) == "SQLite format 3";
}

namespace {

// Read-only: CI artefacts are read-only, and a report never changes what it reports. A run whose
// process is gone is shown as interrupted without being marked; SQLite's corruption and I/O
// errors become store::StoreError naming the file (exit 3).
std::unique_ptr<store::Store> open_for_report(const std::string& db) {
    if (!fs::exists(db))
        throw UsageError(fmt::format("{}: no results database (run `cardharness run` first, or "
                                     "give --db FILE)",
                                     db));
    if (!is_sqlite_file(db))
        throw UsageError(fmt::format("{}: not an SQLite database", db));
    return std::make_unique<store::Store>(
        db, store::Access::ReadOnly,
        [](const model::RunOwner& owner) { return io::liveness(owner) == io::Liveness::Gone; });
}

// --run: the run's full UUID; a survey run only with --include-survey.
std::string find_report_run(const store::Store& store, const std::string& db,
                            const std::string& run_id, bool include_survey) {
    const auto uuid = store.find_run(run_id);
    if (!uuid)
        throw UsageError(fmt::format("{}: no run {}", db, run_id));
    const auto survey_runs = store.survey_run_uuids();
    if (!include_survey &&
        std::find(survey_runs.begin(), survey_runs.end(), *uuid) != survey_runs.end())
        throw UsageError(fmt::format("{}: run {} is a driver-level survey run, not an observed "
                                     "one: add --include-survey, or use `report --view "
                                     "survey`",
                                     db, run_id));
    return *uuid;
}

} // namespace

DbQuery query_db(const std::string& db, const std::string& run_id, bool include_survey) {
    DbQuery out;
    out.store = open_for_report(db);
    // The report reads run headers and verdicts, and the steps of the cells it shows only
    // (model::ResultQuery): never every run with every step.
    store::QueryScope scope;
    scope.include_survey = include_survey;
    if (!run_id.empty()) {
        scope.run_uuid = find_report_run(*out.store, db, run_id, include_survey);
        scope.include_survey = true;
    }
    out.query = out.store->query(scope);
    return out;
}

report::ReportModel report_from_db(const std::string& db, report::Selection selection,
                                   const std::string& run_id, bool include_survey) {
    const DbQuery source = query_db(db, run_id, include_survey);
    return report::build(*source.query, selection);
}

void warn_incomplete_runs(const report::ReportModel& model, const std::string& origin) {
    for (const auto& r : model.runs)
        if (r.status != model::RunStatus::Complete)
            fmt::print(stderr, "cardharness: {}: run {} (started {}) is {}{}\n", origin, r.uuid,
                       r.started_at, model::to_string(r.status),
                       r.cause.empty() ? "" : ": " + r.cause);
}

report::ReportModel report_from_json(const std::string& path) {
    // Exports of very large result sets stay far below this; anything bigger is not ours.
    return report::parse_json(
        io::read_text_file(path, "cardharness report JSON export", std::size_t{1} << 30), path);
}

void write_output(const std::string& path, const std::string& text) {
    if (path == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return;
    }
    const fs::path p(path);
    if (p.has_parent_path())
        fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out)
        throw EnvironmentError(fmt::format("{}: cannot write", path));
}

} // namespace harness::cli
