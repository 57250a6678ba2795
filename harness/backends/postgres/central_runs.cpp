#include "backends/postgres/central_runs.hpp"

#include "backends/postgres/central.hpp"
#include "backends/postgres/connection.hpp"
#include "backends/postgres/tables.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"
#include "services/store/stored_values.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace harness::central {
namespace {

// The central schema version that holds everything a report shows (the typed failures, the
// verdicts' cause codes, the CCID traces and the survey mark came with version 3).
constexpr int first_readable_version = 3;

// The runs a report reads, over cardharness.runs aliased `r`: $1 station ('': every station),
// $2 run UUID ('': every run), $3 whether survey runs count.
std::string run_filter(const std::string& r) {
    return "($1::text = '' OR " + r + ".station = $1::text) AND ($2::text = '' OR " + r +
           ".run_uuid = $2::text) AND ($3::boolean OR " + r + ".source IS DISTINCT FROM 'survey')";
}

using Txn =
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only>;

// A child row's parent: station, run UUID and a local id, as one map key.
std::string key(const pqxx::field& station, const pqxx::field& run_uuid, std::int64_t local_id) {
    std::string k(station.c_str());
    k += '\x1f';
    k += run_uuid.c_str();
    k += '\x1f';
    k += std::to_string(local_id);
    return k;
}

std::string run_key(const pqxx::field& station, const pqxx::field& run_uuid) {
    return std::string(station.c_str()) + '\x1f' + run_uuid.c_str();
}

std::string text(const pqxx::field& f) {
    return f.is_null() ? std::string() : std::string(f.c_str());
}

std::optional<std::uint16_t> u16(const pqxx::field& f) {
    if (f.is_null())
        return std::nullopt;
    return static_cast<std::uint16_t>(f.as<int>());
}

// bytea read as encode(…, 'hex'): NULL (a reader without a descriptor) is no bytes, as in SQLite.
Bytes bytes(const pqxx::field& f) {
    if (f.is_null())
        return {};
    return hex::parse(f.c_str()).value_or(Bytes{});
}

struct StepAt {
    std::size_t run, session, suite, step;
};

class Loader {
public:
    Loader(Txn& txn, std::string station, std::string run_uuid, bool include_survey)
        : txn_(txn), station_(std::move(station)), run_uuid_(std::move(run_uuid)),
          include_survey_(include_survey) {}

    std::vector<model::Run> load() {
        load_runs();
        load_suites();
        load_sessions();
        load_steps();
        load_exchanges();
        load_ccid_trace();
        load_verdicts();
        return std::move(runs_);
    }

private:
    // SELECT x.station, x.run_uuid, <columns> FROM cardharness.<table> x <join> WHERE <the
    // filter> ORDER BY <order>; other tables than runs are filtered through their run row.
    pqxx::result select(std::string_view columns, std::string_view table, std::string_view order,
                        std::string_view join = {}) {
        std::string sql = "SELECT x.station, x.run_uuid, " + std::string(columns) +
                          " FROM cardharness." + std::string(table) + " x ";
        if (table != "runs")
            sql += "JOIN cardharness.runs r ON r.station = x.station AND r.run_uuid = x.run_uuid ";
        sql += std::string(join) + " WHERE " + run_filter(table == "runs" ? "x" : "r") +
               " ORDER BY " + std::string(order);
        return txn_.exec_params(sql, station_, run_uuid_, include_survey_);
    }

    model::Run& run_of(const pqxx::row& row) {
        return runs_.at(run_index_.at(run_key(row[0], row[1])));
    }

    void load_runs() {
        const auto rows = select("x.started_at, x.ended_at, x.host, x.os, x.pcsclite_version, "
                                 "x.libccid_version, x.harness_version, x.lab, x.status, x.cause",
                                 "runs", "x.started_at, x.station, x.run_uuid");
        for (const auto& row : rows) {
            model::Run run;
            run.uuid = text(row[1]);
            run.station = text(row[0]);
            run.started_at = text(row[2]);
            run.ended_at = text(row[3]);
            run.environment = {text(row[4]), text(row[5]), text(row[6]), text(row[7]),
                               text(row[8])};
            run.owner.host = run.environment.host;
            run.lab = row[9].as<bool>();
            run.status = store::stored_status(text(row[10]));
            run.cause = text(row[11]);
            run_index_.emplace(run_key(row[0], row[1]), runs_.size());
            runs_.push_back(std::move(run));
        }
    }

    void load_suites() {
        for (const auto& row : select("x.suite_id, x.content_hash", "run_suites",
                                      "x.station, x.run_uuid, x.suite_id"))
            run_of(row).suites.push_back({text(row[2]), text(row[3])});
    }

    void load_sessions() {
        // The reader and card as the run's own copies (keyed by the run and the station's ids).
        const auto rows = select(
            "x.local_id, x.status, x.cause, x.failure, rd.pcsc_name, rd.vid, rd.pid, "
            "rd.bcd_device, rd.manufacturer, rd.product, rd.serial, rd.driver, rd.reader_model, "
            "encode(rd.ccid_descriptor, 'hex'), rd.descriptor_findings, c.card_id, c.card_type, "
            "c.interface, encode(c.atr, 'hex'), c.emulated, c.test_card",
            "sessions", "x.station, x.run_uuid, x.seq",
            "JOIN cardharness.readers rd ON rd.station = x.station AND rd.run_uuid = x.run_uuid "
            "AND rd.local_id = x.reader_local_id LEFT JOIN cardharness.cards c ON c.station = "
            "x.station AND c.run_uuid = x.run_uuid AND c.local_id = x.card_local_id");
        for (const auto& row : rows) {
            auto& run = run_of(row);
            model::Session s;
            s.status = store::stored_status(text(row[3]));
            s.cause = text(row[4]);
            s.failure = store::stored_failure(text(row[5]));
            auto& r = s.reader;
            r.pcsc_name = text(row[6]);
            r.vid = u16(row[7]);
            r.pid = u16(row[8]);
            r.bcd_device = u16(row[9]);
            r.manufacturer = text(row[10]);
            r.product = text(row[11]);
            r.serial = text(row[12]);
            r.driver = text(row[13]);
            r.reader_model = text(row[14]);
            r.ccid_descriptor = bytes(row[15]);
            r.descriptor_findings_json = text(row[16]);
            if (!row[17].is_null()) {
                auto& c = s.card;
                c.card_id = text(row[17]);
                c.card_type = text(row[18]);
                c.interface = text(row[19]);
                c.atr = bytes(row[20]);
                c.emulated = row[21].as<bool>();
                c.test_card = row[22].as<bool>();
            }
            session_index_.emplace(
                key(row[0], row[1], row[2].as<std::int64_t>()),
                std::make_pair(run_index_.at(run_key(row[0], row[1])), run.sessions.size()));
            run.sessions.push_back(std::move(s));
        }
    }

    void load_steps() {
        const auto rows =
            select("x.local_id, x.session_local_id, x.suite_id, x.suite_hash, x.step_id, x.grp, "
                   "x.title_en, x.title_ja, x.action, x.verdict, x.reason_en, x.reason_ja, x.sw, "
                   "x.duration_us, x.measurements, x.failure, x.missing, x.started_us",
                   "steps", "x.station, x.run_uuid, x.session_local_id, x.seq");
        for (const auto& row : rows) {
            const auto at = session_index_.find(key(row[0], row[1], row[3].as<std::int64_t>()));
            if (at == session_index_.end())
                continue; // cannot happen: steps reference their session (a foreign key)
            const auto [run_i, session_i] = at->second;
            auto& session = runs_[run_i].sessions[session_i];
            const std::string suite_id = text(row[4]);
            if (session.suites.empty() || session.suites.back().suite.id != suite_id)
                session.suites.push_back({{suite_id, text(row[5])}, {}});
            model::StepResult step;
            step.step_id = text(row[6]);
            step.group = text(row[7]);
            step.title_en = text(row[8]);
            step.title_ja = text(row[9]);
            step.action = text(row[10]);
            step.verdict =
                model::step_verdict_from(text(row[11])).value_or(model::StepVerdict::Error);
            step.reason_en = text(row[12]);
            step.reason_ja = text(row[13]);
            step.sw = u16(row[14]);
            step.duration_us = row[15].as<std::int64_t>(0);
            step.measurements_json = text(row[16]);
            step.failure = store::stored_failure(text(row[17]));
            step.missing = store::split_tokens(text(row[18]));
            if (!row[19].is_null())
                step.started_us = row[19].as<std::int64_t>();
            step_index_.emplace(key(row[0], row[1], row[2].as<std::int64_t>()),
                                StepAt{run_i, session_i, session.suites.size() - 1,
                                       session.suites.back().steps.size()});
            session.suites.back().steps.push_back(std::move(step));
        }
    }

    model::StepResult* step_of(const pqxx::row& row, pqxx::row::size_type step_column) {
        const auto at = step_index_.find(key(row[0], row[1], row[step_column].as<std::int64_t>()));
        if (at == step_index_.end())
            return nullptr;
        const auto& i = at->second;
        return &runs_[i.run].sessions[i.session].suites[i.suite].steps[i.step];
    }

    void load_exchanges() {
        const auto rows = select("x.step_local_id, x.command, x.response, x.sw, x.duration_us, "
                                 "x.note, x.failure, x.response_size",
                                 "exchanges", "x.station, x.run_uuid, x.step_local_id, x.seq");
        for (const auto& row : rows) {
            auto* step = step_of(row, 2);
            if (!step)
                continue;
            model::Exchange x{text(row[3]), text(row[4]), u16(row[5]), row[6].as<std::int64_t>(0),
                              text(row[7])};
            x.failure = store::stored_failure(text(row[8]));
            if (!row[9].is_null())
                x.response_size = static_cast<std::size_t>(row[9].as<std::int64_t>());
            step->exchanges.push_back(std::move(x));
        }
    }

    void load_ccid_trace() {
        const auto rows = select("x.step_local_id, x.direction, x.offset_us, x.message, x.note",
                                 "ccid_trace", "x.station, x.run_uuid, x.step_local_id, x.seq");
        for (const auto& row : rows)
            if (auto* step = step_of(row, 2))
                step->ccid_trace.push_back(
                    {text(row[3]), row[4].as<std::int64_t>(0), text(row[5]), text(row[6])});
    }

    void load_verdicts() {
        // Causes in order, folded into their verdict (most telling first).
        const auto rows = select(
            "x.reader, x.reader_model, x.card_type, x.interface, x.verdict, x.diagnosis_en, "
            "x.diagnosis_ja, (SELECT coalesce(array_agg(vc.code ORDER BY vc.seq), '{}') FROM "
            "cardharness.verdict_causes vc WHERE vc.station = x.station AND vc.run_uuid = "
            "x.run_uuid AND vc.verdict_local_id = x.local_id)",
            "verdicts", "x.station, x.run_uuid, x.local_id");
        for (const auto& row : rows) {
            model::Verdict v{
                text(row[2]),
                text(row[3]),
                text(row[4]),
                text(row[5]),
                model::compatibility_from(text(row[6])).value_or(model::Compatibility::Untested),
                text(row[7]),
                text(row[8]),
                {}};
            auto array = row[9].as_array();
            for (auto item = array.get_next(); item.first != pqxx::array_parser::juncture::done;
                 item = array.get_next())
                if (item.first == pqxx::array_parser::juncture::string_value)
                    v.causes.push_back(item.second);
            run_of(row).verdicts.push_back(std::move(v));
        }
    }

    Txn& txn_;
    std::string station_;
    std::string run_uuid_;
    bool include_survey_;
    std::vector<model::Run> runs_;
    std::unordered_map<std::string, std::size_t> run_index_;
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> session_index_;
    std::unordered_map<std::string, StepAt> step_index_;
};

void check_schema(Txn& txn, const std::string& label) {
    const bool exists =
        txn.exec("SELECT to_regclass('cardharness.schema_migrations') IS NOT NULL")[0][0]
            .as<bool>();
    if (!exists)
        throw UsageError(label + ": no cardharness results here (the database has no cardharness "
                                 "schema; stations fill it with `cardharness push`)");
    const int version =
        txn.exec("SELECT coalesce(max(version), 0) FROM cardharness.schema_migrations")[0][0]
            .as<int>();
    if (version < first_readable_version)
        throw EnvironmentError("the central schema on " + label + " is version " +
                               std::to_string(version) + ", older than this cardharness reads (" +
                               std::to_string(first_readable_version) +
                               "): its owner upgrades it with `cardharness push --migrate`");
    if (version > schema_version())
        throw EnvironmentError("the central schema on " + label + " is version " +
                               std::to_string(version) + ", newer than this cardharness knows (" +
                               std::to_string(schema_version()) + "): upgrade cardharness");
}

// The run a UUID or a unique prefix names (of one station, or of any): its station and UUID.
std::pair<std::string, std::string> resolve_run(Txn& txn, const std::string& label,
                                                const RunQuery& query) {
    const auto rows = txn.exec_params(
        "SELECT station, run_uuid, source = 'survey' FROM cardharness.runs WHERE ($1::text = '' OR "
        "station = $1::text) AND left(run_uuid, length($2::text)) = $2::text ORDER BY (run_uuid = "
        "$2::text) DESC, "
        "station, run_uuid LIMIT 3",
        query.station, query.run_id);
    if (rows.empty())
        throw UsageError(label + ": no run " + query.run_id +
                         (query.station.empty() ? "" : " of station " + query.station));
    const bool exact = text(rows[0][1]) == query.run_id;
    const bool second_exact = rows.size() > 1 && text(rows[1][1]) == query.run_id;
    if ((!exact && rows.size() > 1) || second_exact)
        throw UsageError("run id " + query.run_id + " is ambiguous on " + label +
                         (second_exact ? " (two stations pushed a run with this UUID: add "
                                         "--station)"
                                       : ""));
    if (!query.include_survey && !rows[0][2].is_null() && rows[0][2].as<bool>())
        throw UsageError(label + ": run " + query.run_id +
                         " is a driver-level survey run, not an observed one: add "
                         "--include-survey, or use `report --view survey` on a station");
    return {text(rows[0][0]), text(rows[0][1])};
}

[[noreturn]] void rethrow(const std::string& label) {
    try {
        throw;
    } catch (const pqxx::broken_connection& e) {
        throw EnvironmentError("lost the connection to the central server " + label +
                               " while reading its runs: " + detail::one_line(e.what()));
    } catch (const pqxx::insufficient_privilege& e) {
        throw EnvironmentError(
            "the central server " + label +
            " refused to show its runs to this role: " + detail::one_line(e.what()));
    } catch (const pqxx::sql_error& e) {
        throw EnvironmentError("the central server " + label + " failed reading its runs: " +
                               detail::one_line(e.what()) + " (SQLSTATE " + e.sqlstate() + ")");
    } catch (const pqxx::failure& e) {
        throw EnvironmentError("the central server " + label +
                               " failed reading its runs: " + detail::one_line(e.what()));
    }
}

} // namespace

bool is_server_uri(const std::string& text) {
    return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

CentralRuns read_runs(const std::string& conninfo, const RunQuery& query) {
    if (!query.station.empty())
        check_station_name(query.station);
    auto conn = detail::connect(conninfo, "cardharness report", "--db");
    CentralRuns out;
    out.label = detail::label(*conn);
    try {
        Txn txn(*conn, "report");
        check_schema(txn, out.label);
        if (!query.station.empty() &&
            txn.exec_params("SELECT 1 FROM cardharness.stations WHERE station = $1", query.station)
                .empty())
            throw UsageError(out.label + ": no station " + query.station + " has pushed here");
        std::string station = query.station;
        std::string run_uuid;
        if (!query.run_id.empty())
            std::tie(station, run_uuid) = resolve_run(txn, out.label, query);
        out.runs = Loader(txn, station, run_uuid, query.include_survey || !run_uuid.empty()).load();
        for (const auto& row :
             txn.exec_params("SELECT DISTINCT r.station FROM cardharness.runs r WHERE " +
                                 run_filter("r") + " ORDER BY 1",
                             station, run_uuid, query.include_survey || !run_uuid.empty()))
            out.stations.push_back(text(row[0]));
        txn.commit();
    } catch (const pqxx::failure&) {
        rethrow(out.label);
    }
    return out;
}

} // namespace harness::central
