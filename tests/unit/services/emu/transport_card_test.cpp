#include "unit/services/emu/card_helpers.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace harness::emu;
using namespace harness::emu::test;

namespace {

std::uint8_t pattern_byte(std::size_t i) {
    return static_cast<std::uint8_t>(i % 251);
}

Bytes pattern(std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = pattern_byte(i);
    return out;
}

// Builds a command APDU: short when it fits, extended otherwise (or when forced).
Bytes transport_apdu(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data,
                     std::size_t ne, bool force_extended = false) {
    Bytes out{0x80, ins, p1, p2};
    const bool extended = force_extended || data.size() > 255 || ne > 256;
    if (!data.empty()) {
        if (extended) {
            out.push_back(0x00);
            out.push_back(static_cast<std::uint8_t>(data.size() >> 8));
            out.push_back(static_cast<std::uint8_t>(data.size() & 0xFF));
        } else {
            out.push_back(static_cast<std::uint8_t>(data.size()));
        }
        out.insert(out.end(), data.begin(), data.end());
    }
    if (ne > 0) {
        if (extended) {
            if (data.empty())
                out.push_back(0x00);
            out.push_back(static_cast<std::uint8_t>((ne >> 8) & 0xFF));
            out.push_back(static_cast<std::uint8_t>(ne & 0xFF));
        } else {
            out.push_back(static_cast<std::uint8_t>(ne & 0xFF));
        }
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(transport_card_is_ready_at_power_on_and_selectable) {
    auto card = powered("transport");
    BOOST_TEST(hex::format(card->atr()) == "3B 80 80 01 01");
    BOOST_TEST(send(*card, "80 10 00 00").sw == 0x9000);
    BOOST_TEST(send(*card, "00 A4 04 0C 08 F0 43 48 54 45 53 54 01").sw == 0x9000);
    BOOST_TEST(send(*card, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01").sw == 0x6A82);
}

BOOST_AUTO_TEST_CASE(case_1_accepts_only_a_bare_header) {
    auto card = powered("transport");
    BOOST_TEST(send(*card, "80 10 00 00").sw == 0x9000);
    BOOST_TEST(send(*card, "80 10 00 00 01 00 ").sw == 0x6700);
    BOOST_TEST(send(*card, "80 10 00 00 00").sw == 0x6700);
}

BOOST_AUTO_TEST_CASE(case_2_returns_ne_pattern_bytes_at_the_boundaries) {
    auto card = powered("transport");
    for (std::size_t ne : {1u, 2u, 255u, 256u, 257u, 258u, 1000u, 4096u, 65535u, 65536u}) {
        const auto r = send(*card, transport_apdu(0x20, 0, 0, {}, ne));
        BOOST_TEST(r.sw == 0x9000, ne);
        BOOST_TEST(r.data.size() == ne, ne);
        BOOST_TEST((r.data == pattern(ne)), ne);
    }
    // Le = 00 means 256 in short form; 00 00 00 means 65536 in extended form.
    BOOST_TEST(send(*card, "80 20 00 00 00").data.size() == 256u);
    BOOST_TEST(send(*card, "80 20 00 00 00 00 00").data.size() == 65536u);
    BOOST_TEST(send(*card, transport_apdu(0x20, 0, 0, {}, 5, true)).data.size() == 5u);
}

BOOST_AUTO_TEST_CASE(case_3_checks_lc_bytes_at_the_boundaries) {
    auto card = powered("transport");
    for (std::size_t lc : {1u, 2u, 255u, 256u, 1000u, 65535u}) {
        BOOST_TEST(send(*card, transport_apdu(0x30, 0, 0, pattern(lc), 0)).sw == 0x9000, lc);
        Bytes wrong = pattern(lc);
        wrong.back() ^= 0xFF;
        BOOST_TEST(send(*card, transport_apdu(0x30, 0, 0, wrong, 0)).sw == 0x6A80, lc);
    }
    BOOST_TEST(send(*card, transport_apdu(0x30, 0, 0, pattern(3), 0, true)).sw == 0x9000);
    BOOST_TEST(send(*card, "80 30 00 00 05 00 01 02").sw == 0x6700); // Lc says 5, 3 sent
}

BOOST_AUTO_TEST_CASE(case_4_checks_and_returns_or_echoes) {
    auto card = powered("transport");
    struct Case {
        std::size_t lc, ne;
    };
    for (auto [lc, ne] : {Case{1, 1}, Case{255, 256}, Case{51, 256}, Case{256, 256}, Case{1, 65536},
                          Case{65535, 65535}, Case{300, 1}}) {
        const auto r = send(*card, transport_apdu(0x40, 0, 0, pattern(lc), ne));
        BOOST_TEST(r.sw == 0x9000, lc << "/" << ne);
        BOOST_TEST((r.data == pattern(ne)), lc << "/" << ne);
    }
    const Bytes data = h("DE AD BE EF");
    const auto echo = send(*card, transport_apdu(0x40, 1, 0, data, 256));
    BOOST_TEST(echo.sw == 0x9000);
    BOOST_TEST((echo.data == data));
    BOOST_TEST((send(*card, transport_apdu(0x40, 1, 0, data, 2)).data == h("DE AD")));
    BOOST_TEST(send(*card, transport_apdu(0x40, 0, 0, data, 2)).sw == 0x6A80);
    BOOST_TEST(send(*card, transport_apdu(0x40, 0, 0, pattern(3), 0)).sw == 0x6700); // no Le
}

BOOST_AUTO_TEST_CASE(delay_command_takes_the_requested_time) {
    auto card = powered("transport");
    for (unsigned ms : {0u, 1u, 500u, 2500u, 65535u}) {
        const auto r = send(*card, Bytes{0x80, 0x50, static_cast<std::uint8_t>(ms >> 8),
                                         static_cast<std::uint8_t>(ms & 0xFF)});
        BOOST_TEST(r.sw == 0x9000);
        BOOST_TEST(r.time.count() == static_cast<long>(ms) * 1000, ms);
    }
    BOOST_TEST(send(*card, "80 10 00 00").time == std::chrono::milliseconds(1));
}

BOOST_AUTO_TEST_CASE(sw_61xx_then_get_response) {
    auto card = powered("transport");
    BOOST_TEST(send(*card, "80 61 00 20").sw == 0x6120);
    const auto r = send(*card, "00 C0 00 00 20");
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST((r.data == pattern(0x20)));
    BOOST_TEST(send(*card, "00 C0 00 00 20").sw == 0x6985); // nothing left

    // 600 bytes waiting: 61 00, three GET RESPONSEs.
    BOOST_TEST(send(*card, "80 61 02 58").sw == 0x6100);
    Bytes all;
    auto part = send(*card, "00 C0 00 00 00");
    BOOST_TEST(part.sw == 0x6100);
    all.insert(all.end(), part.data.begin(), part.data.end());
    part = send(*card, "00 C0 00 00 00");
    BOOST_TEST(part.sw == 0x6158);
    all.insert(all.end(), part.data.begin(), part.data.end());
    part = send(*card, "00 C0 00 00 58");
    BOOST_TEST(part.sw == 0x9000);
    all.insert(all.end(), part.data.begin(), part.data.end());
    BOOST_TEST((all == pattern(600)));

    // A smaller Le than waiting leaves the rest for the next GET RESPONSE.
    send(*card, "80 61 00 10");
    part = send(*card, "00 C0 00 00 04");
    BOOST_TEST(part.sw == 0x610C);
    BOOST_TEST(part.data.size() == 4u);
}

BOOST_AUTO_TEST_CASE(sw_6cxx_then_resend_with_the_right_le) {
    auto card = powered("transport");
    BOOST_TEST(send(*card, "80 6C 00 2A 00").sw == 0x6C2A);
    BOOST_TEST(send(*card, "80 6C 00 2A 10").sw == 0x6C2A);
    BOOST_TEST(send(*card, "80 6C 00 2A").sw == 0x6C2A);
    const auto r = send(*card, "80 6C 00 2A 2A");
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST((r.data == pattern(0x2A)));
    BOOST_TEST(send(*card, "80 6C 00 00 10").sw == 0x6C00);
    BOOST_TEST(send(*card, "80 6C 00 00 00").data.size() == 256u);
}

BOOST_AUTO_TEST_CASE(unknown_commands_and_malformed_lengths) {
    auto card = powered("transport");
    BOOST_TEST(send(*card, "80 99 00 00").sw == 0x6D00);
    BOOST_TEST(send(*card, "C0 10 00 00").sw == 0x6E00);
    BOOST_TEST(send(*card, "80 20 00 00 00 01").sw == 0x6700);             // short Lc 0 + 1 byte
    BOOST_TEST(send(*card, "80 30 00 00 00 00 00 01").sw == 0x6700);       // extended Lc 0
    BOOST_TEST(send(*card, "80 30 00 00 00 00 02 00 01 02").sw == 0x6700); // Lc 2, 3 bytes
}
