#include "services/report/prune.hpp"

#include <cctype>
#include <set>

namespace harness::report {

PrunePlan plan_prune(const std::vector<PruneCandidate>& runs, const ReportModel& newest,
                     const PruneRule& rule) {
    std::set<std::string> evidence;
    for (const auto& row : newest.readers)
        for (const auto& cell : row.cells)
            evidence.insert(cell.run_uuid);
    PrunePlan plan;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& run = runs[i];
        const bool by_rule =
            (rule.keep_latest && i >= static_cast<std::size_t>(std::max(0, *rule.keep_latest))) ||
            (!rule.before.empty() && run.started_at < rule.before);
        if (!by_rule)
            continue;
        if (run.status == model::RunStatus::Running)
            plan.kept_running.push_back(run.uuid);
        else if (evidence.count(run.uuid))
            plan.kept_as_evidence.push_back(run.uuid);
        else
            plan.remove.push_back(run.uuid);
    }
    return plan;
}

bool is_prune_date(std::string_view text) {
    const std::string_view date = "dddd-dd-dd", full = "dddd-dd-ddTdd:dd:ddZ";
    const auto matches = [&](std::string_view pattern) {
        if (text.size() != pattern.size())
            return false;
        for (std::size_t i = 0; i < text.size(); ++i)
            if (pattern[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(text[i]))
                                  : text[i] != pattern[i])
                return false;
        return true;
    };
    if (!matches(date) && !matches(full))
        return false;
    const int month = (text[5] - '0') * 10 + (text[6] - '0');
    const int day = (text[8] - '0') * 10 + (text[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

} // namespace harness::report
