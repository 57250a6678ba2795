#include "cli/run_output.hpp"

#include "model/json.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace harness::cli {
namespace {

using Json = nlohmann::ordered_json;
using model::hex16_json;

// A step as `run --json` summarises it (the whole record is in the database and the report's
// JSON export: model::to_json(StepResult)).
Json step_summary_json(const model::StepResult& st) {
    return Json{{"id", st.step_id},
                {"group", st.group},
                {"title", st.title_en},
                {"action", st.action},
                {"verdict", Json(st.verdict)},
                {"reason", st.reason_en},
                {"reason_ja", st.reason_ja},
                {"sw", hex16_json(st.sw)},
                {"duration_us", st.duration_us},
                {"started_us", st.started_us ? Json(*st.started_us) : Json()},
                {"failure", Json(st.failure)},
                {"exchanges", st.exchanges.size()}};
}

Json session_json(const model::Session& s, bool stored) {
    Json suite_results = Json::array();
    for (const auto& r : s.suites) {
        Json steps = Json::array();
        for (const auto& st : r.steps)
            steps.push_back(step_summary_json(st));
        suite_results.push_back(Json{{"suite", r.suite.id}, {"steps", steps}});
    }
    return Json{{"reader", s.reader.pcsc_name},
                {"reader_model", s.reader.reader_model},
                {"vid", hex16_json(s.reader.vid)},
                {"pid", hex16_json(s.reader.pid)},
                {"bcd_device", hex16_json(s.reader.bcd_device)},
                {"card_id", s.card.card_id.empty() ? Json() : Json(s.card.card_id)},
                {"card_type", s.card.card_type},
                {"interface", s.card.interface},
                {"emulated", s.card.emulated},
                {"test_card", s.card.test_card},
                {"status", Json(s.status)},
                {"cause", s.cause},
                {"failure", Json(s.failure)},
                {"stored", stored},
                {"suites", suite_results}};
}

} // namespace

Json run_json(const model::Run& run, const std::vector<RunResult>& results,
              const std::vector<std::string>& not_reached, std::size_t stored,
              const std::string& store_error) {
    Json sessions = Json::array();
    Json verdicts = Json::array();
    for (const auto& result : results) {
        sessions.push_back(session_json(result.session, result.stored));
        Json verdict = Json(result.verdict);
        verdict["stored"] = result.stored;
        verdicts.push_back(std::move(verdict));
    }
    return Json{{"uuid", run.uuid},
                {"started_at", run.started_at},
                {"ended_at", run.ended_at},
                {"status", Json(run.status)},
                {"cause", run.cause},
                {"lab", run.lab},
                {"owner", Json{{"host", run.owner.host}, {"pid", run.owner.pid}}},
                {"environment", Json(run.environment)},
                {"stored_sessions", stored},
                {"not_run", not_reached},
                {"store_error", store_error.empty() ? Json() : Json(store_error)},
                {"suites", Json(run.suites)},
                {"sessions", sessions},
                {"verdicts", verdicts}};
}

void print_summary(const model::Run& run, const std::vector<RunResult>& results,
                   const std::vector<std::string>& not_reached, const std::string& db,
                   std::size_t stored, const std::string& store_error, bool run_row_final) {
    std::size_t width = 6;
    for (const auto& r : results)
        width = std::max(width, r.verdict.reader.size());
    fmt::print("\n{:<{}}  {:<9} {:<12} {:<12} {}\n", "reader", width, "card", "interface",
               "verdict", "diagnosis");
    for (const auto& r : results) {
        const auto& v = r.verdict;
        fmt::print("{:<{}}  {:<9} {:<12} {:<12} {}{}\n", v.reader, width, v.card_type, v.interface,
                   model::to_string(v.verdict), v.diagnosis_en, r.stored ? "" : " [NOT stored]");
    }
    for (const auto& r : not_reached)
        fmt::print("{:<{}}  not run: the run stopped first\n", r, width);
    // Say exactly what the database holds: never "stored" for what was not.
    if (store_error.empty() && stored == results.size() && run_row_final) {
        fmt::print("\nrun {} ({}) stored in {}\n", run.uuid, model::to_string(run.status), db);
        return;
    }
    fmt::print("\nrun {} ({}): {} of {} sessions stored in {}\n", run.uuid,
               model::to_string(run.status), stored, results.size(), db);
    if (!store_error.empty())
        fmt::print("NOT stored: {} session(s); the database could not be written: {}\n",
                   results.size() - stored, store_error);
    if (!run_row_final)
        fmt::print("the run's end could not be recorded: it stays \"running\" in {} until the "
                   "next `run` on it marks it interrupted\n",
                   db);
}

} // namespace harness::cli
