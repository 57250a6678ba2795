// The session service without the CLI: the trust, capability and card-type decisions as values,
// and whole sessions run over emulated cards behind emulated lab readers (in process), judged by
// the verdict rules from the records the runner produced.
#include "app/session.hpp"
#include "unit/services/suite/lab_fixture.hpp"

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <vector>

using namespace harness;
using suite::CardTrust;
using suite_test::LabCard;

namespace {

model::CardIdentity identity(model::CardType type, const std::string& id = "id-1") {
    model::CardIdentity out;
    out.type = type;
    out.card_id = id;
    out.card_id_strength = model::CardIdStrength::Strong;
    return out;
}

const std::map<std::string, suite::LoadedSuite>& shipped() {
    static const auto all = [] {
        std::map<std::string, suite::LoadedSuite> m;
        for (const char* id : {"identify", "jpki-mynumber", "juki", "transport", "pin-behaviour"})
            m.emplace(id, suite::load_shipped_suite(id));
        return m;
    }();
    return all;
}

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

app::SessionRequest request_for(const std::string& model_id, std::optional<app::SlotFacts> slot) {
    app::SessionRequest r;
    r.reader = facts_of(model_id);
    r.slot = std::move(slot);
    r.key.bytes = Bytes(32, 0x11);
    if (r.slot) // the lab says the same after identification (no swap in between)
        r.slot_after_identify = [at = r.slot->at_connect] { return std::optional(at); };
    r.suites = &shipped();
    r.test_card_pins = [](const std::string& card_type) {
        suite::PinSource pins;
        pins.set(suite::PinName::Auth, "1234");
        pins.set(suite::PinName::Text, "1234");
        pins.set(suite::PinName::Juki, "1234");
        pins.set(suite::PinName::Sign, card_type == "juki" ? "JUKI2026" : "CARD2026");
        return pins;
    };
    return r;
}

} // namespace

app::SlotFacts slot(const char* iface, std::optional<std::string> card, bool citizen,
                    std::uint64_t generation = 1) {
    return app::SlotFacts{iface, suite::LabSlotFacts{std::move(card), citizen, generation}};
}

BOOST_AUTO_TEST_CASE(trust_is_decided_from_the_slot_and_the_declared_ids) {
    const auto mynumber = identity(model::CardType::MyNumber, "abc");
    const auto test_slot = slot("contact", "mynumber", false);
    const auto citizen_slot = slot("contact", "mynumber", true);
    const auto empty_slot = slot("contact", std::nullopt, false);
    BOOST_TEST(
        (app::trust_of(mynumber, test_slot, test_slot.at_connect, {}) == CardTrust::EmulatedTest));
    BOOST_TEST((app::trust_of(mynumber, citizen_slot, citizen_slot.at_connect, {}) ==
                CardTrust::Physical));
    BOOST_TEST((app::trust_of(mynumber, std::nullopt, std::nullopt, {}) == CardTrust::Physical));
    BOOST_TEST(
        (app::trust_of(mynumber, std::nullopt, std::nullopt, {"abc"}) == CardTrust::DeclaredTest));
    BOOST_TEST(
        (app::trust_of(mynumber, std::nullopt, std::nullopt, {"abd"}) == CardTrust::Physical));
    BOOST_TEST(
        (app::trust_of(mynumber, empty_slot, empty_slot.at_connect, {}) == CardTrust::Physical));
    // Fails closed: a card swapped between connect and identification (another generation),
    // or a lab that could not be asked again, is never an emulated test card.
    BOOST_TEST((app::trust_of(mynumber, test_slot, slot("contact", "mynumber", false, 2).at_connect,
                              {}) == CardTrust::Physical));
    BOOST_TEST((app::trust_of(mynumber, test_slot, std::nullopt, {}) == CardTrust::Physical));
    // A card without an id is never a declared test card, whatever was declared.
    BOOST_TEST((app::trust_of(identity(model::CardType::MyNumber, ""), std::nullopt, std::nullopt,
                              {""}) == CardTrust::Physical));
    // A weak id (any Juki card shares its ATR-derived id) is never a declared test card.
    auto weak = identity(model::CardType::Juki, "atr-1");
    weak.card_id_strength = model::CardIdStrength::Weak;
    BOOST_TEST((app::trust_of(weak, std::nullopt, std::nullopt, {"atr-1"}) == CardTrust::Physical));
}

BOOST_AUTO_TEST_CASE(card_type_comes_from_identification_or_the_transport_profile) {
    const auto unknown = identity(model::CardType::Iso7816Unknown);
    BOOST_TEST(app::card_type_of(identity(model::CardType::Juki), std::nullopt, false) == "juki");
    BOOST_TEST(app::card_type_of(unknown, std::nullopt, false) == "iso7816_unknown");
    BOOST_TEST(app::card_type_of(unknown, std::nullopt, true) == "transport");
    BOOST_TEST(app::card_type_of(unknown, slot("contact", "transport", false), false) ==
               "transport");
    // Only an unidentified card can be a transport card by its AID.
    BOOST_TEST(app::card_type_of(identity(model::CardType::MyNumber), std::nullopt, true) ==
               "mynumber");
}

BOOST_AUTO_TEST_CASE(capabilities_follow_reader_card_pins_and_protocol) {
    plan::CardFacts card;
    card.card_type = "mynumber";
    card.interface = "contact";
    card.atr = hex::parse("3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B").value();
    card.emulated = true;
    card.test_card = true;
    suite::PinSource pins;
    pins.set(suite::PinName::Auth, "1234");
    const auto caps = app::capabilities_of(facts_of("lab-ext-dual"), card, pins, io::Protocol::T1);
    for (const char* token :
         {"contact", "t1", "card:mynumber", "pin:auth", "extended_apdu", "le_256"})
        BOOST_TEST(caps.count(token) == 1U, token);
    BOOST_TEST(caps.count("pin:sign") == 0U);
    BOOST_TEST(caps.count("t0") == 0U);
    const auto short_caps =
        app::capabilities_of(facts_of("lab-short-261"), card, {}, io::Protocol::T0);
    BOOST_TEST(short_caps.count("extended_apdu") == 0U);
    BOOST_TEST(short_caps.count("le_256") == 0U); // 261-byte messages carry no 258-byte answer
    BOOST_TEST(short_caps.count("t0") == 1U);
}

BOOST_AUTO_TEST_CASE(an_emulated_test_card_runs_its_suites_with_the_lab_pins_and_passes) {
    LabCard lab("mynumber", false, "lab-ext-dual");
    auto request = request_for("lab-ext-dual", slot("contact", "mynumber", false));
    const auto r = app::run_connected(*lab.tap, request);
    BOOST_TEST((r.trust == CardTrust::EmulatedTest));
    BOOST_TEST(r.session.card.card_type == "mynumber");
    BOOST_TEST(r.session.card.test_card);
    BOOST_TEST(
        (r.suites_run == std::vector<std::string>{"identify", "jpki-mynumber", "pin-behaviour"}));
    BOOST_TEST((r.session.status == model::RunStatus::Complete));
    auto outcome = r.outcome;
    outcome.session = &r.session;
    const auto j = plan::judge(outcome);
    BOOST_TEST((j.verdict == model::Compatibility::Compatible), j.diagnosis_en);
}

BOOST_AUTO_TEST_CASE(a_lab_citizen_card_is_physical_and_gets_no_pin_without_a_supplied_one) {
    LabCard lab("mynumber", true, "lab-ext-dual");
    const int auth_before = lab.tries("jpki/0018");
    auto request = request_for("lab-ext-dual", slot("contact", "mynumber", true));
    const auto r = app::run_connected(*lab.tap, request);
    BOOST_TEST((r.trust == CardTrust::Physical));
    BOOST_TEST(!r.session.card.test_card);
    // No pin-behaviour suite on a citizen card, no PIN sent, no try spent.
    BOOST_TEST((r.suites_run == std::vector<std::string>{"identify", "jpki-mynumber"}));
    BOOST_TEST(lab.tap->pin_commands().empty());
    BOOST_TEST(lab.tries("jpki/0018") == auth_before);
}

BOOST_AUTO_TEST_CASE(a_juki_card_on_a_short_apdu_reader_is_typed_and_judged) {
    LabCard lab("juki", false, "lab-short-261");
    auto request = request_for("lab-short-261", slot("contact", "juki", false));
    request.requested = {"identify", "juki"};
    const auto r = app::run_connected(*lab.tap, request);
    BOOST_TEST(r.session.card.card_type == "juki");
    BOOST_TEST((r.suites_run == std::vector<std::string>{"identify", "juki"}));
    auto outcome = r.outcome;
    outcome.session = &r.session;
    const auto j = plan::judge(outcome);
    // Certificates are read in chunks the 261-byte reader carries (as clients do), the 256-byte
    // read is skipped (the reader reports it cannot), and the Juki card's 130-byte signature
    // fits: the Juki card works on this reader.
    BOOST_TEST((j.verdict == model::Compatibility::Compatible), j.diagnosis_en);
}

BOOST_AUTO_TEST_CASE(a_my_number_card_on_a_short_apdu_reader_fails_on_its_signature) {
    LabCard lab("mynumber", false, "lab-short-261");
    auto request = request_for("lab-short-261", slot("contact", "mynumber", false));
    request.requested = {"identify", "jpki-mynumber"};
    const auto r = app::run_connected(*lab.tap, request);
    auto outcome = r.outcome;
    outcome.session = &r.session;
    const auto j = plan::judge(outcome);
    // The signature's size is the card's: a 258-byte RSA-2048 answer cannot come back.
    BOOST_TEST((j.verdict == model::Compatibility::Incompatible), j.diagnosis_en);
    BOOST_TEST(j.causes.front().code == "message_too_long");
    BOOST_TEST(j.diagnosis_en.find("258-byte signature response") != std::string::npos,
               j.diagnosis_en);
    // The certificate reads passed (chunks sized to the reader): only the signatures failed.
    for (const auto& s : r.session.suites)
        for (const auto& st : s.steps)
            if (st.step_id == "jpki.cert.auth.read" || st.step_id == "jpki.cert.auth_ca.read")
                BOOST_TEST((st.verdict == model::StepVerdict::Pass), st.step_id);
}
