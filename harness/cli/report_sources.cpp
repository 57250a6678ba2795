#include "cli/report_sources.hpp"

#include "backends/postgres/central_runs.hpp"
#include "cli/report_source.hpp"
#include "pure/error.hpp"

#include <fmt/core.h>
#include <vector>

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
    // Every store through its query interface (run headers first, then the evidence of the cells
    // shown only), the stores as one (model::UnionQuery: a run in several stores counts once).
    std::vector<DbQuery> files;
    std::vector<central::CentralSource> servers;
    std::vector<const model::ResultQuery*> parts;
    files.reserve(sources.dbs.size());
    servers.reserve(sources.dbs.size());
    for (const auto& db : sources.dbs) {
        if (central::is_server_uri(db)) {
            servers.push_back(
                central::open_runs(db, {sources.station, run_id, sources.include_survey}));
            parts.push_back(servers.back().query.get());
        } else {
            files.push_back(query_db(db, run_id, sources.include_survey));
            parts.push_back(files.back().query.get());
        }
    }
    return report::build(model::UnionQuery(std::move(parts)), selection);
}

std::string sources_label(const ReportSources& sources) {
    std::string out;
    for (const auto& db : sources.dbs)
        out += (out.empty() ? "" : " + ") + db;
    return out;
}

} // namespace harness::cli
