#pragma once
// Small in-memory runs for the report and diff unit tests.
#include "model/run.hpp"

#include <string>

namespace report_test {

using namespace harness;

inline model::ReaderIdentity reader(const std::string& name, std::uint16_t pid) {
    model::ReaderIdentity r;
    r.pcsc_name = name + " 00 00";
    r.vid = 0x1234;
    r.pid = pid;
    r.bcd_device = 0x0102;
    r.manufacturer = "Maker";
    r.product = name;
    r.driver = "libccid 1.5.2";
    return r;
}

inline model::StepResult step(const std::string& id, model::StepVerdict v, std::int64_t us,
                              const std::string& action = "apdu") {
    model::StepResult s;
    s.step_id = id;
    s.group = "g";
    s.title_en = "Step " + id;
    s.title_ja = "手順 " + id;
    s.action = action;
    s.verdict = v;
    s.duration_us = us;
    if (v != model::StepVerdict::Pass) {
        s.reason_en = "failed " + id;
        s.reason_ja = id + " が失敗";
    }
    s.measurements_json = "{}";
    return s;
}

struct CellSpec {
    model::ReaderIdentity reader;
    std::string card_type;
    std::string interface;
    model::Compatibility verdict;
    std::vector<model::StepResult> steps;
};

inline model::Run run(const std::string& uuid, const std::string& started,
                      const std::vector<CellSpec>& cells) {
    model::Run r;
    r.uuid = uuid;
    r.started_at = started;
    r.ended_at = started;
    r.status = model::RunStatus::Complete;
    r.suites = {{"s", std::string(64, 'c')}};
    for (const auto& c : cells) {
        model::Session s;
        s.reader = c.reader;
        s.card.card_type = c.card_type;
        s.card.interface = c.interface;
        s.suites.push_back(model::SuiteResult{{"s", std::string(64, 'c')}, c.steps});
        r.sessions.push_back(s);
        r.verdicts.push_back(model::Verdict{
            c.reader.pcsc_name, "", c.card_type, c.interface, c.verdict,
            c.verdict == model::Compatibility::Compatible ? "" : "diagnosis " + c.reader.product,
            c.verdict == model::Compatibility::Compatible ? "" : "診断 " + c.reader.product});
    }
    return r;
}

} // namespace report_test
