// cardharness diff BASELINE CANDIDATE: regressions between two results (database, run id or a
// report JSON export); exit 1 on any regression.
#include "services/report/diff.hpp"

#include "backends/postgres/central_runs.hpp"
#include "cli/commands.hpp"
#include "cli/report_source.hpp"
#include "cli/report_sources.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <filesystem>
#include <fmt/core.h>
#include <memory>

namespace harness::cli {
namespace {

struct DiffOptions {
    std::string baseline;
    std::string candidate;
    std::string format = "text";
    std::string db = io::paths::default_database().string();
    double timing_threshold_pct = 50.0;
    bool allow_missing = false;
    bool include_survey = false;
};

// A side is a database file, a central server (postgresql://…, every station's runs), a JSON
// export, or a run id (UUID or prefix) in --db (a file or a server).
report::ReportModel load_side(const std::string& side, const std::string& db, bool include_survey) {
    if (central::is_server_uri(side))
        return report_from_sources({{side}, {}, include_survey}, report::Selection::Newest, {});
    if (std::filesystem::is_regular_file(side)) {
        if (is_sqlite_file(side))
            return report_from_db(side, report::Selection::Newest, {}, include_survey);
        return report_from_json(side);
    }
    if (side.find('/') != std::string::npos || side.ends_with(".json") || side.ends_with(".db"))
        throw UsageError(fmt::format("{}: no such file", side));
    return report_from_sources({{db}, {}, include_survey}, report::Selection::Run, side);
}

int diff_command(const DiffOptions& o) {
    if (o.timing_threshold_pct < 0)
        throw UsageError("--timing-threshold must be a percentage >= 0");
    const auto baseline = load_side(o.baseline, o.db, o.include_survey);
    const auto candidate = load_side(o.candidate, o.db, o.include_survey);
    const auto result = report::diff(baseline, candidate, o.timing_threshold_pct, o.allow_missing);
    std::string text;
    if (o.format == "json")
        text = report::render_diff_json(result);
    else if (o.format == "md")
        text = report::render_diff_markdown(result);
    else
        text = report::render_diff_text(result);
    write_output("-", text);
    return result.has_regression() ? exit_code::failure : exit_code::ok;
}

} // namespace

void add_diff_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<DiffOptions>();
    auto* cmd =
        app.add_subcommand("diff", "Regressions between two results (exit 1 on any regression)");
    cmd->add_option(
           "BASELINE", options->baseline,
           "Database file, central server (postgresql://…), report JSON export, or run id in --db")
        ->required();
    cmd->add_option(
           "CANDIDATE", options->candidate,
           "Database file, central server (postgresql://…), report JSON export, or run id in "
           "--db")
        ->required();
    cmd->add_option("--format", options->format, "text (default), json or md")
        ->check(CLI::IsMember({"text", "json", "md"}));
    cmd->add_option("--db", options->db,
                    "Database or central server for run ids (default " +
                        io::paths::default_database().string() + ")");
    cmd->add_option("--timing-threshold", options->timing_threshold_pct,
                    "List passing steps whose time changed by more than PCT percent (default 50)");
    cmd->add_flag("--allow-missing", options->allow_missing,
                  "Do not count readers or cells missing from the candidate (or compatible/partial "
                  "→ untested) as regressions");
    cmd->add_flag("--include-survey", options->include_survey,
                  "Also compare driver-level survey runs (default: observed runs only)");
    cmd->callback([options, &context] { context.exit_code = diff_command(*options); });
}

} // namespace harness::cli
