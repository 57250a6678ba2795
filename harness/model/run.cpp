#include "model/run.hpp"

#include <array>
#include <ostream>
#include <utility>

namespace harness::model {
namespace {

template <typename Enum, std::size_t N>
const char* name_of(const std::array<std::pair<Enum, const char*>, N>& table, Enum value) {
    for (const auto& [e, name] : table)
        if (e == value)
            return name;
    return "unknown";
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, const char*>, N>& table,
                             std::string_view text) {
    for (const auto& [e, name] : table)
        if (text == name)
            return e;
    return std::nullopt;
}

constexpr std::array<std::pair<StepVerdict, const char*>, 5> step_verdicts{{
    {StepVerdict::Pass, "pass"},
    {StepVerdict::Fail, "fail"},
    {StepVerdict::Skip, "skip"},
    {StepVerdict::Error, "error"},
    {StepVerdict::Aborted, "aborted"},
}};
constexpr std::array<std::pair<Compatibility, const char*>, 4> compatibilities{{
    {Compatibility::Compatible, "compatible"},
    {Compatibility::Partial, "partial"},
    {Compatibility::Incompatible, "incompatible"},
    {Compatibility::Untested, "untested"},
}};
constexpr std::array<std::pair<RunStatus, const char*>, 3> run_statuses{{
    {RunStatus::Running, "running"},
    {RunStatus::Complete, "complete"},
    {RunStatus::Incomplete, "incomplete"},
}};

} // namespace

const char* to_string(StepVerdict verdict) {
    return name_of(step_verdicts, verdict);
}
const char* to_string(Compatibility compatibility) {
    return name_of(compatibilities, compatibility);
}
const char* to_string(RunStatus status) {
    return name_of(run_statuses, status);
}
std::optional<StepVerdict> step_verdict_from(std::string_view text) {
    return value_of(step_verdicts, text);
}
std::optional<Compatibility> compatibility_from(std::string_view text) {
    return value_of(compatibilities, text);
}
std::optional<RunStatus> run_status_from(std::string_view text) {
    return value_of(run_statuses, text);
}
std::ostream& operator<<(std::ostream& out, StepVerdict verdict) {
    return out << to_string(verdict);
}
std::ostream& operator<<(std::ostream& out, Compatibility compatibility) {
    return out << to_string(compatibility);
}
std::ostream& operator<<(std::ostream& out, RunStatus status) {
    return out << to_string(status);
}

} // namespace harness::model
