#include "services/suite/redactor.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fmt/core.h>
#include <openssl/evp.h>

using namespace harness;
using namespace harness::suite;

namespace {

io::StationKey key(std::uint8_t fill) {
    return io::StationKey{Bytes(32, fill)};
}

const Bytes jpki_aid{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
const Bytes text_aid{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08};
const Bytes transport_aid{0xF0, 0x43, 0x48, 0x54, 0x45, 0x53, 0x54, 0x01};

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
const Bytes read_4{0x00, 0xB0, 0x00, 0x00, 0x04};
const Bytes answer{0x30, 0x82, 0x05, 0x10, 0x90, 0x00};

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
    BOOST_TEST(!s.known); // a session starts not knowing what the card has selected
    track_selection(s, select_aid(jpki_aid), ok);
    BOOST_TEST(s.known);
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
    BOOST_TEST(application_of(jpki_aid) == "jpki");
}

BOOST_AUTO_TEST_CASE(a_selection_the_runner_cannot_follow_becomes_unknown) {
    const auto unknown_after = [](const Bytes& command, const Bytes& response) {
        Selection s = selected(jpki_aid, 0x0006);
        track_selection(s, command, response);
        return !s.known;
    };
    // READ BINARY by SFI: the EF became current and its file id is not known (§11.2.2).
    BOOST_TEST(unknown_after(Bytes{0x00, 0xB0, 0x86, 0x00, 0x20}, Bytes{0x41, 0x90, 0x00}));
    // A SELECT without a status word (the card may or may not have acted).
    BOOST_TEST(unknown_after(select_ef(0x0001), Bytes{}));
    // A SELECT that does not parse.
    BOOST_TEST(unknown_after(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x05, 0x00}, ok));
    // Proprietary class, secure messaging, chaining.
    BOOST_TEST(unknown_after(Bytes{0x80, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01}, ok));
    BOOST_TEST(unknown_after(Bytes{0x0C, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01}, ok));
    BOOST_TEST(unknown_after(Bytes{0x10, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01}, ok));
    // By path, parent DF, child DF, next occurrence of a DF name, a DF by file id.
    BOOST_TEST(unknown_after(Bytes{0x00, 0xA4, 0x08, 0x0C, 0x04, 0x3F, 0x00, 0x00, 0x01}, ok));
    BOOST_TEST(unknown_after(Bytes{0x00, 0xA4, 0x03, 0x0C}, ok));
    BOOST_TEST(unknown_after(Bytes{0x00, 0xA4, 0x01, 0x0C, 0x02, 0x10, 0x00}, ok));
    Bytes next = select_aid(jpki_aid);
    next[3] = 0x02;
    BOOST_TEST(unknown_after(next, ok));
    BOOST_TEST(unknown_after(Bytes{0x00, 0xA4, 0x00, 0x0C, 0x02, 0x00, 0x01}, ok));
    // The MF is known (no application); another logical channel leaves the basic one as it was.
    BOOST_TEST(!unknown_after(Bytes{0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00}, ok));
    BOOST_TEST(!unknown_after(Bytes{0x01, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01}, ok));
    // A failed plain SELECT leaves the selection as it was (ISO 7816-4 §7.1.1).
    BOOST_TEST(!unknown_after(select_ef(0x0001), Bytes{0x6A, 0x82}));
}

BOOST_AUTO_TEST_CASE(pin_bytes_are_replaced_by_their_length) {
    const Redactor r(key(1));
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
    // Every class and the odd INS: INS 21 (BER-TLV), GSM A0 20, JPKI-like 80 20 with data,
    // logical channel, secure messaging, chaining, ENVELOPE.
    for (const Bytes& c : std::vector<Bytes>{
             {0x00, 0x21, 0x00, 0x80, 0x06, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34},
             {0xA0, 0x20, 0x00, 0x01, 0x04, 0x31, 0x32, 0x33, 0x34},
             {0x80, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34},
             {0x03, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34},
             {0x0C, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34},
             {0x10, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32},
             {0x00, 0x2C, 0x00, 0x80, 0x02, 0x31, 0x32},
             {0x00, 0xC2, 0x00, 0x00, 0x04, 0x31, 0x32, 0x33, 0x34},
             {0x00, 0x20, 0x00, 0x80, 0x31, 0x32, 0x33}, // malformed: Lc 31 and 3 bytes
         }) {
        const auto x = r.redact(c, ok, {});
        BOOST_TEST(x.command_redacted, hex::format(c));
        BOOST_TEST(!contains(x.command, "31 32"), x.command);
    }
}

BOOST_AUTO_TEST_CASE(personal_responses_become_keyed_hmacs) {
    const Redactor a(key(1));
    const Redactor b(key(2));
    const auto sign_cert = a.redact(read_4, answer, selected(jpki_aid, 0x0001));
    BOOST_TEST(sign_cert.response_redacted);
    BOOST_TEST(contains(sign_cert.response, "<redacted len=4 hmac="));
    BOOST_TEST(contains(sign_cert.response, "> 90 00"));
    BOOST_TEST(!contains(sign_cert.response, "30 82"));
    // Same bytes, same station key: same marker; another station: another marker.
    BOOST_TEST(a.redact(read_4, answer, selected(jpki_aid, 0x0001)).response == sign_cert.response);
    BOOST_TEST(b.redact(read_4, answer, selected(jpki_aid, 0x0001)).response != sign_cert.response);
    BOOST_TEST(a.redact(read_4, answer, selected(jpki_aid, 0x000A)).response_redacted);
    // CA certificates, the token and the transport card are kept.
    BOOST_TEST(a.redact(read_4, answer, selected(jpki_aid, 0x0002)).response ==
               "30 82 05 10 90 00");
    BOOST_TEST(!a.redact(read_4, answer, selected(jpki_aid, 0x000B)).response_redacted);
    BOOST_TEST(!a.redact(read_4, answer, selected(jpki_aid, 0x0006)).response_redacted);
    Selection transport;
    track_selection(transport, select_aid(transport_aid), ok);
    BOOST_TEST(
        !a.redact(Bytes{0x80, 0x20, 0x00, 0x00, 0x02}, Bytes{0x00, 0x01, 0x90, 0x00}, transport)
             .response_redacted);
    // Every EF of the text AP; the JPKI key EFs (a signature identifies its card).
    BOOST_TEST(a.redact(read_4, answer, selected(text_aid, 0x0005)).response_redacted);
    BOOST_TEST(a.redact(read_4, answer, selected(jpki_aid, 0x0017)).response_redacted);
    // READ BINARY by SFI after selecting the JPKI AP: which EF is not known.
    Selection s;
    track_selection(s, select_aid(jpki_aid), ok);
    BOOST_TEST(a.redact(Bytes{0x00, 0xB0, 0x81, 0x00, 0x04}, answer, s).response_redacted);
    // An application selected but no EF: personal (GET DATA, GET CHALLENGE, …).
    BOOST_TEST(a.redact(read_4, answer, s).response_redacted);
    // An unknown application's EFs are personal.
    Selection unknown;
    track_selection(unknown, select_aid(Bytes{0xA0, 0x00, 0x00, 0x00, 0x01}), ok);
    track_selection(unknown, select_ef(0x0101), ok);
    BOOST_TEST(a.redact(read_4, answer, unknown).response_redacted);
    // Other logical channels are not tracked: their data count as personal.
    BOOST_TEST(a.redact(Bytes{0x01, 0xB0, 0x00, 0x00, 0x04}, answer, selected(jpki_aid, 0x0002))
                   .response_redacted);
    BOOST_TEST(!basic_channel(0x01));
    BOOST_TEST(!basic_channel(0x40));
    BOOST_TEST(basic_channel(0x80));
    BOOST_TEST(basic_channel(0x0C));
    // A status word alone has nothing to hide; SELECT answers (FCI) are not file contents.
    BOOST_TEST(a.redact(read_4, Bytes{0x69, 0x82}, selected(jpki_aid, 0x0001)).response == "69 82");
    BOOST_TEST(!a.is_personal(selected(jpki_aid, 0x0001), select_ef(0x0001)));
}

BOOST_AUTO_TEST_CASE(an_unknown_selection_makes_every_response_personal) {
    // After a reconnect or reset the runner clears the selection: even the token EF's READ
    // BINARY (which the card may now answer from any EF) is redacted.
    const Redactor r(key(1));
    Selection s = selected(jpki_aid, 0x0006);
    BOOST_TEST(!r.redact(read_4, answer, s).response_redacted);
    s = {};
    BOOST_TEST(r.redact(read_4, answer, s).response_redacted);
    BOOST_TEST(r.is_personal(s, Bytes{0x00, 0xCA, 0x01, 0x01, 0x00}));
}

BOOST_AUTO_TEST_CASE(markers_are_not_reversible_without_the_station_key) {
    // The old marker was SHA-256 over a salt stored in the same database: anyone with the file
    // could try every My Number. The new marker is an HMAC under a key kept outside it; the same
    // value under a plain hash does not appear.
    const Redactor r(key(7));
    const std::string my_number = "123456789012";
    const std::string m = r.marker(bytes_of(my_number));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(my_number.data(), my_number.size(), digest, &length, EVP_sha256(), nullptr);
    std::string plain;
    for (std::size_t i = 0; i < 8; ++i)
        plain += fmt::format("{:02x}", digest[i]);
    BOOST_TEST(!contains(m, plain));
    BOOST_TEST(contains(m, "hmac="));
    // An empty key (none could be loaded) yields the length only, never an unkeyed hash.
    const Redactor unkeyed(io::StationKey{});
    BOOST_TEST(unkeyed.marker(bytes_of(my_number)) == "<redacted len=12>");
}

BOOST_AUTO_TEST_CASE(policies_list_the_free_efs) {
    RedactionPolicy policy = default_redaction_policy();
    policy.free.push_back({"text", 0x0006, "for the test"});
    const Redactor r(key(1), policy);
    BOOST_TEST(!r.is_personal(selected(text_aid, 0x0006), read_4));
    BOOST_TEST(r.is_personal(selected(text_aid, 0x0001), read_4));
}

BOOST_AUTO_TEST_CASE(secrets_are_scrubbed_from_text_in_every_form) {
    Redactor r(key(3));
    const std::string name = "CANARY-NAME-7Q2X";
    r.add_secret(name);
    r.add_secret(Bytes{0x73, 0x92, 0x06, 0x14, 0x28, 0x69});
    r.add_secret(std::string("1")); // too short: ignored
    BOOST_TEST(r.secret_count() == 2u);
    r.add_secret(name); // once only
    BOOST_TEST(r.secret_count() == 2u);
    const std::string marker = r.marker(bytes_of(name));
    BOOST_TEST(r.scrub("name is " + name + ".") == "name is " + marker + ".");
    const std::string spaced = hex::format(bytes_of(name));
    BOOST_TEST(r.scrub("00 DA " + spaced + " 00") == "00 DA " + marker + " 00");
    BOOST_TEST(!contains(r.scrub("x 73 92 06 14 28 69 y"), "73 92 06"));
    BOOST_TEST(!contains(r.scrub("739206142869"), "739206142869"));
    BOOST_TEST(!contains(r.scrub("x 73 92 06 14 28 69 y"), "73 92 06"));
    BOOST_TEST(r.scrub("73 92 06 14 28") == "73 92 06 14 28"); // a prefix is not the secret
    BOOST_TEST(!contains(r.scrub("lower 739206142869 and 73 92 06 14 28 69"), "739206"));
    BOOST_TEST(r.scrub("1 plain text") == "1 plain text");
    // In an exchange, a ${var} built from personal data is scrubbed from the command too.
    Bytes command{0x80, 0xDA, 0x00, 0x00, 0x10};
    const Bytes n = bytes_of(name);
    command.insert(command.end(), n.begin(), n.end());
    const auto out = r.redact(command, ok, {});
    BOOST_TEST(out.command_redacted);
    BOOST_TEST(!contains(out.command, spaced));
}

BOOST_AUTO_TEST_CASE(the_longest_secret_wins_and_overlaps_are_covered) {
    Redactor r(key(4));
    const Bytes whole{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA};
    const Bytes part{0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    r.add_secret(part);
    r.add_secret(whole);
    const std::string text = "< " + hex::format(whole) + " 90 00";
    BOOST_TEST(r.scrub(text) == "< " + r.marker(whole) + " 90 00");
    BOOST_TEST(r.scrub(hex::format(part)) == r.marker(part));
}

BOOST_AUTO_TEST_CASE(markers_have_a_fixed_shape) {
    const Redactor r(key(0));
    const std::string m = r.marker(bytes_of("abc"));
    BOOST_TEST(m.rfind("<redacted len=3 hmac=", 0) == 0);
    BOOST_TEST(m.size() == std::string("<redacted len=3 hmac=>").size() + 16);
    BOOST_TEST(Redactor::pin_marker(6) == "<redacted pin len=6>");
}

BOOST_AUTO_TEST_CASE(scrub_cost_does_not_grow_with_the_secrets_seen) {
    // Issue 11: the per-step cost must not depend on how many personal values a session met.
    // Same text, 10 vs 2000 secrets (distinct 16-byte values, as chunks of certificates are):
    // the time may not grow with the count (a generous bound for a noisy machine; the
    // benchmark bench_redaction measures it properly).
    const auto secrets = [](std::size_t n) {
        std::vector<Bytes> out;
        for (std::size_t i = 0; i < n; ++i) {
            Bytes b(16);
            for (std::size_t j = 0; j < b.size(); ++j)
                b[j] = static_cast<std::uint8_t>((i * 131 + j * 29 + (i >> 3)) & 0xFF);
            b[0] = static_cast<std::uint8_t>(i);
            b[1] = static_cast<std::uint8_t>(i >> 8);
            out.push_back(b);
        }
        return out;
    };
    Bytes data(256);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i * 7);
    const std::string text = hex::format(data) + " " + hex::format(data, hex::Style::Packed);
    const auto time_of = [&](std::size_t n) {
        Redactor r(key(5));
        for (const auto& s : secrets(n))
            r.add_secret(s);
        const auto start = std::chrono::steady_clock::now();
        std::size_t size = 0;
        for (int i = 0; i < 200; ++i)
            size += r.scrub(text).size();
        BOOST_TEST(size == 200 * text.size());
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    time_of(10); // warm-up
    const double few = time_of(10);
    const double many = time_of(2000);
    BOOST_TEST_MESSAGE("scrub: 10 secrets " << few * 5000 << " µs, 2000 secrets " << many * 5000
                                            << " µs per call");
    BOOST_TEST(many < few * 4 + 0.01); // linear in the secrets would be ~200×
}
