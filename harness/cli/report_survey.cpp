#include "cli/report_survey.hpp"

#include "cli/report_source.hpp"
#include "pure/error.hpp"
#include "services/store/store.hpp"
#include "services/survey/survey.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <tuple>

namespace harness::cli {

report::SurveyReport survey_report_from_db(const std::string& db, const std::string& libccid) {
    if (!std::filesystem::exists(db))
        throw UsageError(fmt::format("{}: no results database (run `cardharness survey` first, "
                                     "or give --db FILE)",
                                     db));
    std::vector<store::SurveyRecord> records;
    {
        const store::Store store(db);
        records = store.survey_records(libccid);
        if (records.empty()) {
            // Another driver version: the one surveyed last.
            auto all = store.survey_records();
            if (all.empty())
                throw UsageError(fmt::format("{}: no survey results (run `cardharness survey "
                                             "--ccid-dumps DIR --db {}` first)",
                                             db, db));
            const auto newest =
                std::max_element(all.begin(), all.end(), [](const auto& a, const auto& b) {
                    return a.surveyed_at < b.surveyed_at;
                });
            const std::string version = newest->libccid_version;
            std::erase_if(all, [&](const auto& r) { return r.libccid_version != version; });
            records = std::move(all);
        }
    }
    report::SurveyReport out;
    out.libccid_version = records.front().libccid_version;
    for (const auto& rec : records) {
        const auto r =
            survey::result_from_json(nlohmann::json::parse(rec.result_json),
                                     fmt::format("{}: {}#{}", db, rec.dump_file, rec.block));
        report::SurveyRow row;
        row.file = r.file;
        row.block = r.block;
        row.vid = r.identity.vendor_id;
        row.pid = r.identity.product_id;
        row.bcd_device = r.identity.bcd_device;
        row.maker = r.identity.manufacturer.value_or("");
        row.product = r.identity.product.value_or("");
        row.interface_name = r.interface.name.value_or("");
        if (r.descriptor) {
            row.exchange_level = ccid::to_string(r.descriptor->exchange_level());
            row.max_message_length = r.descriptor->max_message_length;
        }
        if (const auto p = r.prediction())
            row.prediction = ccid::to_string(*p);
        row.takes = survey::to_string(r.physical.socket);
        row.takes_reviewed = r.physical.reviewed;
        row.driver_outcome = survey::to_string(r.driver.outcome);
        for (const auto& col : report::columns)
            for (const auto& v : r.verdicts)
                if (v.cell.card_type == col.card_type && v.cell.interface == col.interface) {
                    report::SurveyCell c;
                    c.card_type = v.cell.card_type;
                    c.interface = v.cell.interface;
                    c.verdict = v.verdict;
                    c.cause = v.cause();
                    c.diagnosis_en = v.diagnosis_en;
                    c.diagnosis_ja = v.diagnosis_ja;
                    row.cells.push_back(std::move(c));
                }
        out.rows.push_back(std::move(row));
    }
    std::sort(out.rows.begin(), out.rows.end(), [](const auto& a, const auto& b) {
        return std::tie(a.maker, a.product, a.file, a.block) <
               std::tie(b.maker, b.product, b.file, b.block);
    });
    // Observed results beside the survey's: every non-survey run in the database.
    report::join_observed(out, report_from_db(db, report::Selection::Newest, {}));
    return out;
}

} // namespace harness::cli
