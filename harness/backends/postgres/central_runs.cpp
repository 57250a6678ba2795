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
#include <stdexcept>
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

// A session's place on the server: its station, run and the station's local id.
struct SessionRef {
    std::string station, run_uuid;
    std::int64_t local_id = 0;
};

// The central store as the report's model::ResultQuery: run headers, verdicts and session
// headers in runs(), one session's steps, exchanges and CCID traces in evidence(). Everything
// comes from one read-only REPEATABLE READ transaction held open while the query lives, so a
// push landing meanwhile is either wholly in the report or not.
class CentralQuery final : public model::ResultQuery {
public:
    CentralQuery(std::unique_ptr<pqxx::connection> conn, std::string label)
        : conn_(std::move(conn)), txn_(std::make_unique<Txn>(*conn_, "report")),
          label_(std::move(label)) {}

    Txn& txn() const { return *txn_; }
    // The runs runs() reads: one station's (empty: every station), one run (empty: every run),
    // survey runs too or not.
    void scope(std::string station, std::string run_uuid, bool include_survey) {
        station_ = std::move(station);
        run_uuid_ = std::move(run_uuid);
        include_survey_ = include_survey;
    }

    std::vector<model::RunHeader> runs() const override {
        try {
            return load_runs();
        } catch (const pqxx::failure&) {
            rethrow(label_);
        }
    }

    std::vector<model::SuiteResult> evidence(std::int64_t session_key) const override {
        if (session_key < 0 || static_cast<std::size_t>(session_key) >= sessions_.size())
            throw std::out_of_range("no session with key " + std::to_string(session_key));
        try {
            return load_evidence(sessions_[static_cast<std::size_t>(session_key)]);
        } catch (const pqxx::failure&) {
            rethrow(label_);
        }
    }

private:
    // SELECT x.station, x.run_uuid, <columns> FROM cardharness.<table> x <join> WHERE <the
    // filter> ORDER BY <order>; other tables than runs are filtered through their run row.
    pqxx::result select(std::string_view columns, std::string_view table, std::string_view order,
                        std::string_view join = {}) const {
        std::string sql = "SELECT x.station, x.run_uuid, " + std::string(columns) +
                          " FROM cardharness." + std::string(table) + " x ";
        if (table != "runs")
            sql += "JOIN cardharness.runs r ON r.station = x.station AND r.run_uuid = x.run_uuid ";
        sql += std::string(join) + " WHERE " + run_filter(table == "runs" ? "x" : "r") +
               " ORDER BY " + std::string(order);
        return txn_->exec_params(sql, station_, run_uuid_, include_survey_);
    }

    std::vector<model::RunHeader> load_runs() const {
        std::vector<model::RunHeader> out;
        std::unordered_map<std::string, std::size_t> index; // station + run UUID → out
        const auto run_of = [&](const pqxx::row& row) -> model::RunHeader& {
            return out.at(index.at(run_key(row[0], row[1])));
        };
        for (const auto& row :
             select("x.started_at, x.ended_at, x.host, x.os, x.pcsclite_version, "
                    "x.libccid_version, x.harness_version, x.lab, x.status, x.cause",
                    "runs", "x.started_at, x.station, x.run_uuid")) {
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
            index.emplace(run_key(row[0], row[1]), out.size());
            out.push_back({std::move(run), {}});
        }
        for (const auto& row : select("x.suite_id, x.content_hash", "run_suites",
                                      "x.station, x.run_uuid, x.suite_id"))
            run_of(row).run.suites.push_back({text(row[2]), text(row[3])});

        // The reader and card as the run's own copies (keyed by the run and the station's ids);
        // one reader value for the sessions of a run that share it.
        sessions_.clear();
        std::unordered_map<std::string, std::shared_ptr<const model::ReaderIdentity>> readers;
        for (const auto& row :
             select("x.local_id, x.status, x.cause, x.failure, x.reader_local_id, rd.pcsc_name, "
                    "rd.vid, rd.pid, rd.bcd_device, rd.manufacturer, rd.product, rd.serial, "
                    "rd.driver, rd.reader_model, encode(rd.ccid_descriptor, 'hex'), "
                    "rd.descriptor_findings, c.card_id, c.card_type, c.interface, encode(c.atr, "
                    "'hex'), c.emulated, c.test_card",
                    "sessions", "x.station, x.run_uuid, x.seq",
                    "JOIN cardharness.readers rd ON rd.station = x.station AND rd.run_uuid = "
                    "x.run_uuid AND rd.local_id = x.reader_local_id LEFT JOIN cardharness.cards c "
                    "ON c.station = x.station AND c.run_uuid = x.run_uuid AND c.local_id = "
                    "x.card_local_id")) {
            model::SessionHeader s;
            s.key = static_cast<std::int64_t>(sessions_.size());
            s.status = store::stored_status(text(row[3]));
            s.cause = text(row[4]);
            s.failure = store::stored_failure(text(row[5]));
            auto& reader = readers[key(row[0], row[1], row[6].as<std::int64_t>())];
            if (!reader) {
                model::ReaderIdentity r;
                r.pcsc_name = text(row[7]);
                r.vid = u16(row[8]);
                r.pid = u16(row[9]);
                r.bcd_device = u16(row[10]);
                r.manufacturer = text(row[11]);
                r.product = text(row[12]);
                r.serial = text(row[13]);
                r.driver = text(row[14]);
                r.reader_model = text(row[15]);
                r.ccid_descriptor = bytes(row[16]);
                r.descriptor_findings_json = text(row[17]);
                reader = std::make_shared<const model::ReaderIdentity>(std::move(r));
            }
            s.reader = reader;
            if (!row[18].is_null()) {
                auto& c = s.card;
                c.card_id = text(row[18]);
                c.card_type = text(row[19]);
                c.interface = text(row[20]);
                c.atr = bytes(row[21]);
                c.emulated = row[22].as<bool>();
                c.test_card = row[23].as<bool>();
            }
            sessions_.push_back({text(row[0]), text(row[1]), row[2].as<std::int64_t>()});
            run_of(row).sessions.push_back(std::move(s));
        }

        // Causes in order, folded into their verdict (most telling first).
        for (const auto& row : select(
                 "x.reader, x.reader_model, x.card_type, x.interface, x.verdict, x.diagnosis_en, "
                 "x.diagnosis_ja, (SELECT coalesce(array_agg(vc.code ORDER BY vc.seq), '{}') FROM "
                 "cardharness.verdict_causes vc WHERE vc.station = x.station AND vc.run_uuid = "
                 "x.run_uuid AND vc.verdict_local_id = x.local_id)",
                 "verdicts", "x.station, x.run_uuid, x.local_id")) {
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
            run_of(row).run.verdicts.push_back(std::move(v));
        }
        return out;
    }

    // One session's suites and steps, then its steps' exchanges and CCID traces (through the
    // steps of the session: the primary keys' station + run prefix finds them).
    std::vector<model::SuiteResult> load_evidence(const SessionRef& at) const {
        std::vector<model::SuiteResult> suites;
        std::unordered_map<std::int64_t, std::pair<std::size_t, std::size_t>> step_at;
        for (const auto& row : txn_->exec_params(
                 "SELECT local_id, suite_id, suite_hash, step_id, grp, title_en, title_ja, action, "
                 "verdict, reason_en, reason_ja, sw, duration_us, measurements, failure, missing, "
                 "started_us FROM cardharness.steps WHERE station = $1 AND run_uuid = $2 AND "
                 "session_local_id = $3 ORDER BY seq",
                 at.station, at.run_uuid, at.local_id)) {
            const std::string suite_id = text(row[1]);
            if (suites.empty() || suites.back().suite.id != suite_id)
                suites.push_back({{suite_id, text(row[2])}, {}});
            model::StepResult step;
            step.step_id = text(row[3]);
            step.group = text(row[4]);
            step.title_en = text(row[5]);
            step.title_ja = text(row[6]);
            step.action = text(row[7]);
            step.verdict =
                model::step_verdict_from(text(row[8])).value_or(model::StepVerdict::Error);
            step.reason_en = text(row[9]);
            step.reason_ja = text(row[10]);
            step.sw = u16(row[11]);
            step.duration_us = row[12].as<std::int64_t>(0);
            step.measurements_json = text(row[13]);
            step.failure = store::stored_failure(text(row[14]));
            step.missing = store::split_tokens(text(row[15]));
            if (!row[16].is_null())
                step.started_us = row[16].as<std::int64_t>();
            step_at.emplace(row[0].as<std::int64_t>(),
                            std::make_pair(suites.size() - 1, suites.back().steps.size()));
            suites.back().steps.push_back(std::move(step));
        }
        const auto step_of = [&](const pqxx::field& local_id) -> model::StepResult* {
            const auto it = step_at.find(local_id.as<std::int64_t>());
            return it == step_at.end() ? nullptr
                                       : &suites[it->second.first].steps[it->second.second];
        };
        const std::string of_session =
            " x JOIN cardharness.steps s ON s.station = x.station AND s.run_uuid = x.run_uuid AND "
            "s.local_id = x.step_local_id WHERE s.station = $1 AND s.run_uuid = $2 AND "
            "s.session_local_id = $3 ORDER BY x.step_local_id, x.seq";
        for (const auto& row : txn_->exec_params(
                 "SELECT x.step_local_id, x.command, x.response, x.sw, x.duration_us, x.note, "
                 "x.failure, x.response_size FROM cardharness.exchanges" +
                     of_session,
                 at.station, at.run_uuid, at.local_id))
            if (auto* step = step_of(row[0])) {
                model::Exchange x{text(row[1]), text(row[2]), u16(row[3]),
                                  row[4].as<std::int64_t>(0), text(row[5])};
                x.failure = store::stored_failure(text(row[6]));
                if (!row[7].is_null())
                    x.response_size = static_cast<std::size_t>(row[7].as<std::int64_t>());
                step->exchanges.push_back(std::move(x));
            }
        for (const auto& row : txn_->exec_params(
                 "SELECT x.step_local_id, x.direction, x.offset_us, x.message, x.note FROM "
                 "cardharness.ccid_trace" +
                     of_session,
                 at.station, at.run_uuid, at.local_id))
            if (auto* step = step_of(row[0]))
                step->ccid_trace.push_back(
                    {text(row[1]), row[2].as<std::int64_t>(0), text(row[3]), text(row[4])});
        return suites;
    }

    std::unique_ptr<pqxx::connection> conn_;
    std::unique_ptr<Txn> txn_; // destroyed (rolled back: it only read) before the connection
    std::string label_;
    std::string station_;
    std::string run_uuid_;
    bool include_survey_ = false;
    mutable std::vector<SessionRef> sessions_; // runs()' session keys index this
};

} // namespace

bool is_server_uri(const std::string& text) {
    return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

CentralSource open_runs(const std::string& conninfo, const RunQuery& query) {
    if (!query.station.empty())
        check_station_name(query.station);
    auto conn = detail::connect(conninfo, "cardharness report", "--db");
    CentralSource out;
    out.label = detail::label(*conn);
    auto central = std::make_unique<CentralQuery>(std::move(conn), out.label);
    try {
        Txn& txn = central->txn();
        check_schema(txn, out.label);
        if (!query.station.empty() &&
            txn.exec_params("SELECT 1 FROM cardharness.stations WHERE station = $1", query.station)
                .empty())
            throw UsageError(out.label + ": no station " + query.station + " has pushed here");
        std::string station = query.station;
        std::string run_uuid;
        if (!query.run_id.empty())
            std::tie(station, run_uuid) = resolve_run(txn, out.label, query);
        const bool include_survey = query.include_survey || !run_uuid.empty();
        central->scope(std::move(station), std::move(run_uuid), include_survey);
    } catch (const pqxx::failure&) {
        rethrow(out.label);
    }
    out.query = std::move(central);
    return out;
}

} // namespace harness::central
