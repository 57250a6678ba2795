#include "cli/report_sources.hpp"

#include "backends/postgres/central_runs.hpp"
#include "cli/report_source.hpp"
#include "pure/error.hpp"

#include <fmt/core.h>
#include <set>

namespace harness::cli {

report::ReportModel report_from_sources(const ReportSources& sources, report::Selection selection,
                                        const std::string& run_id) {
    if (sources.dbs.empty())
        throw UsageError("no results database given");
    if (!run_id.empty() && sources.dbs.size() > 1)
        throw UsageError("--run reads one results store: give one --db");
    bool any_server = false;
    for (const auto& db : sources.dbs)
        any_server = any_server || central::is_server_uri(db);
    if (!sources.station.empty() && !any_server)
        throw UsageError("--station selects a station's runs on a central server: give --db "
                         "postgresql://…");
    // One station file: the store's query interface (headers, then the shown cells' evidence only).
    if (sources.dbs.size() == 1 && !any_server)
        return report_from_db(sources.dbs.front(), selection, run_id, sources.include_survey);
    std::vector<model::Run> runs;
    // Runs of the stores before this one: within one store every run counts (two stations on a
    // server may share a UUID, each is its own run).
    std::set<std::string> earlier;
    for (const auto& db : sources.dbs) {
        std::vector<model::Run> more;
        if (central::is_server_uri(db))
            more = central::read_runs(db, {sources.station, run_id, sources.include_survey}).runs;
        else
            more = runs_from_db(db, run_id, sources.include_survey);
        std::vector<std::string> added;
        for (auto& run : more)
            if (!earlier.contains(run.uuid)) {
                added.push_back(run.uuid);
                runs.push_back(std::move(run));
            }
        earlier.insert(added.begin(), added.end());
    }
    return report::build(runs, selection);
}

std::string sources_label(const ReportSources& sources) {
    std::string out;
    for (const auto& db : sources.dbs)
        out += (out.empty() ? "" : " + ") + db;
    return out;
}

} // namespace harness::cli
