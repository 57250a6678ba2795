#pragma once
// JSON pieces every command prints the same way (snake_case keys). Templates so that commands
// using nlohmann::ordered_json and nlohmann::json share them.
#include "pure/finding.hpp"

#include <nlohmann/json.hpp>
#include <optional>

namespace harness::cli {

// [{severity, code, message, message_ja}]
template <typename Json = nlohmann::json>
Json findings_json(const Findings& findings) {
    Json out = Json::array();
    for (const Finding& f : findings)
        out.push_back(Json{{"severity", to_string(f.severity)},
                           {"code", f.code},
                           {"message", f.message},
                           {"message_ja", f.message_ja}});
    return out;
}

// The value, or null.
template <typename Json = nlohmann::json, typename T>
Json optional_json(const std::optional<T>& value) {
    return value ? Json(*value) : Json(nullptr);
}

} // namespace harness::cli
