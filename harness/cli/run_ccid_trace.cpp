#include "cli/run_ccid_trace.hpp"

#include "backends/lab/lab_socket.hpp"

#include <map>
#include <nlohmann/json.hpp>

namespace harness::cli {

using Clock = std::chrono::steady_clock;

StepTraces::StepTraces(std::filesystem::path lab_socket, std::string slot)
    : socket_(std::move(lab_socket)), slot_(std::move(slot)), session_start_(Clock::now()) {}

void StepTraces::step_started(const std::string& suite_id, const std::string& step_id) {
    if (!slot_.empty())
        starts_.emplace_back(suite_id + '\x1f' + step_id, Clock::now());
}

void StepTraces::attach(model::Session& session) const {
    if (slot_.empty() || socket_.empty() || starts_.empty())
        return;
    bool failing = false;
    for (const auto& suite : session.suites)
        for (const auto& step : suite.steps)
            failing = failing || step.verdict == model::StepVerdict::Fail ||
                      step.verdict == model::StepVerdict::Error ||
                      (step.verdict == model::StepVerdict::Aborted && !step.exchanges.empty());
    if (!failing)
        return;
    const auto ns = [](Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    };
    nlohmann::json entries;
    try {
        const std::string since = std::to_string(ns(session_start_));
        const auto reply =
            labd::call(socket_, labwire::Request{labwire::Op::Trace, slot_, 0, bytes_of(since)});
        if (reply.code != ifd::Code::Success)
            return;
        entries =
            nlohmann::json::parse(std::string(reply.data.begin(), reply.data.end())).at("entries");
    } catch (const std::exception&) {
        return; // evidence is best effort: the run's results stand without it
    }
    // Each step's window: from its start to the next step's start (the last: open-ended).
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> windows;
    for (std::size_t i = 0; i < starts_.size(); ++i) {
        const std::int64_t from = ns(starts_[i].second);
        const std::int64_t to = i + 1 < starts_.size() ? ns(starts_[i + 1].second) : INT64_MAX;
        windows.emplace(starts_[i].first, std::make_pair(from, to)); // first run of an id
    }
    for (auto& suite : session.suites)
        for (auto& step : suite.steps) {
            const bool fails =
                step.verdict == model::StepVerdict::Fail ||
                step.verdict == model::StepVerdict::Error ||
                (step.verdict == model::StepVerdict::Aborted && !step.exchanges.empty());
            if (!fails)
                continue;
            const auto w = windows.find(suite.suite.id + '\x1f' + step.step_id);
            if (w == windows.end())
                continue;
            const auto [from, to] = w->second;
            for (const auto& e : entries) {
                const std::int64_t t = e.value("t_ns", std::int64_t{0});
                if (t < from || t >= to)
                    continue;
                step.ccid_trace.push_back(
                    model::CcidMessage{e.value("direction", ""), (t - from) / 1000,
                                       e.value("message", ""), e.value("note", "")});
            }
        }
}

} // namespace harness::cli
