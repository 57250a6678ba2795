#pragma once
// The model's value types as JSON (nlohmann `to_json`, found by ADL: `Json(value)`), written once
// for every export that prints them: `run --json` (cli/run_output) and the report's JSON export
// (services/report/json). Templates, so that nlohmann::json and nlohmann::ordered_json share them.
// Keys are snake_case and are contracts: golden tests and `diff` baselines pin them.
#include "model/run.hpp"

#include <cstdint>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>

namespace harness::model {

// A column that holds JSON text (measurements, descriptor findings) as JSON: {} when empty, the
// text itself when it is not JSON.
template <typename Json = nlohmann::ordered_json>
Json parsed_or_text(const std::string& text) {
    if (text.empty())
        return Json::object();
    auto parsed = Json::parse(text, nullptr, false);
    if (parsed.is_discarded())
        return Json(text);
    return parsed;
}

// A 16-bit value as four upper-case hex digits ("9000", "072F"), or null.
template <typename Json = nlohmann::ordered_json>
Json hex16_json(const std::optional<std::uint16_t>& value) {
    return value ? Json(fmt::format("{:04X}", *value)) : Json(nullptr);
}

// "card_removed", …; null for FailureKind::None (nothing failed).
template <typename Json>
void to_json(Json& j, FailureKind kind) {
    j = kind == FailureKind::None ? Json(nullptr) : Json(to_string(kind));
}
template <typename Json>
void to_json(Json& j, StepVerdict verdict) {
    j = to_string(verdict);
}
template <typename Json>
void to_json(Json& j, Compatibility compatibility) {
    j = to_string(compatibility);
}
template <typename Json>
void to_json(Json& j, RunStatus status) {
    j = to_string(status);
}

// {id, content_hash}
template <typename Json>
void to_json(Json& j, const SuiteRef& suite) {
    j = Json{{"id", suite.id}, {"content_hash", suite.content_hash}};
}

// {host, os, pcsclite_version, libccid_version, harness_version}
template <typename Json>
void to_json(Json& j, const Environment& e) {
    j = Json{{"host", e.host},
             {"os", e.os},
             {"pcsclite_version", e.pcsclite_version},
             {"libccid_version", e.libccid_version},
             {"harness_version", e.harness_version}};
}

// {command, response, sw, duration_us, note, failure, response_size}
template <typename Json>
void to_json(Json& j, const Exchange& x) {
    j = Json{{"command", x.command},
             {"response", x.response},
             {"sw", hex16_json<Json>(x.sw)},
             {"duration_us", x.duration_us},
             {"note", x.note},
             {"failure", Json(x.failure)},
             {"response_size", x.response_size ? Json(*x.response_size) : Json(nullptr)}};
}

// The whole step record: {id, group, title_en, title_ja, action, verdict, reason_en, reason_ja,
// sw, duration_us, started_us (null when not stored), measurements (parsed_or_text), failure,
// missing, exchanges}.
template <typename Json>
void to_json(Json& j, const StepResult& s) {
    j = Json{{"id", s.step_id},
             {"group", s.group},
             {"title_en", s.title_en},
             {"title_ja", s.title_ja},
             {"action", s.action},
             {"verdict", Json(s.verdict)},
             {"reason_en", s.reason_en},
             {"reason_ja", s.reason_ja},
             {"sw", hex16_json<Json>(s.sw)},
             {"duration_us", s.duration_us},
             {"started_us", s.started_us ? Json(*s.started_us) : Json()},
             {"measurements", parsed_or_text<Json>(s.measurements_json)},
             {"failure", Json(s.failure)},
             {"missing", s.missing},
             {"exchanges", s.exchanges}};
}

// {reader, reader_model, card_type, interface, verdict, diagnosis, diagnosis_ja, causes}
template <typename Json>
void to_json(Json& j, const Verdict& v) {
    j = Json{{"reader", v.reader},
             {"reader_model", v.reader_model},
             {"card_type", v.card_type},
             {"interface", v.interface},
             {"verdict", Json(v.verdict)},
             {"diagnosis", v.diagnosis_en},
             {"diagnosis_ja", v.diagnosis_ja},
             {"causes", v.causes}};
}

} // namespace harness::model
