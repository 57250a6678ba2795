#include "services/identify/identify.hpp"
#include "support/id_card.hpp"
#include "support/recording_channel.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>

using namespace harness;
using model::CardIdStrength;
using model::CardInterface;
using model::CardType;
using test::IdCard;
using test::IdCardKind;
using test::IdCardSpec;
using test::make_spec;
using test::RecordingChannel;

namespace harness::model {
std::ostream& operator<<(std::ostream& os, CardType type) {
    return os << to_string(type);
}
std::ostream& operator<<(std::ostream& os, CardIdStrength s) {
    return os << to_string(s);
}
} // namespace harness::model
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::optional<harness::model::CardType>)

namespace {

const io::StationKey salt_a{Bytes(32, 0xA5)}; // two stations' keys
const io::StationKey salt_b{Bytes(32, 0x5A)};

struct Run {
    model::CardIdentity id;
    std::vector<Bytes> sent;
};

Run run(IdCardSpec spec, const io::StationKey& salt = salt_a,
        std::optional<std::size_t> remove_after = std::nullopt, bool plain_error = false) {
    IdCard card(std::move(spec));
    RecordingChannel channel(card);
    if (remove_after)
        plain_error ? channel.fail_after(*remove_after) : channel.remove_card_after(*remove_after);
    Run r{identify::identify(channel, salt), channel.sent()};
    return r;
}

bool has_code(const Findings& findings, const std::string& code) {
    return std::ranges::any_of(findings, [&](const Finding& f) { return f.code == code; });
}

// The safety contract: never a VERIFY, never a personal-data EF (JPKI 0001, text AP 0001/0002)
// selected or read; READ BINARY only of the free EFs 0006 and 000A.
void check_non_destructive(const std::vector<Bytes>& sent) {
    std::optional<unsigned> selected_ef;
    for (const Bytes& c : sent) {
        BOOST_REQUIRE(c.size() >= 4);
        BOOST_TEST(c[1] != 0x20, "a VERIFY was sent");
        if (c[1] == 0xA4 && c[2] == 0x04)
            selected_ef.reset();
        if (c[1] == 0xA4 && c[2] == 0x02) {
            BOOST_REQUIRE(c.size() == 7);
            const unsigned fid = static_cast<unsigned>(c[5] << 8 | c[6]);
            BOOST_TEST((fid == 0x0006 || fid == 0x000A), "selected EF " << fid);
            selected_ef = fid;
        }
        if (c[1] == 0xB0) {
            BOOST_TEST((c[2] & 0x80) == 0, "READ BINARY by SFI");
            BOOST_TEST(selected_ef.has_value(), "READ BINARY without a selected EF");
        }
    }
}

void check_evidence_is_bilingual(const model::CardIdentity& id) {
    for (const model::Evidence& e : id.evidence) {
        BOOST_TEST(!e.sent.empty());
        BOOST_TEST(!e.told.empty(), e.sent);
        BOOST_TEST(!e.told_ja.empty(), e.sent);
    }
}

} // namespace

struct KindCase {
    const char* name;
    IdCardKind kind;
    bool contactless;
    CardType type;
    CardInterface interface_kind;
    CardIdStrength strength;
};

BOOST_AUTO_TEST_CASE(identifies_each_kind_of_card_from_select_and_token) {
    const KindCase cases[] = {
        {"mynumber contact", IdCardKind::MyNumber, false, CardType::MyNumber,
         CardInterface::Contact, CardIdStrength::Strong},
        {"mynumber contactless", IdCardKind::MyNumber, true, CardType::MyNumber,
         CardInterface::Contactless, CardIdStrength::Strong},
        {"juki contact", IdCardKind::Juki, false, CardType::Juki, CardInterface::Contact,
         CardIdStrength::Weak},
        {"juki contactless", IdCardKind::Juki, true, CardType::Juki, CardInterface::Contactless,
         CardIdStrength::Weak},
        {"jpki phone", IdCardKind::Phone, true, CardType::JpkiPhone, CardInterface::Contactless,
         CardIdStrength::Strong},
        {"unknown", IdCardKind::Unknown, false, CardType::Iso7816Unknown, CardInterface::Contact,
         CardIdStrength::Weak},
    };
    for (const KindCase& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            const Run r = run(make_spec(c.kind, c.contactless));
            BOOST_TEST(model::to_string(r.id.type) == model::to_string(c.type));
            BOOST_TEST(model::to_string(r.id.interface_kind) == model::to_string(c.interface_kind));
            BOOST_TEST(model::to_string(r.id.card_id_strength) == model::to_string(c.strength));
            const std::string prefix = c.strength == CardIdStrength::Strong ? "cert-" : "atr-";
            BOOST_TEST(r.id.card_id.rfind(prefix, 0) == 0u);
            BOOST_TEST(r.id.card_id.size() == prefix.size() + 24u);
            BOOST_TEST(!r.id.card_id_source.empty());
            BOOST_TEST(r.id.reader == "Test Reader 00 00");
            BOOST_TEST(!has_code(r.id.findings, "text_ap_missing"));
            BOOST_TEST(!has_code(r.id.findings, "atr_disagrees_with_token"));
            BOOST_TEST(!has_code(r.id.findings, "transport_failure"));
            for (const Finding& hint : r.id.atr_hints)
                BOOST_TEST((hint.severity != Severity::Error), hint.code << ": " << hint.message);
            check_non_destructive(r.sent);
            check_evidence_is_bilingual(r.id);
        }
    }
}

BOOST_AUTO_TEST_CASE(sends_the_documented_identification_sequence) {
    const Run r = run(make_spec(IdCardKind::Juki));
    const std::vector<Bytes> expected{
        hex::parse("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01").value(),
        hex::parse("00 A4 02 0C 02 00 06").value(),
        hex::parse("00 B0 00 00 20").value(),
        hex::parse("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08").value(),
    };
    BOOST_REQUIRE(r.sent.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        BOOST_TEST(hex::format(r.sent[i]) == hex::format(expected[i]));
    // Evidence: the ATR, then one entry per command, with the SW the card gave.
    BOOST_REQUIRE(r.id.evidence.size() == 5u);
    BOOST_TEST(r.id.evidence[0].sent == "ATR");
    BOOST_TEST(r.id.evidence[3].sw.value() == 0x9000);
    BOOST_TEST(r.id.evidence[4].sw.value() == 0x6A82); // no text AP on a Juki card
    BOOST_TEST(hex::format(r.id.evidence[4].command) == hex::format(expected[3]));
}

BOOST_AUTO_TEST_CASE(my_number_card_text_ap_is_further_evidence) {
    const Run r = run(make_spec(IdCardKind::MyNumber));
    const auto& last = r.id.evidence.back();
    BOOST_TEST(last.sent.find("text AP") != std::string::npos);
    BOOST_TEST(last.sw.value() == 0x9000);

    IdCardSpec odd = make_spec(IdCardKind::MyNumber);
    odd.text_ap = false;
    const Run without = run(odd);
    BOOST_TEST(without.id.type == CardType::MyNumber); // the token decides
    BOOST_TEST(has_code(without.id.findings, "text_ap_missing"));

    IdCardSpec juki = make_spec(IdCardKind::Juki);
    juki.text_ap = true;
    BOOST_TEST(has_code(run(juki).id.findings, "text_ap_unexpected"));
}

BOOST_AUTO_TEST_CASE(an_atr_that_looks_like_my_number_is_not_enough) {
    // My Number ATR, but no JPKI AP at all.
    IdCardSpec no_ap = make_spec(IdCardKind::Unknown);
    no_ap.atr = test::mynumber_contact_atr;
    const Run a = run(no_ap);
    BOOST_TEST(a.id.type == CardType::Iso7816Unknown);
    BOOST_TEST(has_code(a.id.atr_hints, "atr_like_mynumber"));
    BOOST_TEST(has_code(a.id.findings, "atr_disagrees_with_token"));
    BOOST_TEST(a.id.card_id_strength == CardIdStrength::Weak);

    // My Number ATR and JPKI AP, but no token EF.
    IdCardSpec no_token = make_spec(IdCardKind::MyNumber);
    no_token.token_ef.reset();
    const Run b = run(no_token);
    BOOST_TEST(b.id.type == CardType::Iso7816Unknown);
    BOOST_TEST(has_code(b.id.atr_hints, "atr_like_mynumber"));

    // My Number ATR with some other token.
    IdCardSpec other = make_spec(IdCardKind::MyNumber);
    other.token_ef = test::token_ef("SOMEOTHERTOKEN");
    const Run c = run(other);
    BOOST_TEST(c.id.type == CardType::Iso7816Unknown);
    BOOST_TEST(has_code(c.id.findings, "token_unrecognised"));

    // And the reverse: an unknown ATR with a My Number token is a My Number card.
    IdCardSpec plain = make_spec(IdCardKind::MyNumber);
    plain.atr = test::unknown_contact_atr;
    const Run d = run(plain);
    BOOST_TEST(d.id.type == CardType::MyNumber);
    BOOST_TEST(!has_code(d.id.atr_hints, "atr_like_mynumber"));
}

BOOST_AUTO_TEST_CASE(tokens_are_matched_exactly_with_space_or_nul_padding) {
    using identify::card_type_of_token;
    BOOST_TEST(card_type_of_token(test::token_ef("JPKIAPICCTOKEN2")) == CardType::MyNumber);
    BOOST_TEST(card_type_of_token(test::token_ef("JPKIAPICCTOKEN2", 0x00)) == CardType::MyNumber);
    BOOST_TEST(card_type_of_token(test::token_ef("JPKIAPICCTOKEN")) == CardType::Juki);
    BOOST_TEST(card_type_of_token(test::token_ef("JPKIAPICCTOKEN", 0x00)) == CardType::Juki);
    BOOST_TEST(card_type_of_token(test::token_ef("JPKIAPGPSETOKEN")) == CardType::JpkiPhone);
    BOOST_TEST(card_type_of_token(bytes_of("JPKIAPICCTOKEN2")) == CardType::MyNumber);
    BOOST_TEST(!card_type_of_token(test::token_ef("JPKIAPICCTOKEN3")).has_value());
    BOOST_TEST(!card_type_of_token(test::token_ef("jpkiapicctoken2")).has_value());
    BOOST_TEST(!card_type_of_token(test::token_ef(" JPKIAPICCTOKEN2")).has_value());
    BOOST_TEST(!card_type_of_token(bytes_of("JPKIAPICCTOK")).has_value());
    BOOST_TEST(!card_type_of_token(Bytes{}).has_value());

    IdCardSpec nul = make_spec(IdCardKind::MyNumber);
    nul.token_ef = test::token_ef("JPKIAPICCTOKEN2", 0x00);
    BOOST_TEST(run(nul).id.type == CardType::MyNumber);
}

BOOST_AUTO_TEST_CASE(select_failures_make_an_unknown_card) {
    for (std::uint16_t sw : std::initializer_list<std::uint16_t>{0x6A82, 0x6A86, 0x6999, 0x6E00}) {
        IdCardSpec spec = make_spec(IdCardKind::MyNumber);
        spec.select_jpki_sw = sw;
        const Run r = run(spec);
        BOOST_TEST(r.id.type == CardType::Iso7816Unknown, sw);
        BOOST_TEST(r.id.evidence[1].sw.value() == sw);
        // No EF is selected or read after a failed application SELECT.
        BOOST_TEST(std::ranges::none_of(r.sent, [](const Bytes& c) { return c[2] == 0x02; }));
        check_non_destructive(r.sent);
    }
}

BOOST_AUTO_TEST_CASE(short_reads_are_handled_and_noted) {
    // 16 bytes of the token still hold "JPKIAPICCTOKEN2 ".
    IdCardSpec sixteen = make_spec(IdCardKind::MyNumber);
    sixteen.max_read = 16;
    const Run a = run(sixteen);
    BOOST_TEST(a.id.type == CardType::MyNumber);
    BOOST_TEST(has_code(a.id.findings, "short_read"));

    // 10 bytes are not a token.
    IdCardSpec ten = make_spec(IdCardKind::MyNumber);
    ten.max_read = 10;
    BOOST_TEST(run(ten).id.type == CardType::Iso7816Unknown);

    // The certificate walk copes with a card that returns 16 bytes per READ BINARY and still
    // reaches the same (strong) id as with full reads.
    const Run full = run(make_spec(IdCardKind::MyNumber));
    const Run chunked = run(sixteen);
    BOOST_TEST(chunked.id.card_id_strength == CardIdStrength::Strong);
    BOOST_TEST(chunked.id.card_id == full.id.card_id);
    check_non_destructive(chunked.sent);
}

BOOST_AUTO_TEST_CASE(the_certificate_is_read_only_up_to_its_issuer) {
    IdCardSpec spec = make_spec(IdCardKind::MyNumber);
    const std::size_t cert_size = spec.auth_certificate.size();
    const Run r = run(spec);
    std::size_t read = 0;
    bool in_cert = false;
    for (const Bytes& c : r.sent) {
        if (c[1] == 0xA4)
            in_cert = c[2] == 0x02 && c[6] == 0x0A;
        if (c[1] == 0xB0 && in_cert)
            read = std::max(read, static_cast<std::size_t>(c[2] << 8 | c[3]) + c[4]);
    }
    BOOST_TEST(read > 4u);
    BOOST_TEST(read < cert_size / 2, "read " << read << " of " << cert_size);
}

BOOST_AUTO_TEST_CASE(card_id_is_keyed_and_hashes_issuer_and_serial_but_never_the_subject) {
    test::TestCertificate base;
    const auto id_of = [](const test::TestCertificate& cert, const io::StationKey& salt) {
        return run(make_spec(IdCardKind::MyNumber, false, cert), salt).id.card_id;
    };
    const std::string a = id_of(base, salt_a);
    BOOST_TEST(a.rfind("cert-", 0) == 0);
    BOOST_TEST(a.size() == 5u + 24u);
    BOOST_TEST(a == id_of(base, salt_a));
    BOOST_TEST(a != id_of(base, salt_b));

    test::TestCertificate other_subject = base;
    other_subject.subject_cn = "ANOTHER-CANARY-SUBJECT";
    BOOST_TEST(a == id_of(other_subject, salt_a));

    test::TestCertificate other_serial = base;
    other_serial.serial = base.serial + 1;
    BOOST_TEST(a != id_of(other_serial, salt_a));

    test::TestCertificate other_issuer = base;
    other_issuer.issuer_cn = "Another JPKI CA";
    BOOST_TEST(a != id_of(other_issuer, salt_a));

    // The contactless interface of the same card gives the same id.
    BOOST_TEST(a == run(make_spec(IdCardKind::MyNumber, true, base), salt_a).id.card_id);
}

BOOST_AUTO_TEST_CASE(weak_ids_come_from_the_atr_and_token) {
    const Run juki = run(make_spec(IdCardKind::Juki));
    BOOST_TEST(juki.id.card_id_source.find("not unique") != std::string::npos);
    BOOST_TEST(juki.id.card_id.rfind("atr-", 0) == 0);
    BOOST_TEST(juki.id.card_id == run(make_spec(IdCardKind::Juki)).id.card_id);
    BOOST_TEST(juki.id.card_id != run(make_spec(IdCardKind::Juki), salt_b).id.card_id);
    BOOST_TEST(juki.id.card_id != run(make_spec(IdCardKind::Juki, true)).id.card_id);

    // A My Number card whose certificate EF cannot be read falls back to a weak id.
    IdCardSpec no_cert = make_spec(IdCardKind::MyNumber);
    no_cert.auth_certificate.clear();
    const Run r = run(no_cert);
    BOOST_TEST(r.id.type == CardType::MyNumber);
    BOOST_TEST(r.id.card_id_strength == CardIdStrength::Weak);

    // Something that is not a certificate is a finding, not a crash.
    IdCardSpec garbage = make_spec(IdCardKind::MyNumber);
    garbage.auth_certificate = Bytes(300, 0x41);
    const Run g = run(garbage);
    BOOST_TEST(g.id.card_id_strength == CardIdStrength::Weak);
    BOOST_TEST(has_code(g.id.findings, "certificate_malformed"));
}

BOOST_AUTO_TEST_CASE(a_card_pulled_out_mid_identification_is_recorded_not_thrown) {
    for (std::size_t after : {0u, 1u, 2u, 3u, 5u}) {
        const Run r = run(make_spec(IdCardKind::MyNumber), salt_a, after);
        BOOST_TEST(has_code(r.id.findings, "transport_failure"), after);
        BOOST_TEST(!r.id.evidence.back().sw.has_value(), after);
        BOOST_TEST(r.sent.size() == after + 1); // nothing is sent after the failure
        if (after < 3)
            BOOST_TEST(r.id.type == CardType::Iso7816Unknown, after);
    }
    // A non-transport error (a PC/SC sharing violation, say) is recorded the same way.
    const Run e = run(make_spec(IdCardKind::Juki), salt_a, 2, true);
    BOOST_TEST(has_code(e.id.findings, "transport_failure"));
    BOOST_TEST(e.id.evidence.back().told.find("sharing violation") != std::string::npos);
    BOOST_TEST(e.sent.size() == 3u);
}

BOOST_AUTO_TEST_CASE(an_empty_reader_is_no_card) {
    const model::CardIdentity id = identify::no_card("Empty Reader 01 00");
    BOOST_TEST(id.type == CardType::NoCard);
    BOOST_TEST(id.card_id.empty());
    BOOST_TEST(id.card_id_strength == CardIdStrength::None);
    BOOST_TEST(id.reader == "Empty Reader 01 00");
    BOOST_TEST(model::card_type_from_string("no_card") == CardType::NoCard);
    BOOST_TEST(!model::card_type_from_string("bogus").has_value());
}

BOOST_AUTO_TEST_CASE(wrong_le_6cxx_is_followed_by_the_exact_le) {
    IdCardSpec spec = make_spec(IdCardKind::MyNumber);
    spec.exact_le = true;
    spec.token_ef = bytes_of("JPKIAPICCTOKEN2"); // a 15-byte token EF: Le 32 gets 6C 0F
    const Run r = run(spec);
    BOOST_TEST(r.id.type == CardType::MyNumber);
    BOOST_TEST(std::ranges::any_of(
        r.sent, [](const Bytes& c) { return hex::format(c) == "00 B0 00 00 0F"; }));
    BOOST_TEST(r.id.card_id_strength == CardIdStrength::Strong);
    check_non_destructive(r.sent);
}

BOOST_AUTO_TEST_CASE(only_a_strong_id_can_declare_a_test_card) {
    const Run mynumber = run(make_spec(IdCardKind::MyNumber));
    BOOST_TEST(mynumber.id.card_id_strength == CardIdStrength::Strong);
    BOOST_TEST(!identify::test_card_id_problem(mynumber.id.card_id).has_value());
    const Run juki = run(make_spec(IdCardKind::Juki));
    const auto why = identify::test_card_id_problem(juki.id.card_id);
    BOOST_TEST_REQUIRE(why.has_value());
    BOOST_TEST(why->find("weak card id") != std::string::npos);
    BOOST_TEST(why->find("Juki card") != std::string::npos);
    BOOST_TEST(why->find("only as an emulated card in the lab") != std::string::npos);
    BOOST_TEST(identify::test_card_id_problem("0123456789abcdef01234567").has_value()); // old form
    BOOST_TEST(identify::test_card_id_problem("cert-0123").has_value());
    BOOST_TEST(identify::test_card_id_problem("cert-0123456789ABCDEF01234567").has_value());
}
