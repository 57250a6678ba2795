// Privacy: every shipped suite on every emulated card (test and citizen variants, default PINs
// supplied): none of the persona's canary values nor any PIN appears in any exchange, reason,
// note or measurement of the results (issue 4 §4).
#include "services/emu/persona.hpp"
#include "unit/services/suite/lab_fixture.hpp"

using namespace harness;
using suite_test::LabCard;

namespace {

struct Hit {
    std::string where;
    std::string value;
};

void search(std::vector<Hit>& hits, const std::string& where, const std::string& text,
            const std::vector<std::string>& needles) {
    for (const auto& n : needles)
        if (!n.empty() && text.find(n) != std::string::npos)
            hits.push_back({where, n});
}

} // namespace

BOOST_AUTO_TEST_CASE(no_canary_or_pin_reaches_any_result_text) {
    const auto persona = emu::load_persona(test::source_dir() / "profiles/cards/persona.csv");
    std::vector<std::string> needles = emu::canary_values(persona);
    BOOST_TEST_REQUIRE(needles.size() >= 5u);
    // Hex forms (spaced, packed) too: a response printed as hex must not spell a canary.
    const auto plain = needles;
    for (const auto& v : plain) {
        needles.push_back(hex::format(bytes_of(v), hex::Style::Spaced));
        needles.push_back(hex::format(bytes_of(v), hex::Style::Packed));
    }
    // Short PINs (1234) would match unrelated data: they are searched in PIN commands only.
    std::vector<std::string> pin_needles;
    for (const auto& field : {"pin_auth", "pin_sign", "pin_text", "pin_juki_ap", "pin_juki_sign"}) {
        const std::string& v = persona.get(field);
        pin_needles.push_back(v);
        pin_needles.push_back(hex::format(bytes_of(v), hex::Style::Spaced));
        pin_needles.push_back(hex::format(bytes_of(v), hex::Style::Packed));
    }

    const auto suite_files = suite::shipped_suite_files();
    BOOST_TEST_REQUIRE(!suite_files.empty());
    std::vector<suite::LoadedSuite> suites;
    for (const auto& f : suite_files) {
        suite::CheckResult checked = suite::check_suite_file(f);
        if (checked.suite)
            suites.push_back(std::move(*checked.suite));
        else // the loader's tests own suite validity; say so loudly, run the others
            BOOST_TEST_MESSAGE("WARNING: " << f.string() << " does not load: "
                                           << checked.errors.front().to_string());
    }
    BOOST_TEST_REQUIRE(suites.size() >= 4u);

    std::vector<Hit> hits;
    std::size_t passed = 0, redacted_personal = 0, pin_commands = 0, runs = 0;
    for (const auto& profile : emu::profile_names()) {
        for (const bool citizen : {false, true}) {
            const bool contactless = profile.find("contactless") != std::string::npos;
            LabCard lab(profile, citizen, "lab-ext-dual",
                        contactless ? lab::Interface::TypeB : lab::Interface::Contact);
            lab.supply_default_pins();
            lab.ctx.variables["run.reader"] = bytes_of(lab.tap->reader_name());
            lab.ctx.variables["run.atr"] = lab.tap->atr();
            lab.ctx.variables["run.card_type"] = bytes_of(lab.ctx.card_type);
            lab.ctx.variables["run.interface"] = bytes_of(lab.ctx.interface);
            lab.ctx.wait_removed = [&](const std::string&) {
                lab.reader.remove();
                return true;
            };
            for (const auto& s : suites) {
                if (lab.ctx.status != model::RunStatus::Complete)
                    break; // the removal step ends the session
                const model::SuiteResult r = suite::run_suite(s, *lab.tap, lab.ctx);
                ++runs;
                const std::string tag =
                    profile + (citizen ? "/citizen" : "") + " " + s.suite.id + " ";
                for (const auto& step : r.steps) {
                    const std::string at = tag + step.step_id;
                    passed += step.verdict == model::StepVerdict::Pass ? 1 : 0;
                    if (step.verdict == model::StepVerdict::Fail ||
                        step.verdict == model::StepVerdict::Error)
                        BOOST_TEST_MESSAGE(at << " " << model::to_string(step.verdict) << ": "
                                              << step.reason_en);
                    search(hits, at + " reason_en", step.reason_en, needles);
                    search(hits, at + " reason_ja", step.reason_ja, needles);
                    search(hits, at + " measurements", step.measurements_json, needles);
                    for (const auto& e : step.exchanges) {
                        search(hits, at + " command", e.command, needles);
                        search(hits, at + " response", e.response, needles);
                        search(hits, at + " note", e.note, needles);
                        if (e.response.find("<redacted len=") != std::string::npos)
                            ++redacted_personal;
                        if (e.command.rfind("00 20", 0) == 0 || e.command.rfind("00 24", 0) == 0) {
                            ++pin_commands;
                            search(hits, at + " PIN command", e.command, pin_needles);
                        }
                    }
                }
            }
        }
    }
    for (const auto& h : hits)
        BOOST_ERROR("canary \"" << h.value << "\" in " << h.where);
    BOOST_TEST(hits.empty());
    // The search means something only if suites ran, personal EFs were read and PINs were sent.
    BOOST_TEST(runs >= suites.size() * 2);
    BOOST_TEST(passed > 100u);
    BOOST_TEST(redacted_personal > 0u);
    BOOST_TEST(pin_commands > 0u);
    BOOST_TEST_MESSAGE("suite runs " << runs << ", steps passed " << passed
                                     << ", personal responses redacted " << redacted_personal
                                     << ", PIN commands " << pin_commands);
}
