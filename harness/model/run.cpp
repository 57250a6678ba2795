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
constexpr std::array<std::pair<RunStatus, const char*>, 4> run_statuses{{
    {RunStatus::Running, "running"},
    {RunStatus::Complete, "complete"},
    {RunStatus::Incomplete, "incomplete"},
    {RunStatus::Interrupted, "interrupted"},
}};
// The stored and exported names: never rename one (databases and JSON exports keep them).
constexpr std::array<std::pair<FailureKind, const char*>, 15> failure_kinds{{
    {FailureKind::None, ""},
    {FailureKind::CardRemoved, "card_removed"},
    {FailureKind::CardReset, "card_reset"},
    {FailureKind::ReaderGone, "reader_gone"},
    {FailureKind::Timeout, "timeout"},
    {FailureKind::TooLong, "too_long"},
    {FailureKind::Communication, "communication"},
    {FailureKind::ProtocolMismatch, "protocol_mismatch"},
    {FailureKind::Unresponsive, "unresponsive"},
    {FailureKind::TransportOther, "transport_other"},
    {FailureKind::NoService, "no_service"},
    {FailureKind::LabStopped, "lab_stopped"},
    {FailureKind::Disk, "disk"},
    {FailureKind::RefusedByGuard, "refused_by_guard"},
    {FailureKind::MissingInput, "missing_input"},
}};
constexpr std::array<std::pair<FailureClass, const char*>, 5> failure_classes{{
    {FailureClass::None, "none"},
    {FailureClass::Transport, "transport"},
    {FailureClass::Environment, "environment"},
    {FailureClass::Guard, "guard"},
    {FailureClass::Consequence, "consequence"},
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
const char* to_string(FailureKind kind) {
    return name_of(failure_kinds, kind);
}
const char* to_string(FailureClass failure_class) {
    return name_of(failure_classes, failure_class);
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
std::optional<FailureKind> failure_kind_from(std::string_view text) {
    return value_of(failure_kinds, text);
}

FailureClass class_of(FailureKind kind) {
    switch (kind) {
    case FailureKind::None:
        return FailureClass::None;
    case FailureKind::CardRemoved:
    case FailureKind::CardReset:
    case FailureKind::ReaderGone:
    case FailureKind::Timeout:
    case FailureKind::TooLong:
    case FailureKind::Communication:
    case FailureKind::ProtocolMismatch:
    case FailureKind::Unresponsive:
    case FailureKind::TransportOther:
        return FailureClass::Transport;
    case FailureKind::NoService:
    case FailureKind::LabStopped:
    case FailureKind::Disk:
        return FailureClass::Environment;
    case FailureKind::RefusedByGuard:
        return FailureClass::Guard;
    case FailureKind::MissingInput:
        return FailureClass::Consequence;
    }
    return FailureClass::None;
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
std::ostream& operator<<(std::ostream& out, FailureKind kind) {
    return out << (kind == FailureKind::None ? "none" : to_string(kind));
}

} // namespace harness::model
