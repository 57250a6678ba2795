// Contact or contactless, the one rule: the reader's word first, the ATR's shape only when the
// reader says nothing or says both.
#include "pure/card_interface.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using card_interface::Kind;

namespace {
const Bytes pseudo_shape{0x3B, 0x80, 0x80, 0x01, 0x01}; // the transport card / a pseudo-ATR
const Bytes contact_atr{0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB};
} // namespace

BOOST_AUTO_TEST_CASE(names_say_contact_contactless_both_or_nothing) {
    const auto acr39u = card_interface::from_name("ACS ACR39U ICC Reader 00 00", "name");
    BOOST_REQUIRE(acr39u.has_value());
    BOOST_TEST(acr39u->contact);
    BOOST_TEST(!acr39u->contactless);
    BOOST_TEST(acr39u->source == "name");
    const auto picc = card_interface::from_name("ACR1252 Dual Reader PICC", "usb_interface");
    BOOST_TEST(picc->contactless);
    BOOST_TEST(!picc->contact); // PICC is not the word ICC
    const auto both = card_interface::from_name("Reader ICC and PICC", "name");
    BOOST_TEST((both->contact && both->contactless));
    BOOST_TEST(!card_interface::from_name("Virtual PCD 00 00", "name").has_value());
    BOOST_TEST(!card_interface::from_name("CLEVER Reader", "name").has_value()); // whole words
}

BOOST_AUTO_TEST_CASE(the_reader_decides_before_the_atr_shape) {
    const auto acr39u = card_interface::from_name("ACS ACR39U ICC Reader 00 00", "name");
    const auto d = card_interface::decide({*acr39u}, pseudo_shape);
    BOOST_TEST((d.kind == Kind::Contact));
    BOOST_TEST(d.from == "name");
    BOOST_TEST(d.atr_disagrees);
    const auto agree = card_interface::decide({*acr39u}, contact_atr);
    BOOST_TEST((agree.kind == Kind::Contact));
    BOOST_TEST(!agree.atr_disagrees);
    // The first source that names one kind wins; a dual source is skipped.
    const card_interface::ReaderSays dual{true, true, "lab_model"};
    const card_interface::ReaderSays cl{false, true, "usb_interface"};
    const auto ordered = card_interface::decide({dual, cl, *acr39u}, contact_atr);
    BOOST_TEST((ordered.kind == Kind::Contactless));
    BOOST_TEST(ordered.from == "usb_interface");
}

BOOST_AUTO_TEST_CASE(the_atr_decides_only_when_the_reader_says_nothing) {
    const auto cl = card_interface::decide({}, pseudo_shape);
    BOOST_TEST((cl.kind == Kind::Contactless));
    BOOST_TEST(cl.from == "atr");
    const auto ct = card_interface::decide({{true, true, "name"}}, contact_atr);
    BOOST_TEST((ct.kind == Kind::Contact));
    BOOST_TEST(ct.from == "atr");
    const auto none = card_interface::decide({}, Bytes{});
    BOOST_TEST(!none.kind.has_value());
    BOOST_TEST(none.from.empty());
    // No ATR, but the reader says: decided, nothing to disagree with.
    const auto no_atr = card_interface::decide({{true, false, "name"}}, Bytes{});
    BOOST_TEST((no_atr.kind == Kind::Contact));
    BOOST_TEST(!no_atr.atr_disagrees);
}
