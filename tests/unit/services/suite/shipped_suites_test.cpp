// The shipped suites (profiles/suites/) run on the emulated cards they are written for, behind a
// lab reader without quirks: every step passes, or is skipped for a capability the pair lacks.
#include "unit/services/suite/lab_fixture.hpp"

#include <set>

using namespace harness;
using model::StepVerdict;
using suite_test::dump;
using suite_test::LabCard;

namespace {

struct Outcome {
    std::size_t pass = 0, skip = 0, other = 0;
    std::set<std::string> skipped;
};

Outcome run_shipped(LabCard& lab, const std::string& suite_id) {
    const auto loaded = suite::load_shipped_suite(suite_id);
    const auto r = suite::run_suite(loaded, *lab.tap, lab.ctx);
    Outcome out;
    for (const auto& s : r.steps) {
        if (s.verdict == StepVerdict::Pass) {
            ++out.pass;
        } else if (s.verdict == StepVerdict::Skip) {
            ++out.skip;
            out.skipped.insert(s.step_id);
        } else {
            ++out.other;
        }
    }
    BOOST_TEST(r.steps.size() == loaded.suite.steps.size());
    BOOST_TEST(out.other == 0u, suite_id << " on " << lab.card->family() << ":\n" << dump(r));
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(identify_on_my_number_and_juki) {
    LabCard mynumber("mynumber");
    const auto m = run_shipped(mynumber, "identify");
    BOOST_TEST(m.skip == 0u);
    LabCard juki("juki");
    const auto j = run_shipped(juki, "identify");
    BOOST_TEST((j.skipped == std::set<std::string>{"identify.jpki.auth_cert.header"}));
    // never a VERIFY with data
    BOOST_TEST(mynumber.tap->pin_commands().empty());
    BOOST_TEST(juki.tap->pin_commands().empty());
}

BOOST_AUTO_TEST_CASE(jpki_mynumber_with_and_without_pins) {
    LabCard with_pins("mynumber");
    with_pins.supply_default_pins();
    const auto all = run_shipped(with_pins, "jpki-mynumber");
    BOOST_TEST(all.skip == 0u);

    LabCard no_pins("mynumber");
    const auto some = run_shipped(no_pins, "jpki-mynumber");
    BOOST_TEST(some.skipped.count("jpki.auth.sign") == 1u);
    BOOST_TEST(some.skipped.count("jpki.sign.cert.read") == 1u);
    BOOST_TEST(some.skipped.count("jpki.cert.auth.read") == 0u);
    BOOST_TEST(no_pins.tap->pin_commands().empty());

    LabCard noext("mynumber-noext");
    noext.supply_default_pins();
    const auto short_only = run_shipped(noext, "jpki-mynumber");
    BOOST_TEST(
        (short_only.skipped == std::set<std::string>{"jpki.ext.auth.read", "jpki.ext.auth.check"}));
}

BOOST_AUTO_TEST_CASE(juki_signing_only_rsa_1024_expired_is_info) {
    LabCard juki("juki");
    juki.supply_default_pins();
    const auto r = run_shipped(juki, "juki");
    BOOST_TEST((r.skipped == std::set<std::string>{"juki.ext.sign_ca.read"}));
}

BOOST_AUTO_TEST_CASE(transport_on_the_transport_card) {
    LabCard transport("transport");
    const auto r = run_shipped(transport, "transport");
    BOOST_TEST(r.pass >= 30u);
}

BOOST_AUTO_TEST_CASE(pin_behaviour_on_emulated_cards) {
    LabCard mynumber("mynumber");
    mynumber.supply_default_pins();
    const auto m = run_shipped(mynumber, "pin-behaviour");
    BOOST_TEST(m.skip == 0u);
    BOOST_TEST(mynumber.tries("text/0011") == 0); // blocked by the pin.block group

    LabCard juki("juki");
    juki.supply_default_pins();
    const auto j = run_shipped(juki, "pin-behaviour");
    BOOST_TEST(j.skipped.count("pin.auth.restore") == 1u);
    BOOST_TEST(j.skipped.count("pin.sign.wrong") == 0u);
}
