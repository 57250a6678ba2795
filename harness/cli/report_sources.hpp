#pragma once
// `report --db` and `diff` over several results stores at once: station SQLite files and central
// PostgreSQL servers (postgresql://…, backends/postgres/central_runs.hpp). Every store gives
// model::Run values; their union goes through the one report model (report::build), so a report
// over a server equals the report over the stations' files that pushed to it.
#include "services/report/report.hpp"

#include <string>
#include <vector>

namespace harness::cli {

struct ReportSources {
    std::vector<std::string> dbs; // files and postgresql:// URIs, in the order given
    std::string station;          // only this station's runs from a server (empty: all)
    bool include_survey = false;
};

// A run found in several stores (a station's file and the server it pushed to) counts once, as
// the first store that has it holds it. Throws UsageError for a missing file, a bad URI, --run
// with several stores, or --station without a server; EnvironmentError when a server cannot be
// reached or fails.
report::ReportModel report_from_sources(const ReportSources& sources, report::Selection selection,
                                        const std::string& run_id);

// What the report was made from, for messages: the files and servers (role@host:port/db).
std::string sources_label(const ReportSources& sources);

} // namespace harness::cli
