#pragma once
// `report --view survey`: the driver-level survey of real readers' descriptors (`cardharness
// survey`) as a page of its own — readers × {My Number, Juki} × {contact, contactless} with the
// driver-level verdict, its reason, the descriptor prediction beside it, and an observed hardware
// result where one exists. Never mixed into the public or technical views: a survey verdict is
// what a descriptor and the CCID driver allow, not a hardware test, and the page says so.
#include "services/report/report.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::report {

struct SurveyCell {
    std::string card_type; // mynumber, juki
    std::string interface; // contact, contactless
    model::Compatibility verdict = model::Compatibility::Untested;
    std::string cause; // the survey's cause code
    std::string diagnosis_en;
    std::string diagnosis_ja;
    // The newest observed (hardware) verdict for the same VID, PID, bcdDevice, card and interface.
    std::optional<model::Compatibility> observed;
    std::string observed_reason_en;
    std::string observed_reason_ja;
    std::string observed_run;
};

struct SurveyRow {
    std::string file; // the dump file
    std::size_t block = 0;
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::uint16_t bcd_device = 0;
    std::string maker;
    std::string product;
    std::string interface_name;
    std::string exchange_level; // "" without a descriptor
    std::optional<std::uint32_t> max_message_length;
    std::string prediction; // likely, at_risk, unlikely, ""
    std::string takes;      // contact, contactless, contact+contactless, sam, sim, none
    bool takes_reviewed = false;
    std::string driver_outcome;    // opened, not_listed, refused, open_failed, not_run
    std::vector<SurveyCell> cells; // the four grid cells, in report::columns order
    bool contactless() const { return takes == "contactless" || takes == "contact+contactless"; }
    const SurveyCell* cell(std::string_view card_type, std::string_view interface) const;
};

struct SurveyReport {
    std::string libccid_version;
    std::vector<SurveyRow> rows; // by maker, product, file, block
};

// Fills each cell's observed verdict from observed (non-survey) results, matched on VID, PID,
// bcdDevice, card type and interface (the newest such cell).
void join_observed(SurveyReport& survey, const ReportModel& observed);

// HTML (with filters by maker, exchange level, contactless and verdict), CSV (UTF-8 with BOM)
// and JSON. Each says in plain words that this is not a hardware test.
std::string render_survey_html(const SurveyReport& report, Lang lang);
std::string render_survey_csv(const SurveyReport& report, Lang lang);
std::string render_survey_json(const SurveyReport& report);

} // namespace harness::report
