#pragma once
// How a stored text becomes a typed value again: the one rule for every store that keeps runs
// as rows (the station's SQLite store, store.cpp, and the central PostgreSQL store,
// backends/postgres/central_runs.cpp), so both give the same model::Run values.
#include "model/run.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::store {

// A status a newer harness wrote, or a damaged one, is never shown as complete.
inline model::RunStatus stored_status(std::string_view text) {
    return model::run_status_from(text).value_or(model::RunStatus::Incomplete);
}

// An unknown failure name (a newer harness wrote it) is still a failure of the transport.
inline model::FailureKind stored_failure(std::string_view text) {
    return model::failure_kind_from(text).value_or(model::FailureKind::TransportOther);
}

// Space-separated tokens (a step's `missing` requirements).
inline std::string join_tokens(const std::vector<std::string>& tokens) {
    std::string out;
    for (const auto& t : tokens)
        out += (out.empty() ? "" : " ") + t;
    return out;
}

inline std::vector<std::string> split_tokens(std::string_view text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto end = text.find(' ', at);
        const auto token = text.substr(at, end == std::string_view::npos ? end : end - at);
        if (!token.empty())
            out.emplace_back(token);
        if (end == std::string_view::npos)
            break;
        at = end + 1;
    }
    return out;
}

} // namespace harness::store
