// cardharness prune: delete old runs from a results database kept for years (--keep-latest N or
// --before DATE), keeping every cell's newest evidence and every run still running, then VACUUM.
// The rule is services/report/prune.hpp; the deleting is store::Store::delete_runs.
#include "services/report/prune.hpp"

#include "cli/commands.hpp"
#include "cli/report_source.hpp"
#include "io/paths.hpp"
#include "io/process.hpp"
#include "pure/error.hpp"
#include "services/store/store.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/core.h>
#include <memory>
#include <optional>

namespace harness::cli {
namespace {

struct PruneOptions {
    std::string db = io::paths::default_database().string();
    int keep_latest = -1;
    std::string before;
    bool dry_run = false;
};

double megabytes(const std::string& path) {
    std::error_code ec;
    std::uintmax_t bytes = 0;
    for (const char* suffix : {"", "-wal"}) {
        const auto size = std::filesystem::file_size(path + suffix, ec);
        if (!ec)
            bytes += size;
    }
    return static_cast<double>(bytes) / 1e6;
}

int prune_command(const PruneOptions& o) {
    if ((o.keep_latest >= 0) == !o.before.empty())
        throw UsageError("prune: give one of --keep-latest N or --before DATE");
    if (!o.before.empty() && !report::is_prune_date(o.before))
        throw UsageError(fmt::format("prune: --before {}: not a date (YYYY-MM-DD or "
                                     "YYYY-MM-DDTHH:MM:SSZ, UTC)",
                                     o.before));
    if (!std::filesystem::exists(o.db))
        throw UsageError(fmt::format("{}: no results database (give --db FILE)", o.db));
    if (!is_sqlite_file(o.db))
        throw UsageError(fmt::format("{}: not an SQLite database", o.db));
    const double size_before = megabytes(o.db);
    store::Store store(
        o.db, o.dry_run ? store::Access::ReadOnly : store::Access::ReadWrite,
        [](const model::RunOwner& owner) { return io::liveness(owner) == io::Liveness::Gone; });
    // `report` reads only what it shows; prune deletes across the whole file: refuse a corrupt
    // one (exit 3, named) before changing anything.
    store.check_integrity();
    // Survey runs are the survey's own records (its resume keys): never pruned here.
    const auto survey = store.survey_run_uuids();
    std::vector<report::PruneCandidate> runs;
    for (const auto& s : store.list_runs())
        if (std::find(survey.begin(), survey.end(), s.uuid) == survey.end())
            runs.push_back({s.uuid, s.started_at, s.status});
    const auto newest = report::build(*store.query({}), report::Selection::Newest);
    report::PruneRule rule;
    if (o.keep_latest >= 0)
        rule.keep_latest = o.keep_latest;
    rule.before = o.before;
    const auto plan = report::plan_prune(runs, newest, rule);
    if (o.dry_run) {
        for (const auto& uuid : plan.remove)
            fmt::print("would remove run {}\n", uuid);
        fmt::print("prune (dry run): {} of {} runs would be removed; {} kept as a cell's newest "
                   "evidence, {} still running\n",
                   plan.remove.size(), runs.size(), plan.kept_as_evidence.size(),
                   plan.kept_running.size());
        return exit_code::ok;
    }
    const int removed = plan.remove.empty() ? 0 : store.delete_runs(plan.remove);
    store.vacuum();
    fmt::print("prune: removed {} of {} runs; {} kept as a cell's newest evidence, {} still "
               "running; {}: {:.1f} MB -> {:.1f} MB\n",
               removed, runs.size(), plan.kept_as_evidence.size(), plan.kept_running.size(), o.db,
               size_before, megabytes(o.db));
    return exit_code::ok;
}

} // namespace

void add_prune_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<PruneOptions>();
    auto* cmd = app.add_subcommand(
        "prune", "Delete old runs from the results database (keeping every cell's newest "
                 "evidence and every run still running), then compact it (VACUUM)");
    cmd->add_option("--keep-latest", options->keep_latest,
                    "Keep the newest N runs (older ones go unless a report cell rests on them)")
        ->check(CLI::NonNegativeNumber)
        ->type_name("N");
    cmd->add_option("--before", options->before,
                    "Remove runs started before DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC) "
                    "unless a report cell rests on them")
        ->type_name("DATE");
    cmd->add_option("--db", options->db,
                    "Results database (default " + io::paths::default_database().string() + ")");
    cmd->add_flag("--dry-run", options->dry_run, "Say what would be removed; change nothing");
    cmd->footer("Exit codes: 0 ok, 2 usage (no or both rules, a bad date, not a results "
                "database), 3 environment (the database cannot be read or written).");
    cmd->callback([options, &context] { context.exit_code = prune_command(*options); });
}

} // namespace harness::cli
