#include "services/lab/emulated_reader.hpp"
#include "services/lab/lab_channel.hpp"
#include "support/test_support.hpp"
#include "unit/services/lab/test_card.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace harness::lab;
using io::TransportFailure;

namespace {

const std::vector<ReaderModel>& models() {
    static const auto all = load_reader_model_dir(test::source_dir() / "profiles" / "readers");
    return all;
}

const ReaderModel& model(const std::string& id) {
    const ReaderModel* m = find_model(models(), id);
    BOOST_TEST_REQUIRE(m != nullptr, id);
    return *m;
}

// 80 2A 00 80 33 <DigestInfo 51 bytes> 00: the JPKI sign command (256- or 128-byte answer).
Bytes sign_command() {
    Bytes c{0x80, 0x2A, 0x00, 0x80, 0x33};
    c.resize(5 + 51, 0x30);
    c.push_back(0x00);
    return c;
}

Bytes read_binary(std::uint8_t le) {
    return Bytes{0x00, 0xB0, 0x00, 0x00, le};
}
Bytes read_binary_extended(std::uint16_t le) {
    return Bytes{0x00,
                 0xB0,
                 0x00,
                 0x00,
                 0x00,
                 static_cast<std::uint8_t>(le >> 8),
                 static_cast<std::uint8_t>(le)};
}
Bytes echo_extended(std::size_t n) {
    Bytes c{0x00,
            0xD6,
            0x00,
            0x00,
            0x00,
            static_cast<std::uint8_t>(n >> 8),
            static_cast<std::uint8_t>(n)};
    for (std::size_t i = 0; i < n; ++i)
        c.push_back(static_cast<std::uint8_t>(i));
    return c;
}

// Transmits through a fresh channel; returns the failure or nullopt on success.
std::optional<TransportFailure>
failure_of(const std::string& model_id, std::shared_ptr<io::VirtualCard> card, const Bytes& command,
           Interface interface = Interface::Contact, Bytes* response = nullptr) {
    EmulatedReader reader(model(model_id), interface);
    reader.insert(std::move(card));
    try {
        LabChannel channel(reader);
        Bytes r = channel.transmit(command);
        if (response)
            *response = r;
        return std::nullopt;
    } catch (const io::TransportError& e) {
        return e.failure();
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(atr_facts_follow_iso_7816_3) {
    const AtrFacts mn = atr_facts(lab_test::my_number_atr);
    BOOST_TEST(mn.ta1.value() == 0x13);
    BOOST_TEST(mn.t1);
    BOOST_TEST(!mn.t0);
    BOOST_TEST(mn.needs_pps());
    const AtrFacts juki = atr_facts(lab_test::juki_atr);
    BOOST_TEST(!juki.ta1.has_value());
    BOOST_TEST(juki.t1);
    BOOST_TEST(!juki.needs_pps());
    const AtrFacts cl = atr_facts(lab_test::my_number_type_b_atr);
    BOOST_TEST(cl.contactless);
    BOOST_TEST(cl.t1);
    BOOST_TEST(!cl.needs_pps());
    const AtrFacts t0_only = atr_facts(Bytes{0x3B, 0x02, 0x14, 0x50});
    BOOST_TEST(t0_only.t0);
    BOOST_TEST(!t0_only.t1);
}

BOOST_AUTO_TEST_CASE(apdu_shapes) {
    BOOST_TEST(apdu_shape(read_binary(0)).short_le_zero);
    BOOST_TEST(!apdu_shape(read_binary(0x10)).short_le_zero);
    BOOST_TEST(apdu_shape(sign_command()).short_le_zero);
    BOOST_TEST(!apdu_shape(sign_command()).extended);
    BOOST_TEST(apdu_shape(read_binary_extended(0)).extended);
    BOOST_TEST(apdu_shape(echo_extended(300)).extended);
    BOOST_TEST(!apdu_shape(Bytes{0x00, 0xA4, 0x04, 0x0C}).extended);
}

BOOST_AUTO_TEST_CASE(good_readers_pass_both_cards) {
    for (const char* id : {"lab-tpdu-contact", "lab-ext-dual"}) {
        Bytes response;
        BOOST_TEST(
            !failure_of(id, lab_test::my_number(), sign_command(), Interface::Contact, &response),
            id);
        BOOST_TEST(response.size() == 258U, id);
        BOOST_TEST(!failure_of(id, lab_test::juki(), sign_command(), Interface::Contact, &response),
                   id);
        BOOST_TEST(response.size() == 130U, id);
    }
    BOOST_TEST(!failure_of("lab-ext-dual", lab_test::my_number_contactless(), sign_command(),
                           Interface::TypeB));
}

BOOST_AUTO_TEST_CASE(short_261_reader_cannot_return_258_bytes_but_returns_130) {
    BOOST_TEST((failure_of("lab-short-261", lab_test::my_number(), sign_command()) ==
                TransportFailure::Communication));
    BOOST_TEST(!failure_of("lab-short-261", lab_test::juki(), sign_command()));
    // READ BINARY Le=00 answers 258 bytes too; a 200-byte read fits.
    BOOST_TEST((failure_of("lab-short-261", lab_test::juki(), read_binary(0)) ==
                TransportFailure::Communication));
    BOOST_TEST(!failure_of("lab-short-261", lab_test::juki(), read_binary(200)));
    // A short-APDU reader cannot carry an extended APDU at all.
    BOOST_TEST((failure_of("lab-short-261", lab_test::juki(), read_binary_extended(100)) ==
                TransportFailure::Communication));
}

BOOST_AUTO_TEST_CASE(reader_without_wtx_times_out_slow_signing_only) {
    EmulatedReader reader(model("lab-no-wtx"), Interface::Contact);
    reader.insert(lab_test::my_number());
    LabChannel channel(reader);
    try {
        channel.transmit(sign_command());
        BOOST_FAIL("expected a timeout");
    } catch (const io::TransportError& e) {
        BOOST_TEST((e.failure() == TransportFailure::Timeout));
        BOOST_TEST(std::string(e.what()).find("IFD_RESPONSE_TIMEOUT") != std::string::npos);
    }
    BOOST_TEST(channel.elapsed() >= std::chrono::milliseconds(1000)); // gave up at its timeout
    BOOST_TEST(channel.elapsed() < std::chrono::milliseconds(1800));
    BOOST_TEST(!failure_of("lab-no-wtx", lab_test::juki(), sign_command()));
    // The same slow card passes a reader with waiting-time extension, taking the full 1.8 s.
    EmulatedReader patient(model("lab-tpdu-contact"), Interface::Contact);
    patient.insert(lab_test::my_number());
    LabChannel ok(patient);
    BOOST_TEST(ok.transmit(sign_command()).size() == 258U);
    BOOST_TEST(ok.elapsed() >= std::chrono::milliseconds(1800));
}

BOOST_AUTO_TEST_CASE(reader_without_pps_fails_to_connect_to_ta1_13) {
    EmulatedReader reader(model("lab-no-pps"), Interface::Contact);
    reader.insert(lab_test::my_number());
    try {
        LabChannel channel(reader);
        BOOST_FAIL("expected the connection to fail");
    } catch (const io::TransportError& e) {
        BOOST_TEST((e.failure() == TransportFailure::Unresponsive));
        BOOST_TEST(e.call() == "SCardConnect");
        BOOST_TEST(std::string(e.what()).find("PPS") != std::string::npos);
    }
    BOOST_TEST(!failure_of("lab-no-pps", lab_test::juki(), sign_command()));
}

BOOST_AUTO_TEST_CASE(type_a_only_reader_sees_no_type_b_card) {
    EmulatedReader reader(model("lab-nfc-a"), Interface::TypeB);
    reader.insert(lab_test::my_number_contactless());
    BOOST_TEST((reader.presence() == ifd::Code::IccNotPresent));
    BOOST_TEST((failure_of("lab-nfc-a", lab_test::my_number_contactless(), sign_command(),
                           Interface::TypeB) == TransportFailure::CardRemoved));
    // On Type A (a hypothetical Type A card) the same reader works.
    BOOST_TEST(!failure_of("lab-nfc-a", lab_test::my_number_contactless(), sign_command(),
                           Interface::TypeA));
}

BOOST_AUTO_TEST_CASE(contact_only_reader_cannot_read_a_contactless_only_juki_card) {
    EmulatedReader reader(model("lab-contact-basic"), Interface::TypeB);
    reader.insert(lab_test::juki());
    BOOST_TEST((reader.presence() == ifd::Code::IccNotPresent));
    BOOST_TEST((reader.power(PowerAction::Up).code == ifd::Code::IccNotPresent));
}

BOOST_AUTO_TEST_CASE(chaining_bug_corrupts_long_messages_only) {
    Bytes response;
    BOOST_TEST(!failure_of("lab-ext-chainbug", lab_test::juki(), read_binary_extended(400),
                           Interface::Contact, &response));
    BOOST_TEST(response.size() == 402U);
    BOOST_TEST(response[300] == 300 % 256);
    BOOST_TEST(!failure_of("lab-ext-chainbug", lab_test::juki(), read_binary_extended(1300),
                           Interface::Contact, &response));
    BOOST_TEST(response.size() == 1302U);
    BOOST_TEST(response[512] != 512 % 256); // corrupted at the chaining boundary
    // The same read on a sound extended reader is intact.
    BOOST_TEST(!failure_of("lab-ext-dual", lab_test::juki(), read_binary_extended(1300),
                           Interface::Contact, &response));
    BOOST_TEST(response[512] == 512 % 256);
    // Long commands are corrupted on the way to the card.
    EmulatedReader reader(model("lab-ext-chainbug"), Interface::Contact);
    auto card = lab_test::juki();
    reader.insert(card);
    LabChannel channel(reader);
    const Bytes command = echo_extended(1000);
    channel.transmit(command);
    BOOST_TEST(card->last_command != command);
}

BOOST_AUTO_TEST_CASE(tpdu_reader_carries_extended_apdus_with_t1_only) {
    Bytes response;
    BOOST_TEST(!failure_of("lab-tpdu-contact", lab_test::my_number(), read_binary_extended(1300),
                           Interface::Contact, &response));
    BOOST_TEST(response.size() == 1302U);
    auto t0_card = std::make_shared<lab_test::TestCard>(Bytes{0x3B, 0x02, 0x14, 0x50}, 128,
                                                        std::chrono::milliseconds(10));
    BOOST_TEST((failure_of("lab-tpdu-contact", t0_card, read_binary_extended(300)) ==
                TransportFailure::Communication));
}

BOOST_AUTO_TEST_CASE(le_zero_bug_rejects_ne_256_only) {
    BOOST_TEST((failure_of("lab-short-le00", lab_test::juki(), read_binary(0)) ==
                TransportFailure::Communication));
    BOOST_TEST(!failure_of("lab-short-le00", lab_test::juki(), read_binary(0xFF)));
}

BOOST_AUTO_TEST_CASE(latency_adds_to_every_exchange) {
    EmulatedReader reader(model("lab-nfc-b"), Interface::TypeB);
    reader.insert(lab_test::my_number_contactless());
    LabChannel channel(reader);
    const auto before = channel.elapsed();
    for (int i = 0; i < 10; ++i)
        channel.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C});
    BOOST_TEST((channel.elapsed() - before) == std::chrono::microseconds(30000));
}

BOOST_AUTO_TEST_CASE(flaky_reader_bounces_the_card_every_nth_exchange) {
    EmulatedReader reader(model("lab-flaky"), Interface::Contact);
    reader.insert(lab_test::juki());
    LabChannel channel(reader);
    const std::uint32_t every = reader.model().flaky_every;
    BOOST_TEST_REQUIRE(every > 1U);
    for (std::uint32_t i = 1; i < every; ++i)
        channel.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C});
    try {
        channel.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C});
        BOOST_FAIL("expected the card to bounce");
    } catch (const io::TransportError& e) {
        BOOST_TEST((e.failure() == TransportFailure::CardRemoved));
    }
    // Before pcscd asked: a waiting host is woken for the absence.
    BOOST_TEST((reader.peek_presence() == ifd::Code::IccNotPresent));
    BOOST_TEST((reader.presence() == ifd::Code::IccNotPresent)); // the absence pcscd is told of
    BOOST_TEST((reader.presence() == ifd::Code::IccNotPresent)); // pcscd may ask again at once
    // Once told, a waiting host is woken for the card in the slot, and when pcscd waits again
    // (IFDHPolling) the card is present.
    BOOST_TEST((reader.peek_presence() == ifd::Code::IccPresent));
    reader.host_waits();
    BOOST_TEST((reader.presence() == ifd::Code::IccPresent));
    reader.host_waits(); // nothing pending: no change
    BOOST_TEST((reader.presence() == ifd::Code::IccPresent));
    channel.reset(io::ResetKind::Cold);
    BOOST_TEST(channel.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C}).size() == 2U);
}

BOOST_AUTO_TEST_CASE(card_state_survives_power_cycles) {
    EmulatedReader reader(model("lab-tpdu-contact"), Interface::Contact);
    auto card = lab_test::juki();
    reader.insert(card);
    LabChannel channel(reader);
    const Bytes wrong_pin{0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x31, 0x31, 0x31};
    BOOST_TEST(channel.transmit(wrong_pin) == (Bytes{0x63, 0xC2}));
    channel.reset(io::ResetKind::Cold);
    BOOST_TEST(channel.transmit(Bytes{0x00, 0x20, 0x00, 0x80}) == (Bytes{0x63, 0xC2}));
}

BOOST_AUTO_TEST_CASE(transport_errors_carry_pcsc_codes) {
    BOOST_TEST(transport_error(ifd::Code::CommunicationError, "SCardTransmit", "").raw_code() ==
               0x80100016L);
    BOOST_TEST(transport_error(ifd::Code::IccNotPresent, "SCardTransmit", "").raw_code() ==
               0x8010000CL);
    BOOST_TEST(transport_error(ifd::Code::IccNotPresent, "SCardConnect", "").raw_code() ==
               0x8010000CL);
    BOOST_TEST(transport_error(ifd::Code::ErrorPtsFailure, "SCardConnect", "").raw_code() ==
               0x80100066L);
}
