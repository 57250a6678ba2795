#include "pure/bytes.hpp"
#include "services/plan/plan.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace harness;
using Strings = std::vector<std::string>;

namespace {

const Bytes mynumber_atr =
    hex::parse("3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B").value();
const Bytes mynumber_noext_atr = hex::parse("3B C5 FF 81 31 FB 45 80 73 C6 01 00 00").value();
const Bytes juki_atr = hex::parse("3B E0 00 FF 81 31 FE 45 14").value();

plan::ReaderFacts reader_with(ccid::ExchangeLevel level, std::uint32_t max_message = 271) {
    plan::ReaderFacts r;
    r.name = "Lab Reader (r01) 00 00";
    ccid::Descriptor d;
    std::uint32_t bits = 0;
    switch (level) {
    case ccid::ExchangeLevel::Tpdu:
        bits = 0x00010000;
        break;
    case ccid::ExchangeLevel::ShortApdu:
        bits = 0x00020000;
        break;
    case ccid::ExchangeLevel::ExtendedApdu:
        bits = 0x00040000;
        break;
    default:
        break;
    }
    d.features = (d.features & ~0x00070000U) | bits;
    d.max_message_length = max_message;
    r.descriptor = d;
    return r;
}

plan::CardFacts card(const std::string& type, const Bytes& atr, bool test = true) {
    plan::CardFacts c;
    c.card_type = type;
    c.interface = "contact";
    c.atr = atr;
    c.emulated = test;
    c.test_card = test;
    return c;
}

} // namespace

BOOST_AUTO_TEST_CASE(exchange_level_and_block_from_the_descriptor) {
    const auto r = reader_with(ccid::ExchangeLevel::ShortApdu, 261);
    BOOST_TEST((plan::exchange_level(r) == ccid::ExchangeLevel::ShortApdu));
    BOOST_TEST(plan::max_block(r).value() == 251U);
    plan::ReaderFacts bare;
    BOOST_TEST(!plan::exchange_level(bare).has_value());
    BOOST_TEST(!plan::max_block(bare));
    bare.max_input = 512;
    BOOST_TEST(plan::max_block(bare).value() == 512U);
}

BOOST_AUTO_TEST_CASE(card_extended_length_from_the_atr_capabilities) {
    BOOST_TEST(plan::card_extended_length(mynumber_atr));
    BOOST_TEST(!plan::card_extended_length(mynumber_noext_atr));
    BOOST_TEST(!plan::card_extended_length(juki_atr));
    BOOST_TEST(!plan::card_extended_length(Bytes{}));
}

BOOST_AUTO_TEST_CASE(extended_apdu_needs_both_reader_and_card) {
    struct Row {
        ccid::ExchangeLevel level;
        Bytes atr;
        bool expected;
    };
    const std::vector<Row> rows{
        {ccid::ExchangeLevel::ExtendedApdu, mynumber_atr, true},
        {ccid::ExchangeLevel::Tpdu, mynumber_atr, true}, // T=1 card: the driver carries them
        {ccid::ExchangeLevel::ShortApdu, mynumber_atr, false},
        {ccid::ExchangeLevel::ExtendedApdu, mynumber_noext_atr, false},
        {ccid::ExchangeLevel::ExtendedApdu, juki_atr, false},
    };
    for (const auto& row : rows)
        BOOST_TEST(plan::extended_apdu(reader_with(row.level), card("mynumber", row.atr)) ==
                   row.expected);
    plan::ReaderFacts tlv_only;
    tlv_only.max_apdu_data_size = 65536;
    BOOST_TEST(plan::extended_apdu(tlv_only, card("mynumber", mynumber_atr)));
    tlv_only.max_apdu_data_size = 0;
    BOOST_TEST(!plan::extended_apdu(tlv_only, card("mynumber", mynumber_atr)));
}

BOOST_AUTO_TEST_CASE(capabilities_are_sorted_tokens) {
    const auto caps = plan::capabilities(reader_with(ccid::ExchangeLevel::ExtendedApdu),
                                         card("mynumber", mynumber_atr), {"sign", "auth"});
    BOOST_TEST(caps == (Strings{"card:mynumber", "contact", "emulated", "extended_apdu", "le_256",
                                "pin:auth", "pin:sign", "test_card"}),
               boost::test_tools::per_element());
    auto citizen = card("juki", juki_atr, false);
    citizen.interface = "contactless";
    const auto caps2 = plan::capabilities(reader_with(ccid::ExchangeLevel::ShortApdu), citizen, {});
    BOOST_TEST(caps2 == (Strings{"card:juki", "contactless", "le_256"}),
               boost::test_tools::per_element());
    // A short-APDU reader with 261-byte messages cannot carry a 258-byte response: no le_256.
    const auto caps3 =
        plan::capabilities(reader_with(ccid::ExchangeLevel::ShortApdu, 261), citizen, {});
    BOOST_TEST(caps3 == (Strings{"card:juki", "contactless"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(max_short_le_follows_the_reported_limits) {
    // Short-APDU level: what one message carries, less the 10-byte header and SW1 SW2.
    BOOST_TEST(plan::max_short_le(reader_with(ccid::ExchangeLevel::ShortApdu, 261)) == 249U);
    BOOST_TEST(plan::max_short_le(reader_with(ccid::ExchangeLevel::ShortApdu, 271)) == 256U);
    // TPDU (the driver splits into blocks) and extended level (chaining) are not limited.
    BOOST_TEST(plan::max_short_le(reader_with(ccid::ExchangeLevel::Tpdu, 100)) == 256U);
    BOOST_TEST(plan::max_short_le(reader_with(ccid::ExchangeLevel::ExtendedApdu, 100)) == 256U);
    // Unknown level: PC/SC's SCARD_ATTR_MAXINPUT, else nothing limits.
    plan::ReaderFacts pcsc_only;
    BOOST_TEST(plan::max_short_le(pcsc_only) == 256U);
    pcsc_only.max_input = 200;
    BOOST_TEST(plan::max_short_le(pcsc_only) == 198U);
    BOOST_TEST(plan::is_capability_requirement("le_256"));
    BOOST_TEST(plan::is_capability_requirement("extended_apdu"));
    BOOST_TEST(!plan::is_capability_requirement("pin:sign"));
}

BOOST_AUTO_TEST_CASE(the_matrix_gives_every_reader_both_cards_on_both_interfaces) {
    const auto plain = plan::matrix_cells(std::nullopt, "contact");
    BOOST_REQUIRE_EQUAL(plain.size(), 4U);
    BOOST_CHECK(plain[0] == (plan::MatrixCell{"mynumber", "contact", "mynumber", "contact"}));
    BOOST_CHECK(plain[1] ==
                (plan::MatrixCell{"mynumber", "contactless", "mynumber-contactless", "type_b"}));
    BOOST_CHECK(plain[2] == (plan::MatrixCell{"juki", "contact", "juki", "contact"}));
    BOOST_CHECK(plain[3] ==
                (plan::MatrixCell{"juki", "contactless", "juki-contactless", "type_b"}));
    // The slot's own card stands for its cell and comes first (no swap before it).
    const auto slow = plan::matrix_cells(std::string("mynumber-slow"), "contact");
    BOOST_REQUIRE_EQUAL(slow.size(), 4U);
    BOOST_CHECK(slow[0] == (plan::MatrixCell{"mynumber", "contact", "mynumber-slow", "contact"}));
    BOOST_TEST(slow[1].profile == "mynumber-contactless");
    const auto juki_cl = plan::matrix_cells(std::string("juki-contactless"), "type_b");
    BOOST_CHECK(juki_cl[0] ==
                (plan::MatrixCell{"juki", "contactless", "juki-contactless", "type_b"}));
    BOOST_TEST(juki_cl.size() == 4U);
    // A card of another kind (the transport test card) stands for no cell.
    const auto transport = plan::matrix_cells(std::string("transport"), "contact");
    BOOST_CHECK(transport == plain);
}

BOOST_AUTO_TEST_CASE(missing_lists_unmet_requirements_once) {
    const Strings caps{"contact", "pin:auth"};
    BOOST_TEST(plan::missing({"pin:auth", "extended_apdu", "extended_apdu", "test_card"}, caps) ==
                   (Strings{"extended_apdu", "test_card"}),
               boost::test_tools::per_element());
    BOOST_TEST(plan::missing({}, caps).empty());
}

BOOST_AUTO_TEST_CASE(suites_by_card_type) {
    const Strings all{"identify", "jpki-mynumber", "juki", "pin-behaviour", "transport"};
    struct Row {
        std::string type;
        bool test;
        Strings expected;
    };
    const std::vector<Row> rows{
        {"mynumber", true, {"identify", "jpki-mynumber", "pin-behaviour"}},
        {"mynumber", false, {"identify", "jpki-mynumber"}},
        {"juki", false, {"identify", "juki"}},
        {"juki", true, {"identify", "juki", "pin-behaviour"}},
        {"transport", true, {"identify", "transport"}},
        {"iso7816_unknown", false, {"identify"}},
    };
    for (const auto& row : rows)
        BOOST_TEST(plan::choose_suites(card(row.type, {}, row.test), {}, all) == row.expected,
                   boost::test_tools::per_element());
    // Requested suites run as asked, deduplicated, limited to those that exist.
    BOOST_TEST(plan::choose_suites(card("juki", {}), {"transport", "nope", "transport"}, all) ==
                   (Strings{"transport"}),
               boost::test_tools::per_element());
    // Without a list of available suites everything chosen is returned.
    BOOST_TEST(plan::choose_suites(card("juki", {}, false), {}, {}) ==
                   (Strings{"identify", "juki"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lab_profiles_map_to_card_types) {
    BOOST_TEST(plan::card_type_of_profile("mynumber") == "mynumber");
    BOOST_TEST(plan::card_type_of_profile("mynumber-slow") == "mynumber");
    BOOST_TEST(plan::card_type_of_profile("juki-contactless") == "juki");
    BOOST_TEST(plan::card_type_of_profile("transport") == "transport");
    BOOST_TEST(plan::card_type_of_profile("jukibox") == "jukibox");
    BOOST_TEST(plan::card_interface_of("type_b") == "contactless");
    BOOST_TEST(plan::card_interface_of("contact") == "contact");
}
