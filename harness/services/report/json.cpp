// The report model as JSON (schema_version 1) and back: the export `diff` reads as a baseline.
#include "model/json.hpp"

#include "pure/error.hpp"
#include "services/report/report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace harness::report {
namespace {

using Json = nlohmann::ordered_json;

using model::hex16_json;
using model::parsed_or_text;

// Reading back: every field has a default, so older or hand-trimmed exports still load.
struct Reader {
    std::string origin;

    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw UsageError(fmt::format("{}: expected {} at {}", origin, what, where));
    }
    std::string str(const Json& j, const char* key, const std::string& where) const {
        if (!j.contains(key) || j[key].is_null())
            return {};
        if (!j[key].is_string())
            fail(where + "." + key, "a string");
        return j[key].get<std::string>();
    }
    std::int64_t integer(const Json& j, const char* key, const std::string& where) const {
        if (!j.contains(key) || j[key].is_null())
            return 0;
        if (!j[key].is_number_integer())
            fail(where + "." + key, "an integer");
        return j[key].get<std::int64_t>();
    }
    bool boolean(const Json& j, const char* key, const std::string& where) const {
        if (!j.contains(key) || j[key].is_null())
            return false;
        if (!j[key].is_boolean())
            fail(where + "." + key, "true or false");
        return j[key].get<bool>();
    }
    std::optional<std::uint16_t> hex16(const Json& j, const char* key,
                                       const std::string& where) const {
        const auto s = str(j, key, where);
        if (s.empty())
            return std::nullopt;
        try {
            std::size_t used = 0;
            const auto v = std::stoul(s, &used, 16);
            if (used == s.size() && v <= 0xFFFF)
                return static_cast<std::uint16_t>(v);
        } catch (const std::exception&) {
        }
        fail(where + "." + key, "four hex digits");
    }
    const Json& array(const Json& j, const char* key, const std::string& where) const {
        static const Json empty = Json::array();
        if (!j.contains(key) || j[key].is_null())
            return empty;
        if (!j[key].is_array())
            fail(where + "." + key, "an array");
        return j[key];
    }
    model::FailureKind failure(const Json& j, const std::string& where) const {
        const auto s = str(j, "failure", where);
        if (auto v = model::failure_kind_from(s))
            return *v;
        fail(where + ".failure", "a failure kind (card_removed, timeout, no_service, …) or null");
    }
    std::vector<std::string> strings(const Json& j, const char* key,
                                     const std::string& where) const {
        std::vector<std::string> out;
        std::size_t i = 0;
        for (const auto& x : array(j, key, where)) {
            if (!x.is_string())
                fail(fmt::format("{}.{}[{}]", where, key, i), "a string");
            out.push_back(x.get<std::string>());
            ++i;
        }
        return out;
    }
    template <typename T, typename F>
    T parse_enum(const Json& j, const char* key, const std::string& where, F from,
                 const char* what) const {
        const auto s = str(j, key, where);
        if (auto v = from(s))
            return *v;
        fail(where + "." + key, what);
    }
    std::vector<model::SuiteRef> suites(const Json& j, const std::string& where) const {
        std::vector<model::SuiteRef> out;
        std::size_t i = 0;
        for (const auto& s : array(j, "suites", where)) {
            const auto w = fmt::format("{}.suites[{}]", where, i++);
            out.push_back({str(s, "id", w), str(s, "content_hash", w)});
        }
        return out;
    }
    model::Environment env(const Json& j, const std::string& where) const {
        model::Environment e;
        if (!j.contains("environment"))
            return e;
        const auto& x = j["environment"];
        const auto w = where + ".environment";
        e.host = str(x, "host", w);
        e.os = str(x, "os", w);
        e.pcsclite_version = str(x, "pcsclite_version", w);
        e.libccid_version = str(x, "libccid_version", w);
        e.harness_version = str(x, "harness_version", w);
        return e;
    }
    model::StepResult step(const Json& j, const std::string& w) const {
        model::StepResult s;
        s.step_id = str(j, "id", w);
        s.group = str(j, "group", w);
        s.title_en = str(j, "title_en", w);
        s.title_ja = str(j, "title_ja", w);
        s.action = str(j, "action", w);
        s.verdict = parse_enum<model::StepVerdict>(j, "verdict", w, model::step_verdict_from,
                                                   "pass, fail, skip, error or aborted");
        s.reason_en = str(j, "reason_en", w);
        s.reason_ja = str(j, "reason_ja", w);
        s.sw = hex16(j, "sw", w);
        s.duration_us = integer(j, "duration_us", w);
        if (j.contains("started_us") && !j["started_us"].is_null())
            s.started_us = integer(j, "started_us", w);
        if (j.contains("measurements"))
            s.measurements_json = j["measurements"].is_string()
                                      ? j["measurements"].get<std::string>()
                                      : j["measurements"].dump();
        s.failure = failure(j, w);
        s.missing = strings(j, "missing", w);
        std::size_t i = 0;
        for (const auto& x : array(j, "exchanges", w)) {
            const auto xw = fmt::format("{}.exchanges[{}]", w, i++);
            model::Exchange e;
            e.command = str(x, "command", xw);
            e.response = str(x, "response", xw);
            e.sw = hex16(x, "sw", xw);
            e.duration_us = integer(x, "duration_us", xw);
            e.note = str(x, "note", xw);
            e.failure = failure(x, xw);
            if (x.contains("response_size") && !x["response_size"].is_null())
                e.response_size = static_cast<std::size_t>(integer(x, "response_size", xw));
            s.exchanges.push_back(std::move(e));
        }
        return s;
    }
};

} // namespace

std::string render_json(const ReportModel& m) {
    Json runs = Json::array();
    for (const auto& r : m.runs)
        runs.push_back(Json{{"uuid", r.uuid},
                            {"station", r.station},
                            {"started_at", r.started_at},
                            {"ended_at", r.ended_at},
                            {"status", model::to_string(r.status)},
                            {"cause", r.cause},
                            {"lab", r.lab},
                            {"environment", Json(r.environment)},
                            {"suites", Json(r.suites)}});
    Json readers = Json::array();
    for (const auto& row : m.readers) {
        Json cells = Json::array();
        for (const auto& c : row.cells) {
            Json cell{{"card_type", c.card_type},
                      {"interface", c.interface},
                      {"verdict", model::to_string(c.verdict)},
                      {"mark", mark(c.verdict)},
                      {"reason_en", c.reason_en},
                      {"reason_ja", c.reason_ja},
                      {"causes", c.causes},
                      {"tested_at", c.tested_at},
                      {"run_uuid", c.run_uuid},
                      {"station", c.station},
                      {"suites", Json(c.suites)},
                      {"step_counts", Json{{"pass", c.steps.pass},
                                           {"fail", c.steps.fail},
                                           {"skip", c.steps.skip},
                                           {"error", c.steps.error},
                                           {"aborted", c.steps.aborted}}}};
            if (c.session) {
                Json suites = Json::array();
                for (const auto& s : c.session->suites) {
                    Json steps = Json::array();
                    for (const auto& st : s.steps)
                        steps.push_back(Json(st));
                    suites.push_back(Json{{"id", s.suite.id},
                                          {"content_hash", s.suite.content_hash},
                                          {"steps", steps}});
                }
                cell["session"] = Json{{"atr", c.session->atr},
                                       {"emulated", c.session->emulated},
                                       {"test_card", c.session->test_card},
                                       {"status", model::to_string(c.session->status)},
                                       {"cause", c.session->cause},
                                       {"failure", Json(c.session->failure)},
                                       {"suites", suites}};
            } else {
                cell["session"] = nullptr;
            }
            cells.push_back(std::move(cell));
        }
        readers.push_back(
            Json{{"key", row.key},
                 {"maker", row.maker},
                 {"model", row.model},
                 {"vid", hex16_json(row.vid)},
                 {"pid", hex16_json(row.pid)},
                 {"bcd_device", hex16_json(row.bcd_device)},
                 {"firmware", row.firmware()},
                 {"driver", row.driver},
                 {"pcsc_name", row.pcsc_name},
                 {"reader_model", row.reader_model},
                 {"interfaces", row.interfaces()},
                 {"ccid_descriptor", row.ccid_descriptor},
                 {"descriptor_findings", parsed_or_text(row.descriptor_findings_json)},
                 {"environment_run", row.environment_run},
                 {"station", row.station},
                 {"environment", Json(row.environment)},
                 {"cells", cells}});
    }
    const Json doc{{"schema_version", schema_version},
                   {"generator", "cardharness report"},
                   {"selection", to_string(m.selection)},
                   {"runs", runs},
                   {"readers", readers}};
    return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

namespace {

ReportModel parse_json_document(std::string_view text_in, const std::string& origin) {
    Json doc;
    try {
        doc = Json::parse(text_in.begin(), text_in.end());
    } catch (const Json::parse_error& e) {
        // Byte offset to line:column (1-based) for the usual file:line:column message.
        std::size_t line = 1, column = 1;
        const std::size_t end = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text_in.size());
        for (std::size_t i = 0; i < end; ++i) {
            if (text_in[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw UsageError(fmt::format("{}:{}:{}: expected a cardharness report JSON export ({})",
                                     origin, line, column, e.what()));
    }
    const Reader rd{origin};
    if (!doc.is_object() || !doc.contains("schema_version") ||
        !doc["schema_version"].is_number_integer())
        rd.fail("the top level", "a report export with \"schema_version\"");
    if (doc["schema_version"].get<int>() != schema_version)
        rd.fail("schema_version", fmt::format("schema version {} (this harness reads {})",
                                              doc["schema_version"].dump(), schema_version));
    ReportModel m;
    const auto sel = rd.str(doc, "selection", "$");
    m.selection = sel == "latest" ? Selection::Latest
                  : sel == "run"  ? Selection::Run
                                  : Selection::Newest;
    std::size_t i = 0;
    for (const auto& r : rd.array(doc, "runs", "$")) {
        const auto w = fmt::format("runs[{}]", i++);
        RunInfo info;
        info.uuid = rd.str(r, "uuid", w);
        info.station = rd.str(r, "station", w);
        info.started_at = rd.str(r, "started_at", w);
        info.ended_at = rd.str(r, "ended_at", w);
        info.status = rd.parse_enum<model::RunStatus>(
            r, "status", w, model::run_status_from, "running, complete, incomplete or interrupted");
        info.cause = rd.str(r, "cause", w);
        info.lab = rd.boolean(r, "lab", w);
        info.environment = rd.env(r, w);
        info.suites = rd.suites(r, w);
        m.runs.push_back(std::move(info));
    }
    i = 0;
    for (const auto& r : rd.array(doc, "readers", "$")) {
        const auto w = fmt::format("readers[{}]", i++);
        ReaderRow row;
        row.key = rd.str(r, "key", w);
        if (row.key.empty())
            rd.fail(w + ".key", "a non-empty reader key");
        row.maker = rd.str(r, "maker", w);
        row.model = rd.str(r, "model", w);
        row.vid = rd.hex16(r, "vid", w);
        row.pid = rd.hex16(r, "pid", w);
        row.bcd_device = rd.hex16(r, "bcd_device", w);
        row.driver = rd.str(r, "driver", w);
        row.pcsc_name = rd.str(r, "pcsc_name", w);
        row.reader_model = rd.str(r, "reader_model", w);
        row.ccid_descriptor = rd.str(r, "ccid_descriptor", w);
        row.descriptor_findings_json =
            r.contains("descriptor_findings") ? r["descriptor_findings"].dump() : "{}";
        row.environment_run = rd.str(r, "environment_run", w);
        row.station = rd.str(r, "station", w);
        row.environment = rd.env(r, w);
        std::size_t k = 0;
        for (const auto& c : rd.array(r, "cells", w)) {
            const auto cw = fmt::format("{}.cells[{}]", w, k++);
            Cell cell;
            cell.card_type = rd.str(c, "card_type", cw);
            cell.interface = rd.str(c, "interface", cw);
            cell.verdict = rd.parse_enum<model::Compatibility>(
                c, "verdict", cw, model::compatibility_from,
                "compatible, partial, incompatible or untested");
            cell.reason_en = rd.str(c, "reason_en", cw);
            cell.reason_ja = rd.str(c, "reason_ja", cw);
            cell.causes = rd.strings(c, "causes", cw);
            cell.tested_at = rd.str(c, "tested_at", cw);
            cell.run_uuid = rd.str(c, "run_uuid", cw);
            cell.station = rd.str(c, "station", cw);
            cell.suites = rd.suites(c, cw);
            if (c.contains("step_counts") && c["step_counts"].is_object()) {
                const auto& sc = c["step_counts"];
                const auto sw = cw + ".step_counts";
                cell.steps.pass = static_cast<int>(rd.integer(sc, "pass", sw));
                cell.steps.fail = static_cast<int>(rd.integer(sc, "fail", sw));
                cell.steps.skip = static_cast<int>(rd.integer(sc, "skip", sw));
                cell.steps.error = static_cast<int>(rd.integer(sc, "error", sw));
                cell.steps.aborted = static_cast<int>(rd.integer(sc, "aborted", sw));
            }
            if (c.contains("session") && c["session"].is_object()) {
                const auto& s = c["session"];
                const auto sw = cw + ".session";
                CellSession cs;
                cs.atr = rd.str(s, "atr", sw);
                cs.emulated = rd.boolean(s, "emulated", sw);
                cs.test_card = rd.boolean(s, "test_card", sw);
                cs.status =
                    rd.parse_enum<model::RunStatus>(s, "status", sw, model::run_status_from,
                                                    "running, complete, incomplete or interrupted");
                cs.cause = rd.str(s, "cause", sw);
                cs.failure = rd.failure(s, sw);
                std::size_t n = 0;
                for (const auto& su : rd.array(s, "suites", sw)) {
                    const auto suw = fmt::format("{}.suites[{}]", sw, n++);
                    model::SuiteResult result;
                    result.suite = {rd.str(su, "id", suw), rd.str(su, "content_hash", suw)};
                    std::size_t t = 0;
                    for (const auto& st : rd.array(su, "steps", suw))
                        result.steps.push_back(rd.step(st, fmt::format("{}.steps[{}]", suw, t++)));
                    cs.suites.push_back(std::move(result));
                }
                cell.session = std::move(cs);
            }
            row.cells.push_back(std::move(cell));
        }
        m.readers.push_back(std::move(row));
    }
    return m;
}

} // namespace

ReportModel parse_json(std::string_view text_in, const std::string& origin) {
    try {
        return parse_json_document(text_in, origin);
    } catch (const Json::exception& e) {
        // Not a syntax error with a position: a number out of range (1e822), a wrong type deep
        // inside. Still the file's fault, never a crash (found by tests/fuzz/report_json_fuzz).
        throw UsageError(fmt::format("{}:1:1: expected a cardharness report JSON export ({})",
                                     origin, e.what()));
    }
}

} // namespace harness::report
