#include "services/suite/redactor.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace harness::suite;

namespace {

io::Salt salt(std::uint8_t fill) {
    return io::Salt{Bytes(32, fill)};
}

const Bytes jpki_aid{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
const Bytes text_aid{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08};

Bytes select_aid(const Bytes& aid) {
    Bytes c{0x00, 0xA4, 0x04, 0x0C, static_cast<std::uint8_t>(aid.size())};
    c.insert(c.end(), aid.begin(), aid.end());
    return c;
}
Bytes select_ef(std::uint16_t fid) {
    return {0x00,
            0xA4,
            0x02,
            0x0C,
            0x02,
            static_cast<std::uint8_t>(fid >> 8),
            static_cast<std::uint8_t>(fid)};
}
const Bytes ok{0x90, 0x00};

Selection selected(const Bytes& aid, std::uint16_t fid) {
    Selection s;
    track_selection(s, select_aid(aid), ok);
    track_selection(s, select_ef(fid), ok);
    return s;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(selection_follows_successful_selects_only) {
    Selection s;
    track_selection(s, select_aid(jpki_aid), ok);
    BOOST_TEST(s.app == "jpki");
    BOOST_TEST(!s.ef.has_value());
    track_selection(s, select_ef(0x000A), ok);
    BOOST_TEST(s.ef.value_or(0) == 0x000A);
    track_selection(s, select_ef(0x1234), Bytes{0x6A, 0x82});
    BOOST_TEST(s.ef.value_or(0) == 0x000A); // a failed SELECT changes nothing
    track_selection(s, select_aid(text_aid), ok);
    BOOST_TEST(s.app == "text");
    BOOST_TEST(!s.ef.has_value());
    track_selection(s, select_aid(Bytes{0xA0, 0x00, 0x00, 0x00, 0x01}), ok);
    BOOST_TEST(s.app.empty());
    // READ BINARY with an SFI makes that EF current (ISO 7816-4 §11.2.2).
    track_selection(s, Bytes{0x00, 0xB0, 0x86, 0x00, 0x20}, Bytes{0x41, 0x90, 0x00});
    BOOST_TEST(s.ef.value_or(0) == 0x0006);
    BOOST_TEST(application_of(jpki_aid) == "jpki");
}

BOOST_AUTO_TEST_CASE(pin_bytes_are_replaced_by_their_length) {
    const Redactor r(salt(1));
    const Bytes verify{0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34};
    const auto out = r.redact(verify, Bytes{0x63, 0xC2}, selected(jpki_aid, 0x0018));
    BOOST_TEST(out.command == "00 20 00 80 04 <redacted pin len=4>");
    BOOST_TEST(out.command_redacted);
    BOOST_TEST(out.response == "63 C2");
    const Bytes change{0x00, 0x24, 0x00, 0x80, 0x08, 0x31, 0x32,
                       0x33, 0x34, 0x35, 0x36, 0x37, 0x38};
    BOOST_TEST(r.redact(change, ok, {}).command == "00 24 00 80 08 <redacted pin len=8>");
    // The case-1 query carries no PIN and stays as it is.
    BOOST_TEST(r.redact(Bytes{0x00, 0x20, 0x00, 0x80}, Bytes{0x63, 0xC3}, {}).command ==
               "00 20 00 80");
    BOOST_TEST(!Redactor::carries_pin(Bytes{0x00, 0x20, 0x00, 0x80}));
    // The transport card's proprietary 80 20 (case 2) is no VERIFY.
    BOOST_TEST(!Redactor::carries_pin(Bytes{0x80, 0x20, 0x00, 0x00, 0x00, 0x01, 0x01}));
    BOOST_TEST(Redactor::carries_pin(Bytes{0x00, 0x2C, 0x00, 0x80, 0x02, 0x31, 0x32}));
    BOOST_TEST(Redactor::carries_pin(verify));
}

BOOST_AUTO_TEST_CASE(personal_ef_responses_become_salted_hashes) {
    const Redactor a(salt(1));
    const Redactor b(salt(2));
    const Bytes read{0x00, 0xB0, 0x00, 0x00, 0x04};
    const Bytes answer{0x30, 0x82, 0x05, 0x10, 0x90, 0x00};
    const auto sign_cert = a.redact(read, answer, selected(jpki_aid, 0x0001));
    BOOST_TEST(sign_cert.response_redacted);
    BOOST_TEST(contains(sign_cert.response, "<redacted len=4 sha256="));
    BOOST_TEST(contains(sign_cert.response, "> 90 00"));
    BOOST_TEST(!contains(sign_cert.response, "30 82"));
    // Same bytes, same salt: same marker (comparable across runs of one database); other salt:
    // another marker.
    BOOST_TEST(a.redact(read, answer, selected(jpki_aid, 0x0001)).response == sign_cert.response);
    BOOST_TEST(b.redact(read, answer, selected(jpki_aid, 0x0001)).response != sign_cert.response);
    BOOST_TEST(a.redact(read, answer, selected(jpki_aid, 0x000A)).response_redacted);
    // CA certificates and the token are kept.
    BOOST_TEST(a.redact(read, answer, selected(jpki_aid, 0x0002)).response == "30 82 05 10 90 00");
    BOOST_TEST(!a.redact(read, answer, selected(jpki_aid, 0x000B)).response_redacted);
    BOOST_TEST(!a.redact(read, answer, selected(jpki_aid, 0x0006)).response_redacted);
    // Every EF of the text AP.
    BOOST_TEST(a.redact(read, answer, selected(text_aid, 0x0005)).response_redacted);
    // READ BINARY by SFI 01 after selecting the JPKI AP reads the signature certificate.
    Selection s;
    track_selection(s, select_aid(jpki_aid), ok);
    BOOST_TEST(a.redact(Bytes{0x00, 0xB0, 0x81, 0x00, 0x04}, answer, s).response_redacted);
    // An unknown application's EFs are personal until known otherwise.
    Selection unknown;
    track_selection(unknown, select_aid(Bytes{0xA0, 0x00, 0x00, 0x00, 0x01}), ok);
    track_selection(unknown, select_ef(0x0101), ok);
    BOOST_TEST(a.redact(read, answer, unknown).response_redacted);
    // Other logical channels are not tracked: their data count as personal.
    BOOST_TEST(a.redact(Bytes{0x01, 0xB0, 0x00, 0x00, 0x04}, answer, selected(jpki_aid, 0x0002))
                   .response_redacted);
    BOOST_TEST(!basic_channel(0x01));
    BOOST_TEST(!basic_channel(0x40));
    BOOST_TEST(basic_channel(0x80));
    BOOST_TEST(basic_channel(0x0C));
    // A status word alone has nothing to hide; SELECT answers (FCI) are not file contents.
    BOOST_TEST(a.redact(read, Bytes{0x69, 0x82}, selected(jpki_aid, 0x0001)).response == "69 82");
    BOOST_TEST(!a.is_personal(selected(jpki_aid, 0x0001), select_ef(0x0001)));
}

BOOST_AUTO_TEST_CASE(policies_can_add_personal_efs) {
    RedactionPolicy policy = default_redaction_policy();
    policy.personal.push_back({"jpki", 0x0006, "for the test"});
    const Redactor r(salt(1), policy);
    BOOST_TEST(r.is_personal(selected(jpki_aid, 0x0006), Bytes{0x00, 0xB0, 0x00, 0x00, 0x04}));
}

BOOST_AUTO_TEST_CASE(secrets_are_scrubbed_from_text_in_every_form) {
    Redactor r(salt(3));
    const std::string name = "CANARY-NAME-7Q2X";
    r.add_secret(name);
    r.add_secret(Bytes{0x73, 0x92, 0x06, 0x14, 0x28, 0x69});
    r.add_secret(std::string("1")); // too short: ignored
    const std::string marker = r.marker(bytes_of(name));
    BOOST_TEST(r.scrub("name is " + name + ".") == "name is " + marker + ".");
    const std::string spaced = hex::format(bytes_of(name));
    BOOST_TEST(r.scrub("00 DA " + spaced + " 00") == "00 DA " + marker + " 00");
    BOOST_TEST(!contains(r.scrub("x 73 92 06 14 28 69 y"), "73 92 06"));
    BOOST_TEST(!contains(r.scrub("739206142869"), "739206142869"));
    BOOST_TEST(r.scrub("1 plain text") == "1 plain text");
    // In an exchange, a ${var} built from personal data is scrubbed from the command too.
    Bytes command{0x80, 0xDA, 0x00, 0x00, 0x10};
    const Bytes n = bytes_of(name);
    command.insert(command.end(), n.begin(), n.end());
    const auto out = r.redact(command, ok, {});
    BOOST_TEST(out.command_redacted);
    BOOST_TEST(!contains(out.command, spaced));
}

BOOST_AUTO_TEST_CASE(markers_have_a_fixed_shape) {
    const Redactor r(salt(0));
    const std::string m = r.marker(bytes_of("abc"));
    BOOST_TEST(m.rfind("<redacted len=3 sha256=", 0) == 0);
    BOOST_TEST(m.size() == std::string("<redacted len=3 sha256=>").size() + 16);
    BOOST_TEST(Redactor::pin_marker(6) == "<redacted pin len=6>");
}
