#pragma once
// `report --view survey`: the survey's stored results (cardharness survey) as a report model,
// with the observed (non-survey) results joined by VID, PID and bcdDevice.
#include "services/report/survey_view.hpp"

#include <string>

namespace harness::cli {

// The survey results of the installed libccid version when there are any, else of the version
// surveyed last. Throws UsageError when the database is missing or has no survey results.
report::SurveyReport survey_report_from_db(const std::string& db, const std::string& libccid);

} // namespace harness::cli
