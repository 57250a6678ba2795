// The PIN guard on the real path: the lab's citizen cards behave as physical cards to it.
#include "unit/services/suite/lab_fixture.hpp"

using namespace harness;
using model::StepVerdict;
using suite::PinName;
using suite_test::dump;
using suite_test::LabCard;
using suite_test::step;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const std::string verify_auth = "v1,p,Verify auth,認証暗証番号,verify_pin,pin=auth,,,,continue,\n";

} // namespace

BOOST_AUTO_TEST_CASE(a_citizen_card_is_a_physical_card_to_the_guard) {
    LabCard lab("mynumber", true);
    BOOST_TEST(!lab.card->is_test_card());
    BOOST_TEST((lab.ctx.trust == suite::CardTrust::Physical));
    BOOST_TEST(lab.ctx.effective_capabilities().count("test_card") == 0u);
}

BOOST_AUTO_TEST_CASE(the_correct_pin_is_sent_after_a_counter_query) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    const auto r = lab.run(verify_auth);
    BOOST_TEST_MESSAGE(dump(r));
    const auto& v = step(r, "v1");
    BOOST_TEST(v.verdict == StepVerdict::Pass);
    // select AP, select EF, the guard's case-1 query, then the VERIFY.
    BOOST_TEST_REQUIRE(v.exchanges.size() == 4u);
    BOOST_TEST(v.exchanges[2].command == "00 20 00 80");
    BOOST_TEST(contains(v.exchanges[2].note, "retry counter query"));
    BOOST_TEST(contains(v.exchanges[3].command, "<redacted pin len=4>"));
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
    BOOST_TEST(lab.tries("jpki/0018") == 3);
}

BOOST_AUTO_TEST_CASE(a_wrong_pin_is_never_sent_to_a_citizen_card) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    // value=wrong implies test_card: the plan skips it on a citizen card.
    const auto r = lab.run("w1,p,Wrong,誤り,verify_pin,pin=auth;value=wrong,63Cx,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "w1").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(r, "w1").reason_en, "test_card"));
    // Raw commands cannot bypass the guard (the loader refuses raw PIN data in suites too): the
    // guard itself refuses other bytes, by current EF or by short EF id, and CHANGE REFERENCE DATA.
    suite::PinGuard guard(*lab.tap, lab.ctx.pins, {suite::CardTrust::Physical, "mynumber", 2},
                          lab.ctx.guard_state);
    std::vector<suite::WireExchange> seen;
    guard.set_observer([&](const suite::WireExchange& w) { seen.push_back(w); });
    guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                         0x00, 0x00, 0x01});
    guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    BOOST_TEST(guard.selection().app == "jpki");
    const std::vector<Bytes> refused = {
        {0x00, 0x20, 0x00, 0x80, 0x04, 0x39, 0x39, 0x39, 0x39},
        {0x00, 0x20, 0x00, 0x98, 0x04, 0x30, 0x30, 0x30, 0x30},
        {0x00, 0x20, 0x00, 0x80, 0x05, 0x31, 0x32, 0x33, 0x34, 0x35},
        {0x00, 0x24, 0x00, 0x80, 0x08, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38},
        {0x00, 0x20, 0x00, 0x00, 0x04, 0x31, 0x32, 0x33, 0x34}, // no specific reference
        {0x01, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}, // logical channel 1
        {0x10, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32},             // command chaining
        {0x00, 0x2C, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}, // RESET RETRY COUNTER
        {0x00, 0xC2, 0x00, 0x00, 0x04, 0x31, 0x32, 0x33, 0x34}, // ENVELOPE
        {0xA0, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}, // GSM class VERIFY
    };
    for (const auto& command : refused) {
        try {
            guard.transmit(command);
            BOOST_ERROR("sent: " << hex::format(command));
        } catch (const suite::PinRefused& e) {
            BOOST_TEST(contains(e.reason_en(), "refused by the PIN guard"), e.reason_en());
            BOOST_TEST(contains(e.reason_en(), "no further attempts were made"));
            BOOST_TEST(contains(e.reason_ja(), "これ以上の試行は行っていません"));
        }
        BOOST_TEST(!seen.back().sent);
        BOOST_TEST(contains(seen.back().note, "not sent"));
    }
    BOOST_TEST(lab.tap->pin_commands().empty());
    BOOST_TEST(lab.tries("jpki/0018") == 3);
    // A SELECT on another logical channel does not move the basic channel's tracked EF.
    guard.transmit(Bytes{0x01, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x1B});
    BOOST_TEST(guard.selection().ef.value_or(0) == 0x0018);
    // On an emulated test card the same guard lets test PINs through.
    suite::PinGuard open(*lab.tap, lab.ctx.pins, {suite::CardTrust::EmulatedTest, "mynumber", 2},
                         lab.ctx.guard_state);
    open.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                        0x00, 0x00, 0x01});
    open.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    const Bytes answer = open.transmit(refused[0]);
    BOOST_TEST(hex::format(answer) == "63 C2");
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_correct_pin_with_too_few_tries_left_is_refused_unsent) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    lab.set_tries("jpki/0018", 1);
    const auto r = lab.run(verify_auth);
    BOOST_TEST_MESSAGE(dump(r));
    const auto& v = step(r, "v1");
    BOOST_TEST(v.verdict == StepVerdict::Skip);
    BOOST_TEST(contains(v.reason_en, "1 tries left"));
    BOOST_TEST(contains(v.reason_en, "needs at least 2"));
    BOOST_TEST(contains(v.reason_en, "no further attempts were made"));
    BOOST_TEST(contains(v.measurements_json, "\"tries_left\":1"));
    BOOST_TEST(lab.tap->pin_commands().empty());
    BOOST_TEST(lab.tries("jpki/0018") == 1);
}

BOOST_AUTO_TEST_CASE(the_minimum_is_configurable_but_never_below_two) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    lab.ctx.min_tries_left = 0;
    lab.set_tries("jpki/0018", 1);
    BOOST_TEST(step(lab.run(verify_auth), "v1").verdict == StepVerdict::Skip);
    lab.ctx.min_tries_left = 4;
    lab.set_tries("jpki/0018", 3);
    BOOST_TEST(step(lab.run(verify_auth), "v1").verdict == StepVerdict::Skip);
    BOOST_TEST(lab.tap->pin_commands().empty());
}

BOOST_AUTO_TEST_CASE(after_one_failure_no_second_attempt_is_made) {
    LabCard lab("mynumber", true);
    lab.ctx.pins.set(PinName::Auth, "9876"); // the user typed a wrong PIN
    const auto r = lab.run(verify_auth + "v2,p,Again,再試行,verify_pin,pin=auth,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    const auto& v1 = step(r, "v1");
    BOOST_TEST(v1.verdict == StepVerdict::Fail);
    BOOST_TEST(contains(v1.reason_en, "2 tries left"));
    BOOST_TEST(contains(v1.reason_en, "no further attempts were made"));
    BOOST_TEST(contains(v1.reason_ja, "これ以上の試行は行っていません"));
    const auto& v2 = step(r, "v2");
    BOOST_TEST(v2.verdict == StepVerdict::Skip);
    BOOST_TEST(contains(v2.reason_en, "an earlier attempt on the auth PIN failed"));
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
    BOOST_TEST(lab.tries("jpki/0018") == 2);
    // The memory of the failure outlives the suite (the next suite of the session).
    const auto again = lab.run(verify_auth);
    BOOST_TEST(step(again, "v1").verdict == StepVerdict::Skip);
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
}

BOOST_AUTO_TEST_CASE(unsupplied_or_malformed_pins_are_refused_unsent) {
    LabCard lab("mynumber", true);
    suite::PinGuard guard(*lab.tap, lab.ctx.pins, {suite::CardTrust::Physical, "mynumber", 2},
                          lab.ctx.guard_state);
    guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                         0x00, 0x00, 0x01});
    guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    try {
        guard.transmit(Bytes{0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34});
        BOOST_ERROR("an unsupplied PIN was sent");
    } catch (const suite::PinRefused& e) {
        BOOST_TEST(contains(e.reason_en(), "was not supplied"));
        BOOST_TEST(contains(e.reason_en(), "3 tries left")); // read without spending a try
        BOOST_TEST(e.tries_left().value_or(-1) == 3);
        BOOST_TEST((e.pin() == PinName::Auth));
    }

    lab.ctx.pins.set(PinName::Auth, "12345");    // 5 digits: not an auth PIN
    lab.ctx.pins.set(PinName::Sign, "card2026"); // lower case: not a signing password
    const auto bad =
        lab.run(verify_auth + "v2,p,Sign,署名暗証番号,verify_pin,pin=sign,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(bad));
    BOOST_TEST(step(bad, "v1").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(bad, "v1").reason_en, "must be 4 digits"));
    BOOST_TEST(step(bad, "v2").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(bad, "v2").reason_en, "6-16 characters A-Z 0-9"));
    BOOST_TEST(lab.tap->pin_commands().empty());
    BOOST_TEST(lab.tries("jpki/0018") == 3);
    BOOST_TEST(lab.tries("jpki/001B") == 5);
}

BOOST_AUTO_TEST_CASE(the_juki_signing_password_has_its_own_format) {
    LabCard lab("juki", true);
    lab.supply_default_pins();
    const auto r = lab.run("j1,p,Sign,署名暗証番号,verify_pin,pin=sign,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "j1").verdict == StepVerdict::Pass);
    BOOST_TEST(!suite::pin_format_error(PinName::Sign, "juki", bytes_of("Juki1")));
    BOOST_TEST(suite::pin_format_error(PinName::Sign, "mynumber", bytes_of("Juki1")).has_value());
    BOOST_TEST(suite::pin_format_error(PinName::Sign, "juki", bytes_of("abc")).has_value());
    BOOST_TEST(!suite::pin_format_error(PinName::Text, "mynumber", bytes_of("0000")));
    BOOST_TEST(suite::pin_format_error(PinName::Juki, "juki", bytes_of("12a4")).has_value());
}

BOOST_AUTO_TEST_CASE(on_emulated_test_cards_wrong_pin_tests_run) {
    LabCard lab("mynumber");
    lab.supply_default_pins();
    const auto r = lab.run("t1,p,Tries,試行回数,pin_tries,pin=auth,63C3,,,continue,\n"
                           "t2,p,Wrong,誤り,verify_pin,pin=auth;value=wrong,63C2,,,continue,\n"
                           "t3,p,Good,正しい,verify_pin,pin=auth,9000,,,continue,\n"
                           "t4,p,Query,照会,pin_tries,pin=auth,63C3,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    for (const auto& id : {"t1", "t2", "t3", "t4"})
        BOOST_TEST(step(r, id).verdict == model::StepVerdict::Pass, id);
    BOOST_TEST(lab.tap->pin_commands().size() == 2u);
    BOOST_TEST(lab.tries("jpki/0018") == 3);
}

BOOST_AUTO_TEST_CASE(a_case_1_verify_is_always_allowed) {
    LabCard lab("mynumber", true);
    const auto r = lab.run("c1,p,Tries,試行回数,pin_tries,pin=sign,63C5,,,continue,\n"
                           "c2,p,Raw,生APDU,apdu,00 20 00 80,63Cx,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "c1").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "c2").verdict == StepVerdict::Pass);
}

BOOST_AUTO_TEST_CASE(pin_names_map_to_their_efs) {
    BOOST_TEST((suite::pin_of("jpki", 0x0018) == PinName::Auth));
    BOOST_TEST((suite::pin_of("jpki", 0x001B) == PinName::Sign));
    BOOST_TEST((suite::pin_of("text", 0x0011) == PinName::Text));
    BOOST_TEST((suite::pin_of("juki_ap", 0x001C) == PinName::Juki));
    BOOST_TEST(!suite::pin_of("text", 0x0018).has_value());
    BOOST_TEST(!suite::pin_of("visual", 0x0013).has_value());
    BOOST_TEST(suite::pin_location(PinName::Juki).second == 0x001C);
}
