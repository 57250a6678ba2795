#include "cli/run_output.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace harness::cli {
namespace {

using Json = nlohmann::ordered_json;

Json failure_json(model::FailureKind kind) {
    return kind == model::FailureKind::None ? Json() : Json(model::to_string(kind));
}

} // namespace

Json run_json(const model::Run& run, const std::vector<RunResult>& results,
              const std::vector<std::string>& not_reached, std::size_t stored,
              const std::string& store_error) {
    Json suites = Json::array();
    for (const auto& s : run.suites)
        suites.push_back(Json{{"id", s.id}, {"content_hash", s.content_hash}});
    Json sessions = Json::array();
    Json verdicts = Json::array();
    for (const auto& result : results) {
        const auto& s = result.session;
        Json suite_results = Json::array();
        for (const auto& r : s.suites) {
            Json steps = Json::array();
            for (const auto& st : r.steps)
                steps.push_back(Json{{"id", st.step_id},
                                     {"group", st.group},
                                     {"title", st.title_en},
                                     {"action", st.action},
                                     {"verdict", model::to_string(st.verdict)},
                                     {"reason", st.reason_en},
                                     {"reason_ja", st.reason_ja},
                                     {"sw", st.sw ? Json(fmt::format("{:04X}", *st.sw)) : Json()},
                                     {"duration_us", st.duration_us},
                                     {"failure", failure_json(st.failure)},
                                     {"exchanges", st.exchanges.size()}});
            suite_results.push_back(Json{{"suite", r.suite.id}, {"steps", steps}});
        }
        sessions.push_back(
            Json{{"reader", s.reader.pcsc_name},
                 {"reader_model", s.reader.reader_model},
                 {"vid", s.reader.vid ? Json(fmt::format("{:04X}", *s.reader.vid)) : Json()},
                 {"pid", s.reader.pid ? Json(fmt::format("{:04X}", *s.reader.pid)) : Json()},
                 {"bcd_device",
                  s.reader.bcd_device ? Json(fmt::format("{:04X}", *s.reader.bcd_device)) : Json()},
                 {"card_id", s.card.card_id.empty() ? Json() : Json(s.card.card_id)},
                 {"card_type", s.card.card_type},
                 {"interface", s.card.interface},
                 {"emulated", s.card.emulated},
                 {"test_card", s.card.test_card},
                 {"status", model::to_string(s.status)},
                 {"cause", s.cause},
                 {"failure", failure_json(s.failure)},
                 {"stored", result.stored},
                 {"suites", suite_results}});
        const auto& v = result.verdict;
        verdicts.push_back(Json{{"reader", v.reader},
                                {"reader_model", v.reader_model},
                                {"card_type", v.card_type},
                                {"interface", v.interface},
                                {"verdict", model::to_string(v.verdict)},
                                {"diagnosis", v.diagnosis_en},
                                {"diagnosis_ja", v.diagnosis_ja},
                                {"causes", v.causes},
                                {"stored", result.stored}});
    }
    return Json{{"uuid", run.uuid},
                {"started_at", run.started_at},
                {"ended_at", run.ended_at},
                {"status", model::to_string(run.status)},
                {"cause", run.cause},
                {"lab", run.lab},
                {"owner", Json{{"host", run.owner.host}, {"pid", run.owner.pid}}},
                {"environment", Json{{"host", run.environment.host},
                                     {"os", run.environment.os},
                                     {"pcsclite_version", run.environment.pcsclite_version},
                                     {"libccid_version", run.environment.libccid_version},
                                     {"harness_version", run.environment.harness_version}}},
                {"stored_sessions", stored},
                {"not_run", not_reached},
                {"store_error", store_error.empty() ? Json() : Json(store_error)},
                {"suites", suites},
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
