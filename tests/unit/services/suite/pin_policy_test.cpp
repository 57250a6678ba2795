// The one PIN policy: one classifier for the loader, the guard and the redactor; the trust a
// session gives its card, decided from facts read for that session.
#include "services/suite/actions.hpp"
#include "services/suite/pin_policy.hpp"

#include <boost/test/unit_test.hpp>
#include <vector>

using namespace harness;
using namespace harness::suite;

namespace {

PinCommand of(const Bytes& command) {
    return classify_pin_command(command);
}

HexTemplate template_of(const std::string& text) {
    std::vector<ArgError> errors;
    const auto args = parse_args("select_aid", "aid=" + text, nullptr, errors);
    BOOST_TEST_REQUIRE(errors.empty());
    return std::get<SelectAidArgs>(*args).aid;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_class_and_both_ins_forms_are_pin_commands) {
    const Bytes pin{0x04, 0x31, 0x32, 0x33, 0x34};
    for (const int cla : {0x00, 0x01, 0x03, 0x0C, 0x10, 0x40, 0x6F, 0x80, 0x84, 0xA0, 0xFF}) {
        for (const int ins : {0x20, 0x21, 0x24, 0x25, 0x26, 0x28, 0x2C, 0x2D}) {
            Bytes c{static_cast<std::uint8_t>(cla), static_cast<std::uint8_t>(ins), 0x00, 0x80};
            c.insert(c.end(), pin.begin(), pin.end());
            const PinCommand p = of(c);
            BOOST_TEST(p.sensitive(), hex::format(c));
            BOOST_TEST(p.carries_data);
            BOOST_TEST(p.plain == (cla == 0x00));
        }
    }
    BOOST_TEST((of(Bytes{0xA0, 0x20, 0x00, 0x01, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}).kind ==
                PinCommandKind::Verify)); // GSM 11.11 VERIFY CHV
    BOOST_TEST((of(Bytes{0x00, 0x2C, 0x00, 0x80, 0x02, 0x31, 0x32}).kind ==
                PinCommandKind::ResetRetryCounter));
    BOOST_TEST((of(Bytes{0x00, 0x26, 0x00, 0x80, 0x02, 0x31, 0x32}).kind ==
                PinCommandKind::VerificationRequirement));
    BOOST_TEST((of(Bytes{0x00, 0x25, 0x00, 0x80, 0x02, 0x31, 0x32}).kind ==
                PinCommandKind::ChangeReference));
}

BOOST_AUTO_TEST_CASE(envelope_is_sensitive_with_or_without_data) {
    BOOST_TEST(of(Bytes{0x00, 0xC2, 0x00, 0x00, 0x04, 1, 2, 3, 4}).sensitive());
    BOOST_TEST(of(Bytes{0x00, 0xC3, 0x00, 0x00, 0x03, 0x80, 0x01, 0x31}).sensitive());
    BOOST_TEST(of(Bytes{0x00, 0xC2, 0x00, 0x00}).sensitive());
    BOOST_TEST(of(Bytes{0xFF, 0xC2, 0x01, 0x01, 0x02, 0x5F, 0x46}).sensitive()); // PC/SC part 3
}

BOOST_AUTO_TEST_CASE(counter_queries_and_other_commands_are_not_sensitive) {
    // The case-1 retry-counter query, also in its T=0 form (P3 00) and with Le only.
    for (const Bytes& c : std::vector<Bytes>{{0x00, 0x20, 0x00, 0x80},
                                             {0x00, 0x20, 0x00, 0x80, 0x00},
                                             {0x80, 0x20, 0x00, 0x00, 0x10}, // transport case 2
                                             {0x00, 0x20, 0x00, 0x80, 0x00, 0x00, 0x04}}) {
        const PinCommand p = of(c);
        BOOST_TEST(!p.sensitive(), hex::format(c));
        BOOST_TEST(p.counter_query(), hex::format(c));
    }
    for (const Bytes& c : std::vector<Bytes>{{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x20, 0x21},
                                             {0x00, 0xB0, 0x00, 0x00, 0x00},
                                             {0x80, 0x2A, 0x00, 0x80, 0x02, 0x20, 0x20},
                                             {0x00},
                                             {}})
        BOOST_TEST((of(c).kind == PinCommandKind::None), hex::format(c));
    // Bytes that do not parse after a PIN instruction may be a PIN all the same.
    BOOST_TEST(of(Bytes{0x00, 0x20, 0x00, 0x80, 0x31, 0x32, 0x33}).sensitive());
}

BOOST_AUTO_TEST_CASE(the_guard_form_is_exactly_00_20_00_80) {
    const PinCommand p = of(Bytes{0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34});
    BOOST_TEST(p.plain);
    BOOST_TEST(p.current_ef_reference);
    BOOST_TEST(
        !of(Bytes{0x00, 0x20, 0x00, 0x81, 0x04, 0x31, 0x32, 0x33, 0x34}).current_ef_reference);
    BOOST_TEST(
        !of(Bytes{0x00, 0x20, 0x00, 0x98, 0x04, 0x31, 0x32, 0x33, 0x34}).current_ef_reference);
    BOOST_TEST(
        !of(Bytes{0x00, 0x21, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}).current_ef_reference);
    BOOST_TEST(!of(Bytes{0x04, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}).plain);
}

BOOST_AUTO_TEST_CASE(templates_fail_closed) {
    BOOST_TEST(classify_pin_command(template_of("${x}")).sensitive());
    BOOST_TEST(
        (classify_pin_command(template_of("00 ${x} 00 80")).kind == PinCommandKind::Unknown));
    BOOST_TEST(classify_pin_command(template_of("00 20 00 80 ${x}")).sensitive());
    BOOST_TEST(classify_pin_command(template_of("00 21 00 80 04 ${x}")).sensitive());
    BOOST_TEST(!classify_pin_command(template_of("00 A4 04 0C 0A ${aid.jpki}")).sensitive());
    BOOST_TEST(!classify_pin_command(template_of("00 20 00 80")).sensitive());
}

BOOST_AUTO_TEST_CASE(sweeps_are_classified_by_case) {
    BOOST_TEST(!classify_sweep(0x80, 0x20, 2).sensitive()); // the transport card's case 2
    BOOST_TEST(classify_sweep(0x80, 0x20, 3).sensitive());
    BOOST_TEST(classify_sweep(0x00, 0x24, 4).sensitive());
    BOOST_TEST(!classify_sweep(0x80, 0x30, 3).sensitive());
    BOOST_TEST(classify_sweep(0x80, 0xC2, 1).sensitive());
}

BOOST_AUTO_TEST_CASE(the_loader_refuses_every_command_bearing_action_that_can_carry_a_pin) {
    const std::vector<std::pair<std::string, std::string>> refused{
        {"apdu", "00 20 00 80 04 30 30 30 30"},
        {"apdu", "00 21 00 80 04 30 30 30 30"},
        {"apdu", "A0 20 00 01 08 31 32 33 34 FF FF FF FF"},
        {"apdu", "84 20 00 80 04 30 30 30 30"},
        {"apdu", "00 C2 00 00 04 00 20 00 80"},
        {"apdu", "${x}"},
        {"repeat", "cmd=00 21 00 80 04 30 30 30 30;count=5"},
        {"repeat", "cmd=00 2C 00 80 02 31 32;count=1"},
        {"measure", "cmd=0C 20 00 80 04 30 30 30 30;count=5"},
        {"measure", "cmd=00 C3 00 00 02 80 00"},
        {"sweep", "case=3;from=4;to=4;ins=20"},
        {"sweep", "case=4;from=4;to=4;ins=24;cla=00"},
    };
    for (const auto& [action, args] : refused) {
        std::vector<ArgError> errors;
        const auto parsed = parse_args(action, args, nullptr, errors);
        BOOST_TEST(!parsed.has_value(), action << " " << args);
        BOOST_TEST(!errors.empty());
    }
    const std::vector<std::pair<std::string, std::string>> allowed{
        {"apdu", "00 20 00 80"},
        {"repeat", "cmd=00 20 00 80;count=5"},
        {"sweep", "case=2;from=1;to=4"},
        {"sweep", "case=3;from=1;to=4"},
    };
    for (const auto& [action, args] : allowed) {
        std::vector<ArgError> errors;
        BOOST_TEST(parse_args(action, args, nullptr, errors).has_value(), action << " " << args);
    }
}

// ---- Trust -----------------------------------------------------------------------------------

namespace {

TrustFacts lab_facts(std::optional<std::string> card, bool citizen, std::uint64_t generation) {
    TrustFacts f;
    f.lab_reader = true;
    f.lab_at_connect = LabSlotFacts{card, citizen, generation};
    f.lab_after_identify = f.lab_at_connect;
    f.card_id = "cert-000000000000000000000001";
    f.card_id_strength = model::CardIdStrength::Strong;
    return f;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_lab_test_card_is_trusted_only_when_both_fresh_reads_agree) {
    BOOST_TEST((decide_trust(lab_facts("mynumber", false, 3)).trust == CardTrust::EmulatedTest));
    // The citizen card inserted mid-run: the fresh read says citizen.
    BOOST_TEST((decide_trust(lab_facts("mynumber", true, 4)).trust == CardTrust::Physical));
    // Swapped between connect and the second read (another insertion).
    TrustFacts swapped = lab_facts("mynumber", false, 3);
    swapped.lab_after_identify->generation = 4;
    BOOST_TEST((decide_trust(swapped).trust == CardTrust::Physical));
    swapped = lab_facts("mynumber", false, 3);
    swapped.lab_at_connect->citizen = true;
    BOOST_TEST((decide_trust(swapped).trust == CardTrust::Physical));
    // The lab's status could not be read: never a test card.
    TrustFacts unread = lab_facts("mynumber", false, 3);
    unread.lab_after_identify.reset();
    BOOST_TEST((decide_trust(unread).trust == CardTrust::Physical));
    BOOST_TEST(decide_trust(unread).why.find("could not be read") != std::string::npos);
    // Empty slot per the lab.
    BOOST_TEST((decide_trust(lab_facts(std::nullopt, false, 5)).trust == CardTrust::Physical));
}

BOOST_AUTO_TEST_CASE(a_declared_test_card_needs_a_strong_id) {
    TrustFacts f;
    f.card_id = "cert-00000000000000000000000a";
    f.card_id_strength = model::CardIdStrength::Strong;
    BOOST_TEST((decide_trust(f).trust == CardTrust::Physical)); // not declared
    f.declared_test_cards = {f.card_id};
    BOOST_TEST((decide_trust(f).trust == CardTrust::DeclaredTest));
    f.card_id = "atr-00000000000000000000000a";
    f.card_id_strength = model::CardIdStrength::Weak;
    f.declared_test_cards = {f.card_id};
    const TrustDecision weak = decide_trust(f);
    BOOST_TEST((weak.trust == CardTrust::Physical));
    BOOST_TEST(weak.why.find("not card-unique") != std::string::npos);
    // A citizen card of the lab can still be declared by its strong id (the user's decision).
    TrustFacts citizen = lab_facts("mynumber", true, 2);
    citizen.declared_test_cards = {citizen.card_id};
    BOOST_TEST((decide_trust(citizen).trust == CardTrust::DeclaredTest));
}
