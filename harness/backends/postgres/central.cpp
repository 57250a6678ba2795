#include "backends/postgres/central.hpp"

#include "backends/postgres/connection.hpp"
#include "backends/postgres/tables.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <libpq-fe.h>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <regex>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <utility>

// One field of a COPY row: text or NULL (libpqxx escapes the text for COPY's text format).
namespace harness::central {
struct CopyField {
    store::CopyValue value;
};
} // namespace harness::central

namespace pqxx {
template <>
struct string_traits<harness::central::CopyField> {
    static constexpr const char* name() noexcept { return "harness::central::CopyField"; }
    static constexpr bool has_null() noexcept { return true; }
    static bool is_null(const harness::central::CopyField& f) { return !f.value.has_value(); }
    static harness::central::CopyField null() { return {}; }
    static void from_string(const char[], harness::central::CopyField&) {
        throw std::logic_error("CopyField is write-only");
    }
    static std::string to_string(const harness::central::CopyField& f) {
        return f.value ? std::string(*f.value) : std::string();
    }
};
} // namespace pqxx

namespace harness::central {
namespace {

using Clock = std::chrono::steady_clock;

// pqxx::stream_to (libpqxx 6.4) writes tuple-like rows; the column count of a table is known
// only at run time, so each count gets its own std::array writer.
using RowWriter = void (*)(pqxx::stream_to&, const std::vector<store::CopyValue>&);

template <std::size_t N>
void write_row(pqxx::stream_to& stream, const std::vector<store::CopyValue>& row) {
    std::array<CopyField, N> fields;
    for (std::size_t i = 0; i < N; ++i)
        fields[i].value = row[i];
    stream << fields;
}

template <std::size_t... I>
constexpr std::array<RowWriter, sizeof...(I)> make_writers(std::index_sequence<I...>) {
    return {&write_row<I + 1>...};
}

constexpr auto row_writers = make_writers(std::make_index_sequence<max_copy_columns>{});

RowWriter writer_for(std::size_t columns) {
    if (columns == 0 || columns > max_copy_columns)
        throw std::logic_error("a copied table has " + std::to_string(columns) +
                               " columns; raise max_copy_columns in tables.hpp");
    return row_writers[columns - 1];
}

using detail::one_line;

// What went wrong on the server side, as an environment error (exit 3) with the server's words.
[[noreturn]] void rethrow_as_environment(const std::string& server, const std::string& doing) {
    try {
        throw;
    } catch (const pqxx::in_doubt_error& e) {
        throw EnvironmentError("the connection to the central server " + server +
                               " was lost while " + doing +
                               " was being committed: the server may or may not have stored "
                               "it; the next push settles it (pushing a run twice stores it once)");
    } catch (const pqxx::broken_connection& e) {
        throw EnvironmentError("lost the connection to the central server " + server + " while " +
                               doing + ": " + one_line(e.what()) + " (nothing of it was stored)");
    } catch (const pqxx::insufficient_privilege& e) {
        throw EnvironmentError("the central server " + server + " refused " + doing +
                               " for this role: " + one_line(e.what()));
    } catch (const pqxx::sql_error& e) {
        throw EnvironmentError("the central server " + server + " failed " + doing + ": " +
                               one_line(e.what()) + " (SQLSTATE " + e.sqlstate() + ")");
    } catch (const pqxx::failure& e) {
        throw EnvironmentError("the central server " + server + " failed " + doing + ": " +
                               one_line(e.what()));
    }
}

// A table's local SELECT and its number in the staging table, generated once per connection.
struct PreparedTable {
    std::string tbl; // its index in tables(), as COPY text
    std::size_t columns = 0;
    std::string local_select;
};

// The statements a push runs for every run: prepared once per connection (parsing and planning
// the INSERT … SELECT of every table cost more than executing it for a small run).
constexpr const char* stmt_truncate = "ch_truncate_stage";
constexpr const char* stmt_insert_run = "ch_insert_run";
constexpr const char* stmt_insert_merge = "ch_insert_rows_merge";
constexpr const char* stmt_insert_fresh = "ch_insert_rows_fresh";

// Staged rows are DELETEd after each run; the dead rows are dropped by a TRUNCATE once this many
// accumulated (a temporary table is never vacuumed). Not after every run: a TRUNCATE costs file
// operations (ms on a busy machine) and makes the server plan the prepared statements again.
constexpr std::int64_t truncate_after_rows = 20000;

} // namespace

void refuse_passwords(const std::string& conninfo, std::string_view option) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (!options) {
        const std::string message = one_line(error ? error : "out of memory");
        PQfreemem(error);
        // Not the string itself: it may carry a password.
        throw UsageError(std::string(option) + ": not a PostgreSQL connection URI: " + message);
    }
    bool has_password = false;
    std::string bad_port;
    for (auto* o = options; o->keyword; ++o) {
        const std::string_view keyword(o->keyword);
        if (keyword == "password" && o->val && *o->val)
            has_password = true;
        // libpq would only say so when connecting (a port list: digits and commas).
        if (keyword == "port" && o->val &&
            std::string_view(o->val).find_first_not_of("0123456789,") != std::string_view::npos)
            bad_port = o->val;
    }
    PQconninfoFree(options);
    if (has_password)
        throw UsageError("the connection string carries a password: cardharness refuses it (a "
                         "password on a command line shows in ps and in shell history); put it "
                         "in ~/.pgpass or the file PGPASSFILE names (mode 0600) and give the URI "
                         "without it");
    if (!bad_port.empty())
        throw UsageError(std::string(option) + " " + conninfo + ": the port '" + bad_port +
                         "' is not a number");
    const char* env = std::getenv("PGPASSWORD");
    if (env && *env)
        throw UsageError("PGPASSWORD is set: cardharness takes passwords only from ~/.pgpass or "
                         "the file PGPASSFILE names (mode 0600); unset PGPASSWORD");
}

void check_station_name(const std::string& name) {
    static const std::regex valid("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    if (!std::regex_match(name, valid))
        throw UsageError("station name '" + name +
                         "' is not valid: use letters, digits, '.', '_' or '-' (up to 63, "
                         "starting with a letter or digit)");
}

std::string default_station_name() {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0')
        return "station";
    std::string name(host.data());
    // The short host name; anything the server would refuse becomes '-'.
    if (const auto dot = name.find('.'); dot != std::string::npos && dot > 0)
        name.resize(dot);
    for (auto& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-')
            ch = '-';
    if (name.size() > 63)
        name.resize(63);
    return name;
}

struct Server::Impl {
    std::unique_ptr<pqxx::connection> conn;
    std::string conninfo; // for another connection of the same push (Server::another)
    std::string label;
    std::string role;
    std::vector<PreparedTable> prepared;
    std::vector<std::string> staging_columns;
    RowWriter writer = nullptr;
    bool staging_ready = false;
    bool statements_prepared = false;
    std::int64_t staged_since_truncate = 0;

    void prepare_staging() {
        if (staging_ready)
            return;
        prepared.clear();
        for (std::size_t i = 0; i < tables().size(); ++i)
            prepared.push_back(
                {std::to_string(i), tables()[i].columns.size(), local_select(tables()[i])});
        staging_columns = central::staging_columns();
        writer = writer_for(staging_columns.size());
        pqxx::work txn(*conn, "staging");
        // Before the session's first temporary table (it cannot change after): room for a
        // large run's staged rows in memory.
        if (!statements_prepared)
            txn.exec("SET temp_buffers = '32MB'");
        txn.exec(create_staging_table());
        txn.commit();
        if (!statements_prepared) {
            conn->prepare(stmt_truncate, "TRUNCATE pg_temp." + std::string(staging_table));
            conn->prepare(stmt_insert_run, insert_run_from_staging());
            conn->prepare(stmt_insert_merge, insert_rows_from_staging(InsertMode::Merge));
            conn->prepare(stmt_insert_fresh, insert_rows_from_staging(InsertMode::FreshRun));
            statements_prepared = true;
        }
        staging_ready = true;
        staged_since_truncate = 0;
    }

    void truncate_staging_if_bloated() {
        if (staged_since_truncate < truncate_after_rows)
            return;
        pqxx::work txn(*conn, "truncate");
        txn.exec_prepared(stmt_truncate);
        txn.commit();
        staged_since_truncate = 0;
    }
};

Server::Server(const std::string& conninfo) : impl_(std::make_unique<Impl>()) {
    impl_->conn = detail::connect(conninfo, "cardharness push", "--to");
    impl_->conninfo = conninfo;
    impl_->role = impl_->conn->username() ? impl_->conn->username() : "";
    impl_->label = detail::label(*impl_->conn);
}

Server::~Server() = default;

std::unique_ptr<Server> Server::another() const {
    return std::make_unique<Server>(impl_->conninfo);
}

std::string Server::label() const {
    return impl_->label;
}

std::string Server::role() const {
    return impl_->role;
}

int Server::schema_version() {
    try {
        pqxx::nontransaction q(*impl_->conn);
        const auto exists =
            q.exec("SELECT to_regclass('cardharness.schema_migrations') IS NOT NULL");
        if (!exists[0][0].as<bool>())
            return 0;
        return q.exec("SELECT coalesce(max(version), 0) FROM cardharness.schema_migrations")[0][0]
            .as<int>();
    } catch (const pqxx::failure&) {
        rethrow_as_environment(impl_->label, "reading the central schema version");
    }
}

std::string Server::server_id() {
    try {
        pqxx::nontransaction q(*impl_->conn);
        return q.exec("SELECT server_id::text FROM cardharness.server")[0][0].as<std::string>();
    } catch (const pqxx::failure&) {
        rethrow_as_environment(impl_->label, "reading the server id");
    }
}

int Server::migrate(int target) {
    const int latest = central::schema_version();
    if (target == 0)
        target = latest;
    if (target < 1 || target > latest)
        throw UsageError("--schema-version must be between 1 and " + std::to_string(latest));
    int before = 0;
    try {
        pqxx::work txn(*impl_->conn, "migrate");
        // Two owners migrating at once: the second waits, then finds the work done.
        txn.exec("SELECT pg_advisory_xact_lock(hashtext('cardharness.migrate'))");
        const bool exists =
            txn.exec("SELECT to_regclass('cardharness.schema_migrations') IS NOT NULL")[0][0]
                .as<bool>();
        if (exists)
            before = txn.exec("SELECT coalesce(max(version), 0) FROM "
                              "cardharness.schema_migrations")[0][0]
                         .as<int>();
        if (before > latest)
            throw EnvironmentError(
                "the central schema on " + impl_->label + " is version " + std::to_string(before) +
                ", newer than this cardharness knows (" + std::to_string(latest) +
                "): upgrade cardharness; nothing was changed");
        for (int v = before + 1; v <= target; ++v) {
            for (const auto& statement : migration(v))
                txn.exec(statement);
            txn.exec_params("INSERT INTO cardharness.schema_migrations (version) VALUES ($1)", v);
        }
        txn.commit();
    } catch (const pqxx::failure&) {
        rethrow_as_environment(impl_->label,
                               "the schema migration (push --migrate runs as the database's "
                               "owner role, connected as " +
                                   impl_->role + ")");
    }
    impl_->staging_ready = false;
    return before;
}

void Server::require_current_schema() {
    const int server = schema_version();
    const int client = central::schema_version();
    if (server == client)
        return;
    if (server == 0)
        throw EnvironmentError("the central database " + impl_->label +
                               " has no cardharness schema: its owner creates it once with "
                               "`cardharness push --migrate --to <URI as the owner role>`; "
                               "nothing was pushed");
    if (server < client)
        throw EnvironmentError("the central schema on " + impl_->label + " is version " +
                               std::to_string(server) + ", older than this cardharness writes (" +
                               std::to_string(client) +
                               "): upgrade the server's schema (its owner runs `cardharness push "
                               "--migrate`); nothing was pushed");
    throw EnvironmentError("the central schema on " + impl_->label + " is version " +
                           std::to_string(server) + ", newer than this cardharness knows (" +
                           std::to_string(client) +
                           "): upgrade cardharness on this station; nothing was pushed");
}

void Server::claim_station(const std::string& station) {
    check_station_name(station);
    std::string owner;
    try {
        pqxx::work txn(*impl_->conn, "claim");
        txn.exec_params("INSERT INTO cardharness.stations (station) VALUES ($1) "
                        "ON CONFLICT (station) DO NOTHING",
                        station);
        owner = txn.exec_params("SELECT role FROM cardharness.stations WHERE station = $1",
                                station)[0][0]
                    .as<std::string>();
        txn.commit();
    } catch (const pqxx::failure&) {
        rethrow_as_environment(impl_->label, "registering station " + station);
    }
    if (owner != impl_->role)
        throw EnvironmentError("station '" + station + "' is registered on " + impl_->label +
                               " to role '" + owner + "', not to '" + impl_->role +
                               "' this station connects as: each station pushes as its own role "
                               "(give this station its own --station name, or connect as '" +
                               owner + "'); nothing was pushed");
}

RunPush Server::push_run(store::CopySource& source, std::int64_t run_row_id,
                         const std::string& run_uuid, const std::string& station,
                         store::PendingRun* state_read) {
    RunPush out;
    try {
        impl_->prepare_staging();
        impl_->truncate_staging_if_bloated();
        const auto state = source.begin_snapshot(run_row_id);
        struct EndSnapshot {
            store::CopySource& source;
            ~EndSnapshot() { source.end_snapshot(); }
        } end{source};
        if (!state) {
            out.skipped = true;
            return out;
        }
        pqxx::work txn(*impl_->conn, "push");
        // Every table's rows of the run in one COPY: tbl, then the table's columns, NULL-padded.
        std::vector<store::CopyValue> staged(impl_->staging_columns.size());
        {
            pqxx::stream_to stream(txn, std::string(staging_table), impl_->staging_columns);
            for (const auto& p : impl_->prepared) {
                staged[0] = p.tbl;
                for (std::size_t i = p.columns + 1; i < staged.size(); ++i)
                    staged[i].reset();
                out.rows_sent += static_cast<std::int64_t>(source.rows(
                    p.local_select, run_row_id, [&](const std::vector<store::CopyValue>& row) {
                        std::copy(row.begin(), row.end(), staged.begin() + 1);
                        impl_->writer(stream, staged);
                    }));
            }
            stream.complete();
        }
        impl_->staged_since_truncate += out.rows_sent;
        // The run row first: whether it is new decides how the other tables insert.
        const auto run = txn.exec_prepared(stmt_insert_run, station, run_uuid);
        const bool fresh_run = !run.empty() && run[0][0].as<bool>();
        out.rows_added += static_cast<std::int64_t>(run.affected_rows());
        const auto rows =
            txn.exec_prepared(fresh_run ? stmt_insert_fresh : stmt_insert_merge, station, run_uuid);
        out.rows_added += fresh_run ? out.rows_sent - static_cast<std::int64_t>(run.size())
                                    : rows[0][0].as<std::int64_t>();
        txn.commit();
        if (state_read)
            *state_read = *state;
    } catch (const pqxx::failure&) {
        rethrow_as_environment(impl_->label, "pushing run " + run_uuid);
    }
    return out;
}

PushSummary push(Server& server, store::CopySource& source, const std::string& station,
                 const std::function<void(const PushProgress&)>& progress, std::size_t lanes) {
    const auto start = Clock::now();
    server.require_current_schema();
    server.claim_station(station);
    const std::string id = server.server_id();
    const auto pending = source.pending(id, station);
    PushSummary summary;
    summary.runs_total = pending.size();
    PushProgress p;
    p.runs_total = pending.size();

    // Lanes: a connection to the server and a reading of the station database each, pushing
    // runs side by side (each run still one server transaction). One lane uses `server` and
    // `source` as they are; with more, `source` only records the confirmations.
    lanes = std::clamp<std::size_t>(lanes, 1, std::max<std::size_t>(pending.size(), 1));
    struct Lane {
        Server* server;
        store::CopySource* source;
    };
    std::vector<std::unique_ptr<Server>> more_servers;
    std::vector<std::unique_ptr<store::CopySource>> readers;
    std::vector<Lane> lane_list;
    if (lanes == 1) {
        lane_list.push_back({&server, &source});
    } else {
        for (std::size_t i = 0; i < lanes; ++i) {
            Server* s = &server;
            if (i > 0) {
                try {
                    more_servers.push_back(server.another());
                } catch (const EnvironmentError&) {
                    break; // the server takes no more connections: fewer lanes
                }
                s = more_servers.back().get();
            }
            readers.push_back(std::make_unique<store::CopySource>(source.path()));
            lane_list.push_back({s, readers.back().get()});
        }
    }

    const std::string label = server.label(); // read once, not from the lanes' threads
    std::mutex mutex; // the summary, the confirmations in `source`, progress
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr first_error;
    const auto work = [&](const Lane& lane) {
        try {
            for (std::size_t i = next++; i < pending.size() && !failed; i = next++) {
                const auto& run = pending[i];
                store::PendingRun state;
                const RunPush r =
                    lane.server->push_run(*lane.source, run.row_id, run.uuid, station, &state);
                const std::lock_guard lock(mutex);
                if (!r.skipped) {
                    source.confirm(id, label, station, state);
                    ++summary.runs_pushed;
                }
                summary.rows_sent += r.rows_sent;
                summary.rows_added += r.rows_added;
                p.runs_done += 1;
                p.rows_sent = summary.rows_sent;
                p.rows_added = summary.rows_added;
                p.seconds = std::chrono::duration<double>(Clock::now() - start).count();
                if (progress)
                    progress(p);
            }
        } catch (...) {
            const std::lock_guard lock(mutex);
            if (!first_error)
                first_error = std::current_exception();
            failed = true;
        }
    };
    if (lane_list.size() == 1) {
        work(lane_list.front());
    } else {
        std::vector<std::thread> threads;
        for (const auto& lane : lane_list)
            threads.emplace_back(work, lane);
        for (auto& t : threads)
            t.join();
    }
    if (first_error) {
        try {
            std::rethrow_exception(first_error);
        } catch (const EnvironmentError& e) {
            const auto left = pending.size() - summary.runs_pushed;
            throw EnvironmentError(
                std::string(e.what()) + "; " + std::to_string(summary.runs_pushed) + " of " +
                std::to_string(pending.size()) + " runs pushed, " + std::to_string(left) +
                " still pending in " + source.path() + " (run `cardharness push` again)");
        }
    }
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
}

} // namespace harness::central
