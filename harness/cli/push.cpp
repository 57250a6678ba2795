// cardharness push: copy this station's runs to a central PostgreSQL store
// (backends/postgres/central.hpp); --migrate creates or upgrades the central schema; --status
// says what is pending, also when the server cannot be reached.
#include "backends/postgres/central.hpp"
#include "backends/postgres/tables.hpp"
#include "cli/commands.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"
#include "services/store/copy_source.hpp"

#include <chrono>
#include <cstdio>
#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <unistd.h>

namespace harness::cli {
namespace {

struct PushOptions {
    std::string to;
    std::string db = io::paths::default_database().string();
    std::string station;
    bool migrate = false;
    int schema_version = 0;
    bool status = false;
    bool json = false;
    int connections = 2; // runs pushed side by side, each on its own connection
};

// "1,234,567"
std::string grouped(std::int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

// The progress line on stderr: rewritten in place on a terminal (5 times a second at most),
// otherwise one line every 5 seconds once a push takes longer than that.
class ProgressLine {
public:
    ProgressLine() : tty_(isatty(STDERR_FILENO) != 0) {}
    void update(const central::PushProgress& p) {
        const auto now = std::chrono::steady_clock::now();
        const bool last = p.runs_done == p.runs_total;
        const auto interval = tty_ ? std::chrono::milliseconds(200) : std::chrono::seconds(5);
        if (!last && now - last_ < interval)
            return;
        if (!tty_ && p.seconds < 5)
            return;
        last_ = now;
        const double rate = p.seconds > 0 ? static_cast<double>(p.rows_sent) / p.seconds : 0;
        const std::string line = fmt::format(
            "push: {}/{} runs, {} rows sent ({} new), {} rows/s", p.runs_done, p.runs_total,
            grouped(p.rows_sent), grouped(p.rows_added), grouped(static_cast<std::int64_t>(rate)));
        if (tty_) {
            fmt::print(stderr, "\r{}\x1b[K", line);
            shown_ = true;
        } else {
            fmt::print(stderr, "{}\n", line);
        }
        std::fflush(stderr);
    }
    ~ProgressLine() {
        if (shown_)
            fmt::print(stderr, "\n");
    }

private:
    bool tty_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

// Pending runs when the server cannot be asked: relative to the server this station pushed to
// last (nullopt: never pushed, every run is pending).
struct OfflinePending {
    std::optional<store::ServerRecord> server;
    std::vector<store::PendingRun> runs;
};

OfflinePending offline_pending(const store::CopySource& source, const std::string& station) {
    OfflinePending out;
    const auto servers = source.servers();
    if (!servers.empty())
        out.server = servers.front();
    out.runs = source.pending(out.server ? out.server->server_id : std::string(), station);
    return out;
}

nlohmann::json runs_json(const std::vector<store::PendingRun>& runs) {
    auto out = nlohmann::json::array();
    for (const auto& r : runs)
        out.push_back({{"uuid", r.uuid},
                       {"started_at", r.started_at},
                       {"status", r.status},
                       {"sessions", r.sessions},
                       {"verdicts", r.verdicts},
                       {"pushed_before", r.pushed_before}});
    return out;
}

int status_command(const PushOptions& o, const std::string& station) {
    store::CopySource source(o.db);
    nlohmann::json server = {{"reachable", false}};
    std::vector<store::PendingRun> runs;
    std::string note;
    try {
        central::Server s(o.to);
        server["label"] = s.label();
        server["reachable"] = true;
        const int version = s.schema_version();
        server["schema_version"] = version;
        server["client_schema_version"] = central::schema_version();
        if (version > 0) {
            server["server_id"] = s.server_id();
            runs = source.pending(s.server_id(), station);
        } else {
            runs = source.pending("", station);
        }
    } catch (const EnvironmentError& e) {
        server["error"] = e.what();
        const auto offline = offline_pending(source, station);
        runs = offline.runs;
        if (offline.server) {
            server["label"] = offline.server->label;
            server["server_id"] = offline.server->server_id;
            note = "relative to " + offline.server->label + ", last pushed to at " +
                   offline.server->last_push;
        } else {
            note = "this database was never pushed";
        }
    }
    if (o.json) {
        const nlohmann::json doc{{"station", station},
                                 {"database", o.db},
                                 {"server", server},
                                 {"pending", runs_json(runs)}};
        fmt::print("{}\n", doc.dump(2));
        return exit_code::ok;
    }
    fmt::print("station:  {}\ndatabase: {}\n", station, o.db);
    if (server["reachable"].get<bool>()) {
        const int version = server["schema_version"].get<int>();
        const int client = central::schema_version();
        fmt::print("server:   {} (central schema {}{})\n", server["label"].get<std::string>(),
                   version,
                   version == client ? ", current"
                   : version == 0    ? ": none yet, its owner runs push --migrate"
                   : version < client
                       ? fmt::format(": older than this cardharness ({}), migrate it", client)
                       : fmt::format(": newer than this cardharness ({}), upgrade it", client));
    } else {
        fmt::print("server:   unreachable: {}\n", server["error"].get<std::string>());
    }
    fmt::print("pending:  {} run{}{}\n", runs.size(), runs.size() == 1 ? "" : "s",
               note.empty() ? "" : " (" + note + ")");
    for (const auto& r : runs)
        fmt::print("  {}  {}  {:<10}  {} sessions{}\n", r.started_at, r.uuid, r.status, r.sessions,
                   r.pushed_before ? "  (changed since it was pushed)" : "");
    return exit_code::ok;
}

int push_command(const PushOptions& o) {
    if (o.schema_version != 0 && !o.migrate)
        throw UsageError("--schema-version goes with --migrate");
    if (o.status && o.migrate)
        throw UsageError("--status and --migrate exclude each other");
    central::refuse_passwords(o.to);
    const std::string station = o.station.empty() ? central::default_station_name() : o.station;
    central::check_station_name(station);

    if (o.migrate) {
        central::Server server(o.to);
        const int before = server.migrate(o.schema_version);
        const int after = server.schema_version();
        if (before == after)
            fmt::print("central schema on {} is already version {}\n", server.label(), after);
        else
            fmt::print("central schema on {}: version {} -> {}\n", server.label(), before, after);
        return exit_code::ok;
    }
    if (o.status)
        return status_command(o, station);

    store::CopySource source(o.db);
    std::unique_ptr<central::Server> server;
    try {
        server = std::make_unique<central::Server>(o.to);
    } catch (const EnvironmentError& e) {
        const auto offline = offline_pending(source, station);
        throw EnvironmentError(std::string(e.what()) + "; " + std::to_string(offline.runs.size()) +
                               " run(s) of station " + station + " stay pending in " + o.db +
                               " (this station keeps working; push again later, "
                               "`cardharness push --status` lists them)");
    }
    ProgressLine line;
    const auto summary = central::push(
        *server, source, station, [&](const central::PushProgress& p) { line.update(p); },
        static_cast<std::size_t>(o.connections));
    if (summary.runs_total == 0) {
        fmt::print("nothing to push: {} has every run of station {} in {}\n", server->label(),
                   station, o.db);
        return exit_code::ok;
    }
    if (o.json) {
        const nlohmann::json doc{{"station", station},
                                 {"server", server->label()},
                                 {"runs_pushed", summary.runs_pushed},
                                 {"rows_sent", summary.rows_sent},
                                 {"rows_added", summary.rows_added},
                                 {"seconds", summary.seconds}};
        fmt::print("{}\n", doc.dump(2));
    } else {
        fmt::print("pushed {} run{} of station {} to {}: {} rows sent, {} new ({:.1f} s)\n",
                   summary.runs_pushed, summary.runs_pushed == 1 ? "" : "s", station,
                   server->label(), grouped(summary.rows_sent), grouped(summary.rows_added),
                   summary.seconds);
    }
    return exit_code::ok;
}

} // namespace

void add_push_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<PushOptions>();
    auto* cmd = app.add_subcommand(
        "push", "Copy this station's runs to a central PostgreSQL store (every run not yet "
                "confirmed by the server; pushing twice stores each run once)");
    cmd->add_option("--to", options->to,
                    "postgresql://ROLE@HOST[:PORT]/DB[?sslmode=…] (default: the PG* environment "
                    "variables). Never a password: it comes from ~/.pgpass or PGPASSFILE");
    cmd->add_option("--db", options->db,
                    "the station's results database (default: the harness "
                    "database)");
    cmd->add_option("--station", options->station,
                    "this station's name on the server (default: the host name)");
    cmd->add_flag("--migrate", options->migrate,
                  "create or upgrade the central schema (run by the database's owner role); "
                  "pushes nothing");
    cmd->add_option("--schema-version", options->schema_version,
                    "with --migrate: upgrade only up to this version")
        ->check(CLI::Range(1, 1000));
    cmd->add_flag("--status", options->status,
                  "say what is pending for the server (works when it cannot be reached)");
    cmd->add_option("--connections", options->connections,
                    "connections pushing runs side by side (each run one transaction on one of "
                    "them; the server's work spreads over its cores)")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    cmd->add_flag("--json", options->json, "machine-readable output");
    cmd->callback([options, &context] { context.exit_code = push_command(*options); });
}

} // namespace harness::cli
