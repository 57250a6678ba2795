#include "pure/ccid_trace.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>

using namespace harness;
using ccid::ExchangeLevel;
using ccid::TraceDirection;
using ccid::TraceRedactor;

namespace {

Bytes message(std::uint8_t type, std::uint8_t seq, Bytes payload, std::uint8_t b7 = 0,
              std::uint8_t b8 = 0, std::uint8_t b9 = 0) {
    Bytes out(10 + payload.size());
    out[0] = type;
    out[1] = static_cast<std::uint8_t>(payload.size());
    out[2] = static_cast<std::uint8_t>(payload.size() >> 8);
    out[6] = seq;
    out[7] = b7;
    out[8] = b8;
    out[9] = b9;
    std::copy(payload.begin(), payload.end(), out.begin() + 10);
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(apdu_level_keeps_the_command_header_and_the_status_word) {
    TraceRedactor r(ExchangeLevel::ShortApdu);
    // VERIFY with a 4-digit PIN: the PIN never shows.
    const auto out =
        r.redact(TraceDirection::Out,
                 message(0x6F, 5, {0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}));
    BOOST_TEST(out == "6F 09 00 00 00 00 05 00 00 00 | 00 20 00 80 <redacted len=5>");
    BOOST_TEST(out.find("31 32") == std::string::npos);
    // A READ BINARY response: data redacted, SW kept.
    const auto in = r.redact(TraceDirection::In, message(0x80, 5, {0x4A, 0x50, 0x4B, 0x90, 0x00}));
    BOOST_TEST(in == "80 05 00 00 00 00 05 00 00 00 | <redacted len=3> 90 00");
    // A chained continuation (wLevelParameter 0x0002) has no command header of its own.
    const auto part = r.redact(TraceDirection::Out, message(0x6F, 6, {1, 2, 3, 4, 5}, 0, 2, 0));
    BOOST_TEST(part == "6F 05 00 00 00 00 06 00 02 00 | <redacted len=5>");
}

BOOST_AUTO_TEST_CASE(tpdu_t1_keeps_the_block_framing_and_s_blocks) {
    TraceRedactor r(ExchangeLevel::Tpdu);
    // Before SetParameters said T=1, an XfrBlock payload is opaque.
    BOOST_TEST(
        r.redact(TraceDirection::Out, message(0x6F, 1, {0x00, 0x00, 0x02, 0xAA, 0xBB, 0x11})) ==
        "6F 06 00 00 00 00 01 00 00 00 | <redacted len=6>");
    r.redact(TraceDirection::Out, message(0x61, 2, {0x13, 0x10, 0xFF, 0x46, 0x00, 0xFE, 0x00}, 1));
    // I-block: NAD PCB LEN and EDC stay, INF goes.
    BOOST_TEST(r.redact(TraceDirection::Out,
                        message(0x6F, 3, {0x00, 0x40, 0x03, 0x00, 0xB0, 0x00, 0xF3})) ==
               "6F 07 00 00 00 00 03 00 00 00 | 00 40 03 <redacted len=3> F3");
    // S(WTX request) from the card: all of it (no card data).
    BOOST_TEST(r.redact(TraceDirection::In, message(0x80, 3, {0x00, 0xC3, 0x01, 0x02, 0xC0})) ==
               "80 05 00 00 00 00 03 00 00 00 | 00 C3 01 02 C0");
}

BOOST_AUTO_TEST_CASE(atr_and_parameters_stay_secure_and_unknown_messages_do_not) {
    TraceRedactor r(ExchangeLevel::ExtendedApdu);
    r.redact(TraceDirection::Out, message(0x62, 1, {}));
    BOOST_TEST(r.redact(TraceDirection::In, message(0x80, 1, {0x3B, 0x88, 0x80, 0x01})) ==
               "80 04 00 00 00 00 01 00 00 00 | 3B 88 80 01");
    // PC_to_RDR_Secure carries a PIN block; Escape is vendor data: header only.
    BOOST_TEST(r.redact(TraceDirection::Out, message(0x69, 2, {0x00, 0x31, 0x32})) ==
               "69 03 00 00 00 00 02 00 00 00 | <redacted len=3>");
    BOOST_TEST(r.redact(TraceDirection::Out, message(0x6B, 3, {0x01})) ==
               "6B 01 00 00 00 00 03 00 00 00 | <redacted len=1>");
    // A DataBlock answering nothing the redactor saw: fail closed.
    BOOST_TEST(r.redact(TraceDirection::In, message(0x80, 9, {0x90, 0x00})) ==
               "80 02 00 00 00 00 09 00 00 00 | <redacted len=2>");
    BOOST_TEST(r.redact(TraceDirection::Interrupt, Bytes{0x50, 0x03}) == "50 03");
    BOOST_TEST(r.redact(TraceDirection::Out, Bytes{0x6F, 0x01}) == "6F 01");
}
