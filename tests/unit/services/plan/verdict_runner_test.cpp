// The verdict rules fed with typed records the real runner produced (issue 8 §3, issue 10 §2): the
// shipped suites run over emulated cards behind emulated lab readers with their quirks (in-process,
// virtual time), and the judgement reads the failure kinds, response sizes and missing
// capabilities the runner recorded, never a message text. A channel that loses pcscd mid-suite
// shows the environment path: the session is untested, whatever its steps say.
#include "services/plan/plan.hpp"
#include "services/plan/verdict.hpp"
#include "unit/services/suite/lab_fixture.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace harness;
using model::Compatibility;
using suite_test::LabCard;

namespace {

plan::ReaderFacts facts_of(const std::string& model_id) {
    const auto& m = suite_test::model(model_id);
    plan::ReaderFacts r;
    r.name = "Lab Reader (" + model_id + ") 00 00";
    r.model = m.id;
    r.descriptor = m.ccid_descriptor();
    if (m.contact)
        r.interfaces.emplace_back("contact");
    if (m.type_a)
        r.interfaces.emplace_back("type_a");
    if (m.type_b)
        r.interfaces.emplace_back("type_b");
    return r;
}

struct Judged {
    model::Session session;
    plan::Judgement judgement;
};

// Runs the shipped suites for the card over the lab reader as `run` does, and judges.
Judged run_and_judge(LabCard& lab, const std::string& model_id,
                     const std::vector<std::string>& suite_ids) {
    Judged out;
    plan::Outcome outcome;
    outcome.reader = facts_of(model_id);
    outcome.card.card_type = lab.ctx.card_type;
    outcome.card.interface = lab.ctx.interface;
    outcome.card.atr = lab.channel->atr();
    outcome.card.emulated = true;
    outcome.card.test_card = true;
    for (const auto& id : suite_ids) {
        const auto loaded = suite::load_shipped_suite(id);
        for (std::size_t i = 0; i < loaded.plan.size(); ++i)
            for (const auto& req : loaded.plan[i].requirements)
                if (req == "extended_apdu")
                    outcome.optional_steps.push_back(loaded.suite.steps[i].id);
        out.session.suites.push_back(suite::run_suite(loaded, *lab.tap, lab.ctx));
        if (lab.ctx.status != model::RunStatus::Complete)
            break;
    }
    out.session.status = lab.ctx.status;
    out.session.cause = lab.ctx.cause;
    out.session.failure = lab.ctx.failure;
    outcome.session = &out.session;
    out.judgement = plan::judge(outcome);
    return out;
}

bool has_cause(const plan::Judgement& j, const std::string& code) {
    for (const auto& c : j.causes)
        if (c.code == code)
            return true;
    return false;
}

std::string causes(const plan::Judgement& j) {
    std::string out;
    for (const auto& c : j.causes)
        out += c.code + " ";
    return out + "| " + j.diagnosis_en;
}

// Loses pcscd after `after` commands: every later transmit fails as SCardTransmit does then.
class DyingService : public io::CardChannel {
public:
    DyingService(io::CardChannel& inner, std::size_t after) : inner_(inner), left_(after) {}
    Bytes transmit(ByteView command) override {
        if (left_ == 0)
            throw io::TransportError(io::TransportFailure::ServiceGone, "SCardTransmit", 0x8010001D,
                                     "SCardTransmit: Service not available.");
        --left_;
        return inner_.transmit(command);
    }
    Bytes atr() const override { return inner_.atr(); }
    io::Protocol protocol() const override { return inner_.protocol(); }
    void reset(io::ResetKind kind) override { inner_.reset(kind); }
    std::string reader_name() const override { return inner_.reader_name(); }

private:
    io::CardChannel& inner_;
    std::size_t left_;
};

} // namespace

BOOST_AUTO_TEST_CASE(a_good_reader_is_compatible_from_real_records) {
    LabCard lab("mynumber", false, "lab-ext-dual");
    lab.supply_default_pins();
    const auto r = run_and_judge(lab, "lab-ext-dual", {"identify", "jpki-mynumber"});
    BOOST_TEST((r.judgement.verdict == Compatibility::Compatible), causes(r.judgement));
}

BOOST_AUTO_TEST_CASE(short_apdu_261_reader_fails_the_258_byte_answers_typed) {
    LabCard lab("mynumber", false, "lab-short-261");
    lab.supply_default_pins();
    const auto r = run_and_judge(lab, "lab-short-261", {"jpki-mynumber"});
    BOOST_TEST((r.judgement.verdict == Compatibility::Incompatible), causes(r.judgement));
    BOOST_TEST(has_cause(r.judgement, "message_too_long"), causes(r.judgement));
    BOOST_TEST(r.judgement.diagnosis_en.find("261-byte message limit") != std::string::npos);
    // The runner recorded the failure as a typed kind on the step and on the exchange.
    bool typed = false;
    for (const auto& s : r.session.suites)
        for (const auto& st : s.steps)
            if (st.verdict == model::StepVerdict::Fail &&
                model::is_transport(plan::failure_of(st))) {
                typed = true;
                BOOST_TEST((st.failure != model::FailureKind::None));
            }
    BOOST_TEST(typed);
}

BOOST_AUTO_TEST_CASE(no_wtx_reader_times_out_on_slow_signing_typed) {
    LabCard lab("mynumber-slow", false, "lab-no-wtx");
    lab.supply_default_pins();
    const auto r = run_and_judge(lab, "lab-no-wtx", {"jpki-mynumber"});
    BOOST_TEST((r.judgement.verdict == Compatibility::Incompatible), causes(r.judgement));
    BOOST_TEST(has_cause(r.judgement, "timeout_no_wtx"), causes(r.judgement));
}

BOOST_AUTO_TEST_CASE(skipped_pin_steps_come_from_the_typed_missing_capabilities) {
    LabCard lab("mynumber", false, "lab-ext-dual");
    const auto r = run_and_judge(lab, "lab-ext-dual", {"jpki-mynumber"});
    BOOST_TEST((r.judgement.verdict == Compatibility::Compatible), causes(r.judgement));
    BOOST_TEST(r.judgement.diagnosis_en.find("not tested without a supplied PIN: pin:auth") !=
                   std::string::npos,
               r.judgement.diagnosis_en);
}

BOOST_AUTO_TEST_CASE(pcscd_lost_mid_suite_is_untested_never_the_reader) {
    // Even on the 261-byte reader, whose own failures would make it incompatible, a pcscd lost in
    // the middle makes the session untested with the environment's cause.
    for (const std::size_t after : {std::size_t{3}, std::size_t{12}, std::size_t{40}}) {
        LabCard lab("mynumber", false, "lab-short-261");
        lab.supply_default_pins();
        DyingService dying(*lab.channel, after);
        lab.tap = std::make_unique<suite_test::Tap>(dying);
        const auto r = run_and_judge(lab, "lab-short-261", {"identify", "jpki-mynumber"});
        BOOST_TEST((r.session.failure == model::FailureKind::NoService), after);
        BOOST_TEST((r.judgement.verdict == Compatibility::Untested), causes(r.judgement));
        BOOST_REQUIRE(r.judgement.causes.size() == 1U);
        BOOST_TEST(r.judgement.causes.front().code == "pcscd_lost");
        // The aborting step carries the environment kind, typed, not in words.
        bool found = false;
        for (const auto& s : r.session.suites)
            for (const auto& st : s.steps)
                found = found || st.failure == model::FailureKind::NoService;
        BOOST_TEST(found);
    }
}
