#include "io/card_channel.hpp"
#include "pure/error.hpp"
#include "services/emu/persona.hpp"
#include "unit/services/emu/card_helpers.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace harness::emu;
using namespace harness::emu::test;

namespace {

std::unique_ptr<Card> jpki_card(const std::string& profile = "mynumber") {
    auto card = powered(profile);
    BOOST_REQUIRE_EQUAL(send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid).sw, 0x9000);
    return card;
}

} // namespace

BOOST_AUTO_TEST_CASE(atr_and_profile_name_follow_the_profile) {
    auto card = make_card("mynumber");
    BOOST_TEST(hex::format(card->power_on()) ==
               "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B");
    BOOST_TEST(card->profile_name() == "mynumber");
    BOOST_TEST(card->family() == "mynumber");
    BOOST_TEST(card->is_test_card());
    BOOST_TEST(hex::format(make_card("mynumber-noext")->atr()) ==
               "3B C5 FF 81 31 FB 45 80 73 C6 01 00 00");
    BOOST_TEST(hex::format(make_card("mynumber-contactless")->atr()) ==
               "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F");
}

BOOST_AUTO_TEST_CASE(unpowered_card_refuses_to_transmit) {
    auto card = make_card("mynumber");
    BOOST_CHECK_THROW(card->transmit(h("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")),
                      io::TransportError);
    card->power_on();
    card->power_off();
    BOOST_TEST(!card->powered());
    BOOST_CHECK_THROW(card->transmit(h("00 B0 00 00 04")), io::TransportError);
}

BOOST_AUTO_TEST_CASE(token_ef_reads_32_bytes_space_padded) {
    auto card = jpki_card();
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 06").sw == 0x9000);
    const auto r = send(*card, "00 B0 00 00 20");
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(std::string(r.data.begin(), r.data.end()) == "JPKIAPICCTOKEN2                 ");
}

BOOST_AUTO_TEST_CASE(unknown_aid_file_and_mf_answer_6a82) {
    auto card = powered("mynumber");
    BOOST_TEST(send(*card, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 09").sw == 0x6A82);
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 06").sw == 0x6A82); // no application selected
    BOOST_TEST(send(*card, "00 A4 00 0C 02 3F 00").sw == 0x6A82); // no usable MF
    send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid);
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 99").sw == 0x6A82);
}

BOOST_AUTO_TEST_CASE(status_words_for_bad_commands) {
    auto card = jpki_card();
    struct Case {
        const char* apdu;
        std::uint16_t sw;
    };
    for (auto [apdu, expected] : {
             Case{"00 CA 00 00 00", 0x6D00},          // unknown INS
             Case{"A0 A4 02 0C 02 00 06", 0x6E00},    // unknown CLA
             Case{"00 A4 02 0C 03 00 06 00", 0x6700}, // FID of 3 bytes
             Case{"00 A4 02 0C 05 00 06", 0x6700},    // Lc larger than the data
             Case{"00 A4 07 0C 02 00 06", 0x6A86},    // bad P1
             Case{"00 A4 02 0F 02 00 06", 0x6A86},    // bad P2
             Case{"00 20 01 80", 0x6A86},             // VERIFY with P1 != 0
             Case{"00 B0", 0x6700},                   // too short
             Case{"80 2A 00 81 03 01 02 03 00", 0x6A86},
         })
        BOOST_TEST(send(*card, apdu).sw == expected, apdu);
}

BOOST_AUTO_TEST_CASE(retry_query_answers_63cx_even_after_good_verify) {
    auto card = jpki_card();
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 18").sw == 0x9000);
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C3);
    BOOST_TEST(send(*card, "00 20 00 80 04 31 32 33 34").sw == 0x9000);
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C3); // never 90 00
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 1B").sw == 0x9000);
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C5);
}

BOOST_AUTO_TEST_CASE(wrong_pin_counts_down_and_good_verify_restores) {
    auto card = jpki_card();
    send(*card, "00 A4 02 0C 02 00 1B");
    BOOST_TEST(send(*card, "00 20 00 80 08 43 41 52 44 32 30 32 37").sw == 0x63C4); // CARD2027
    BOOST_TEST(send(*card, "00 20 00 80 08 63 61 72 64 32 30 32 36").sw == 0x63C3); // lower case
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C3);
    BOOST_TEST(send(*card, "00 20 00 80 08 43 41 52 44 32 30 32 36").sw == 0x9000); // CARD2026
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C5);
}

BOOST_AUTO_TEST_CASE(counter_reaching_zero_answers_63c0_then_6984) {
    auto card = jpki_card();
    send(*card, "00 A4 02 0C 02 00 18");
    BOOST_TEST(send(*card, "00 20 00 80 04 39 39 39 39").sw == 0x63C2);
    BOOST_TEST(send(*card, "00 20 00 80 04 39 39 39 39").sw == 0x63C1);
    BOOST_TEST(send(*card, "00 20 00 80 04 39 39 39 39").sw == 0x63C0);
    BOOST_TEST(send(*card, "00 20 00 80 04 31 32 33 34").sw == 0x6984); // right PIN, blocked
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C0);
    BOOST_TEST(card->state().tries_left.at("jpki/0018") == 0);
}

BOOST_AUTO_TEST_CASE(impossible_pin_length_answers_6700_without_spending_a_try) {
    auto card = jpki_card();
    send(*card, "00 A4 02 0C 02 00 18");
    BOOST_TEST(send(*card, "00 20 00 80 05 31 32 33 34 35").sw == 0x6700);
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C3);
}

BOOST_AUTO_TEST_CASE(verify_without_a_pin_ef_selected_answers_6986) {
    auto card = jpki_card();
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x6986);
    send(*card, "00 A4 02 0C 02 00 06");
    BOOST_TEST(send(*card, "00 20 00 80 04 31 32 33 34").sw == 0x6986);
}

BOOST_AUTO_TEST_CASE(short_ef_id_verify) {
    auto card = jpki_card();
    BOOST_TEST(send(*card, "00 20 00 98").sw == 0x63C3); // 0018 by SFI
    BOOST_TEST(send(*card, "00 20 00 9B").sw == 0x63C5); // 001B by SFI
    BOOST_TEST(send(*card, "00 20 00 9B 08 43 41 52 44 32 30 32 36").sw == 0x9000);
    BOOST_TEST(send(*card, "00 20 00 9C").sw == 0x6A82); // no PIN EF 001C here
    send(*card, "00 A4 02 0C 02 00 01");
    BOOST_TEST(send(*card, "00 B0 00 00 04").sw == 0x9000);
}

BOOST_AUTO_TEST_CASE(signature_certificate_needs_the_signing_password) {
    auto card = jpki_card();
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 01").sw == 0x9000);
    BOOST_TEST(send(*card, "00 B0 00 00 04").sw == 0x6982);
    send(*card, "00 A4 02 0C 02 00 18"); // the authentication PIN does not open it
    send(*card, "00 20 00 80 04 31 32 33 34");
    send(*card, "00 A4 02 0C 02 00 01");
    BOOST_TEST(send(*card, "00 B0 00 00 04").sw == 0x6982);
    send(*card, "00 A4 02 0C 02 00 1B");
    BOOST_TEST(send(*card, "00 20 00 80 08 43 41 52 44 32 30 32 36").sw == 0x9000);
    send(*card, "00 A4 02 0C 02 00 01");
    const auto r = send(*card, "00 B0 00 00 04");
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(r.data[0] == 0x30);
    BOOST_TEST(r.data[1] == 0x82);
}

BOOST_AUTO_TEST_CASE(reselecting_the_application_clears_verification) {
    auto card = jpki_card();
    send(*card, "00 A4 02 0C 02 00 1B");
    send(*card, "00 20 00 80 08 43 41 52 44 32 30 32 36");
    send(*card, "00 A4 02 0C 02 00 01");
    BOOST_TEST(send(*card, "00 B0 00 00 04").sw == 0x9000);
    send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid);
    send(*card, "00 A4 02 0C 02 00 01");
    BOOST_TEST(send(*card, "00 B0 00 00 04").sw == 0x6982);
}

BOOST_AUTO_TEST_CASE(power_cycle_clears_verification_but_keeps_counters) {
    auto card = jpki_card();
    send(*card, "00 A4 02 0C 02 00 18");
    send(*card, "00 20 00 80 04 30 30 30 30");
    send(*card, "00 A4 02 0C 02 00 1B");
    send(*card, "00 20 00 80 08 43 41 52 44 32 30 32 36");
    card->power_off();
    card->power_on();
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 01").sw == 0x6A82); // nothing selected
    send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid);
    send(*card, "00 A4 02 0C 02 00 01");
    BOOST_TEST(send(*card, "00 B0 00 00 04").sw == 0x6982);
    send(*card, "00 A4 02 0C 02 00 18");
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C2);
    card->reset(false);
    send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid);
    BOOST_TEST(send(*card, "00 20 00 98").sw == 0x63C2);
}

BOOST_AUTO_TEST_CASE(certificates_read_in_chunks_like_opensc) {
    auto card = jpki_card();
    for (const char* fid : {"00 0A", "00 0B", "00 02"}) {
        send(*card, std::string("00 A4 02 0C 02 ") + fid);
        const Bytes der = read_der_ef(*card);
        BOOST_TEST(der.size() > 700u, fid);
        BOOST_TEST(openssl::parse_certificate(der) != nullptr, fid);
    }
}

BOOST_AUTO_TEST_CASE(read_binary_at_any_offset_and_short_read_at_the_end) {
    auto card = jpki_card();
    send(*card, "00 A4 02 0C 02 00 0A");
    const Bytes der = read_der_ef(*card);
    const std::size_t size = der.size();
    // 15-bit offsets: any offset, any Le.
    for (std::size_t offset : {std::size_t{1}, std::size_t{255}, std::size_t{256}, size - 10}) {
        Bytes apdu{0x00, 0xB0, static_cast<std::uint8_t>(offset >> 8),
                   static_cast<std::uint8_t>(offset & 0xFF), 0x07};
        const auto r = send(*card, apdu);
        BOOST_TEST(r.sw == 0x9000);
        BOOST_TEST(r.data == Bytes(der.begin() + static_cast<long>(offset),
                                   der.begin() + static_cast<long>(offset + 7)));
    }
    const std::size_t offset = size - 3;
    Bytes apdu{0x00, 0xB0, static_cast<std::uint8_t>(offset >> 8),
               static_cast<std::uint8_t>(offset & 0xFF), 0x00};
    const auto tail = send(*card, apdu);
    BOOST_TEST(tail.sw == 0x9000);
    BOOST_TEST(tail.data.size() == 3u);
    apdu[2] = static_cast<std::uint8_t>(size >> 8);
    apdu[3] = static_cast<std::uint8_t>(size & 0xFF);
    BOOST_TEST(send(*card, apdu).sw == 0x6B00);
    BOOST_TEST(send(*card, "00 B0 7F FF 01").sw == 0x6B00);
}

BOOST_AUTO_TEST_CASE(past_end_answer_follows_the_profile) {
    auto card = jpki_card("mynumber-eof6282");
    send(*card, "00 A4 02 0C 02 00 06");
    const auto short_read = send(*card, "00 B0 00 1E 04");
    BOOST_TEST(short_read.sw == 0x6282);
    BOOST_TEST(short_read.data.size() == 2u);
    BOOST_TEST(send(*card, "00 B0 00 20 01").sw == 0x6282);
}

BOOST_AUTO_TEST_CASE(read_binary_with_short_ef_id) {
    auto card = jpki_card();
    const auto r = send(*card, "00 B0 86 00 20");
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(std::string(r.data.begin(), r.data.begin() + 15) == "JPKIAPICCTOKEN2");
    BOOST_TEST(send(*card, "00 B0 86 08 04").data == bytes_of("CTOK"));
    BOOST_TEST(send(*card, "00 B0 00 00 04").data == bytes_of("JPKI")); // 0006 is now current
    BOOST_TEST(send(*card, "00 B0 81 00 04").sw == 0x6982);             // 0001 needs the password
    BOOST_TEST(send(*card, "00 B0 99 00 04").sw == 0x6A82);             // no EF 0019
    BOOST_TEST(send(*card, "00 B0 A6 00 04").sw == 0x6A86);             // bits 7-6 of P1 must be 0
}

BOOST_AUTO_TEST_CASE(extended_le_reads_a_whole_ef_only_where_advertised) {
    auto card = jpki_card("mynumber");
    send(*card, "00 A4 02 0C 02 00 0A");
    const Bytes der = read_der_ef(*card);
    const auto whole = send(*card, "00 B0 00 00 00 00 00");
    BOOST_TEST(whole.sw == 0x9000);
    BOOST_TEST(whole.data == der);
    BOOST_TEST(send(*card, "00 B0 8A 00 00 00 00").data == der);

    auto noext = jpki_card("mynumber-noext");
    send(*noext, "00 A4 02 0C 02 00 0A");
    BOOST_TEST(send(*noext, "00 B0 00 00 00 00 00").sw == 0x6700);
    BOOST_TEST(send(*noext, "00 B0 00 00 00").sw == 0x9000);
}

BOOST_AUTO_TEST_CASE(select_with_fci_requested) {
    auto card = powered("mynumber");
    const auto fci = send(*card, std::string("00 A4 04 00 0A ") + jpki_aid + " 00");
    BOOST_TEST(fci.sw == 0x9000);
    BOOST_TEST(hex::format(fci.data) == std::string("6F 0C 84 0A ") + jpki_aid);
    BOOST_TEST(send(*card, std::string("00 A4 04 00 0A ") + jpki_aid).data.empty()); // no Le
    const auto fcp = send(*card, "00 A4 02 00 02 00 06 00");
    BOOST_TEST(fcp.sw == 0x9000);
    BOOST_TEST(hex::format(fcp.data) == "62 0B 80 02 00 20 82 01 01 83 02 00 06");

    auto plain = powered("mynumber-eof6282"); // select_fci = none
    const auto r = send(*plain, std::string("00 A4 04 00 0A ") + jpki_aid + " 00");
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(r.data.empty());
}

BOOST_AUTO_TEST_CASE(signing_without_the_pin_answers_6982) {
    auto card = jpki_card();
    const Bytes digest_info = sha256_digest_info("hello");
    Bytes apdu = h("80 2A 00 80");
    apdu.push_back(static_cast<std::uint8_t>(digest_info.size()));
    apdu.insert(apdu.end(), digest_info.begin(), digest_info.end());
    apdu.push_back(0x00);
    send(*card, "00 A4 02 0C 02 00 1A");
    BOOST_TEST(send(*card, apdu).sw == 0x6982);
    send(*card, "00 A4 02 0C 02 00 17");
    BOOST_TEST(send(*card, apdu).sw == 0x6982);
    send(*card, "00 A4 02 0C 02 00 06"); // not a key
    BOOST_TEST(send(*card, apdu).sw == 0x6985);
}

BOOST_AUTO_TEST_CASE(signatures_verify_against_the_certificates) {
    struct Case {
        const char* key;
        const char* pin_ef;
        const char* pin;
        const char* cert;
    };
    for (auto [key, pin_ef, pin, cert] :
         {Case{"00 1A", "00 1B", "08 43 41 52 44 32 30 32 36", "00 01"},
          Case{"00 17", "00 18", "04 31 32 33 34", "00 0A"}}) {
        auto card = jpki_card();
        send(*card, std::string("00 A4 02 0C 02 ") + pin_ef);
        BOOST_TEST(send(*card, std::string("00 20 00 80 ") + pin).sw == 0x9000);
        send(*card, std::string("00 A4 02 0C 02 ") + cert);
        const Bytes cert_der = read_der_ef(*card);
        BOOST_TEST(!cert_der.empty());
        send(*card, std::string("00 A4 02 0C 02 ") + key);
        const std::string message = "cardharness signing test";
        const Bytes digest_info = sha256_digest_info(message);
        Bytes apdu = h("80 2A 00 80");
        apdu.push_back(static_cast<std::uint8_t>(digest_info.size()));
        apdu.insert(apdu.end(), digest_info.begin(), digest_info.end());
        apdu.push_back(0x00);
        const auto r = send(*card, apdu);
        BOOST_TEST(r.sw == 0x9000, key);
        BOOST_TEST(r.data.size() == 256u); // a 258-byte response
        BOOST_TEST(verify_with_certificate(cert_der, message, r.data), key);
        BOOST_TEST(!verify_with_certificate(cert_der, "another message", r.data), key);
        BOOST_TEST(r.time == std::chrono::milliseconds(400));
    }
}

BOOST_AUTO_TEST_CASE(signing_input_limits) {
    auto card = jpki_card();
    send(*card, "00 A4 02 0C 02 00 18");
    send(*card, "00 20 00 80 04 31 32 33 34");
    send(*card, "00 A4 02 0C 02 00 17");
    Bytes max_input(245, 0x5A);
    Bytes apdu = h("80 2A 00 80 F5");
    apdu.insert(apdu.end(), max_input.begin(), max_input.end());
    apdu.push_back(0x00);
    BOOST_TEST(send(*card, apdu).sw == 0x9000);
    apdu = h("80 2A 00 80 F6");
    apdu.insert(apdu.end(), 246, 0x5A);
    apdu.push_back(0x00);
    BOOST_TEST(send(*card, apdu).sw == 0x6700);
    BOOST_TEST(send(*card, "80 2A 00 80 03 01 02 03").sw == 0x6700);    // no Le
    BOOST_TEST(send(*card, "80 2A 00 80 03 01 02 03 80").sw == 0x6C00); // Le too small
}

BOOST_AUTO_TEST_CASE(processing_times_per_command_class) {
    auto card = powered("mynumber-slow");
    BOOST_TEST(send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid).time ==
               std::chrono::milliseconds(3));
    BOOST_TEST(send(*card, "00 B0 86 00 20").time == std::chrono::milliseconds(5));
    BOOST_TEST(send(*card, "00 20 00 98").time == std::chrono::milliseconds(30));
    send(*card, "00 20 00 98 04 31 32 33 34");
    send(*card, "00 A4 02 0C 02 00 17");
    const auto r = send(*card, "80 2A 00 80 03 01 02 03 00");
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(r.time == std::chrono::milliseconds(1800));
}

BOOST_AUTO_TEST_CASE(text_ap_my_number_and_four_facts) {
    auto card = powered("mynumber");
    BOOST_TEST(send(*card, std::string("00 A4 04 0C 0A ") + text_aid).sw == 0x9000);
    send(*card, "00 A4 02 0C 02 00 01");
    BOOST_TEST(send(*card, "00 B0 00 00 11").sw == 0x6982);
    send(*card, "00 A4 02 0C 02 00 11");
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C3);
    BOOST_TEST(send(*card, "00 20 00 80 04 31 32 33 34").sw == 0x9000);
    send(*card, "00 A4 02 0C 02 00 01");
    const auto number = send(*card, "00 B0 00 00 11");
    BOOST_TEST(number.sw == 0x9000);
    BOOST_TEST(number.data.size() == 17u);
    BOOST_TEST(hex::format(Bytes(number.data.begin(), number.data.begin() + 3)) == "FF 10 0C");
    const std::string digits(number.data.begin() + 3, number.data.begin() + 15);
    BOOST_TEST(is_valid_my_number(digits));
    send(*card, "00 A4 02 0C 02 00 02");
    const auto head = send(*card, "00 B0 00 00 07");
    BOOST_TEST(head.sw == 0x9000);
    BOOST_TEST(head.data[0] == 0xFF);
    BOOST_TEST(head.data[1] == 0x20);
    const auto all = send(*card, "00 B0 00 00 00");
    const std::string text(all.data.begin(), all.data.end());
    BOOST_TEST(text.find("CANARY-NAME-7Q2X") != std::string::npos);
    BOOST_TEST(text.find("CANARY-ADDR-3M8P") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(visual_and_juki_aps_answer_with_their_pins) {
    auto card = powered("mynumber");
    BOOST_TEST(send(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02").sw == 0x9000);
    send(*card, "00 A4 02 0C 02 00 13");
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63CA);
    for (const char* aid : {"D3 92 10 00 31 00 01 01 01 00", "D3 92 10 00 31 00 01 01 04 01"}) {
        BOOST_TEST(send(*card, std::string("00 A4 04 0C 0A ") + aid).sw == 0x9000, aid);
        BOOST_TEST(send(*card, "00 A4 02 0C 02 00 1C").sw == 0x9000, aid);
        BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C3, aid);
    }
}

BOOST_AUTO_TEST_CASE(juki_card_signs_with_rsa_1024_and_expired_certificates) {
    auto card = powered("juki");
    BOOST_TEST(hex::format(card->atr()) == "3B E0 00 FF 81 31 FE 45 14");
    send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid);
    send(*card, "00 A4 02 0C 02 00 06");
    const auto token = send(*card, "00 B0 00 00 20");
    BOOST_TEST(std::string(token.data.begin(), token.data.end()) ==
               "JPKIAPICCTOKEN                  ");
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 0A").sw == 0x6A82); // no authentication cert
    BOOST_TEST(send(*card, "00 A4 02 0C 02 00 17").sw == 0x6A82);
    send(*card, "00 A4 02 0C 02 00 1B");
    BOOST_TEST(send(*card, "00 20 00 80").sw == 0x63C5);
    BOOST_TEST(send(*card, "00 20 00 80 08 4A 55 4B 49 32 30 32 36").sw == 0x9000); // JUKI2026
    send(*card, "00 A4 02 0C 02 00 01");
    const Bytes cert_der = read_der_ef(*card);
    const openssl::X509Ptr cert = openssl::parse_certificate(cert_der);
    BOOST_REQUIRE(cert);
    BOOST_TEST(EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())) == 1024);
    BOOST_TEST(X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0); // expired
    send(*card, "00 A4 02 0C 02 00 1A");
    const Bytes digest_info = sha256_digest_info("juki");
    Bytes apdu = h("80 2A 00 80 33");
    apdu.insert(apdu.end(), digest_info.begin(), digest_info.end());
    apdu.push_back(0x00);
    const auto r = send(*card, apdu);
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(r.data.size() == 128u); // a 130-byte response
    BOOST_TEST(verify_with_certificate(cert_der, "juki", r.data));
    BOOST_TEST(hex::format(make_card("juki-contactless")->atr()) ==
               "3B 88 80 01 00 00 14 E0 B3 81 91 00 5E");
    BOOST_TEST(send(*card, "00 B0 00 00 00 00 00").sw == 0x6700); // no extended length
}

BOOST_AUTO_TEST_CASE(state_persists_across_power_cycles_and_serialises) {
    auto card = powered("mynumber");
    send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid);
    send(*card, "00 20 00 9B 06 41 41 41 41 41 41");
    send(*card, "00 20 00 9B 06 41 41 41 41 41 41");
    const CardState state = card->state();
    BOOST_TEST(state.tries_left.at("jpki/001B") == 3);
    BOOST_TEST(state.tries_left.at("jpki/0018") == 3);
    const std::string text = state.to_text();
    BOOST_TEST(text.find("pin jpki/001B 3\n") != std::string::npos);
    BOOST_TEST((CardState::from_text(text) == state));

    auto other = powered("mynumber"); // a new card object of the same lab slot
    other->set_state(CardState::from_text(text));
    send(*other, std::string("00 A4 04 0C 0A ") + jpki_aid);
    BOOST_TEST(send(*other, "00 20 00 9B").sw == 0x63C3);
    other->reset_state();
    BOOST_TEST(send(*other, "00 20 00 9B").sw == 0x63C5);
    BOOST_CHECK_THROW(CardState::from_text("pin jpki/001B many\n"), ConfigError);
    BOOST_CHECK_THROW(CardState::from_text("lock jpki/001B 2\n"), ConfigError);
    CardState clamp;
    clamp.tries_left["jpki/0018"] = 9;
    other->set_state(clamp);
    BOOST_TEST(other->state().tries_left.at("jpki/0018") == 3);
}

BOOST_AUTO_TEST_CASE(citizen_option_issues_jpki_style_certificates) {
    Options options;
    options.citizen = true;
    auto card = powered("mynumber", options);
    BOOST_TEST(!card->is_test_card());
    send(*card, std::string("00 A4 04 0C 0A ") + jpki_aid);
    send(*card, "00 A4 02 0C 02 00 0B");
    const Bytes der = read_der_ef(*card);
    const std::string text(der.begin(), der.end());
    BOOST_TEST(text.find("JPKI") != std::string::npos);
    BOOST_TEST(text.find("cardharness") == std::string::npos);
    auto test_card = jpki_card();
    send(*test_card, "00 A4 02 0C 02 00 0B");
    const Bytes test_der = read_der_ef(*test_card);
    BOOST_TEST(std::string(test_der.begin(), test_der.end()).find("cardharness test PKI") !=
               std::string::npos);
}
