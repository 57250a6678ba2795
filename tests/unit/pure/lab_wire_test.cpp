#include "pure/lab_wire.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace harness::labwire;

BOOST_AUTO_TEST_CASE(requests_round_trip_for_every_operation) {
    for (Op op : {Op::Hello, Op::Capability, Op::SetProtocol, Op::Power, Op::Transmit, Op::Control,
                  Op::Presence, Op::Close, Op::WaitChange, Op::Status, Op::Insert, Op::Remove,
                  Op::Reset, Op::Stop, Op::Unplug, Op::Plug, Op::Trace}) {
        Request request{op, "r03", 0x42000D48, Bytes{0x00, 0xA4, 0x04, 0x0C}};
        const auto decoded = decode_request(encode_body(request));
        BOOST_TEST_REQUIRE(decoded.has_value(), to_string(op));
        BOOST_TEST((*decoded == request), to_string(op));
    }
    Request empty{Op::Status, "", 0, {}};
    BOOST_TEST((decode_request(encode_body(empty)).value() == empty));
}

BOOST_AUTO_TEST_CASE(request_layout_is_the_documented_one) {
    const Bytes body = encode_body(Request{Op::Transmit, "ab", 1, Bytes{0xCA}});
    const Bytes expected{0x01, 0x05, 0x02, 'a', 'b', 0x00, 0x00, 0x00, 0x01, 0xCA};
    BOOST_TEST(body == expected);
    const Bytes reply = encode_body(Reply{ifd::Code::CommunicationError, Bytes{0x90, 0x00}});
    const Bytes expected_reply{0x01, 0x00, 0x00, 0x02, 0x64, 0x90, 0x00};
    BOOST_TEST(reply == expected_reply);
}

BOOST_AUTO_TEST_CASE(replies_round_trip_with_large_payloads) {
    Bytes big(65538);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::uint8_t>(i * 7);
    for (ifd::Code code : {ifd::Code::Success, ifd::Code::ResponseTimeout, ifd::Code::IccNotPresent,
                           ifd::Code::BadRequest}) {
        Reply reply{code, big};
        BOOST_TEST((decode_reply(encode_body(reply)).value() == reply));
    }
}

BOOST_AUTO_TEST_CASE(malformed_bodies_are_rejected_with_a_reason) {
    struct Case {
        Bytes body;
        const char* why;
    };
    const Case cases[] = {
        {{}, "shorter"},
        {{0x01, 0x05, 0x00, 0x00, 0x00, 0x00}, "shorter"},
        {{0x02, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00}, "version"},
        {{0x01, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00}, "unknown operation"},
        {{0x01, 0x05, 0x41, 0x00, 0x00, 0x00, 0x00}, "longer than 64"},
        {{0x01, 0x05, 0x04, 'a', 'b', 0x00, 0x00, 0x00}, "slot name"},
    };
    for (const auto& c : cases) {
        std::string why;
        BOOST_TEST(!decode_request(c.body, &why).has_value());
        BOOST_TEST(why.find(c.why) != std::string::npos, why);
    }
    std::string why;
    BOOST_TEST(!decode_reply(Bytes{0x01, 0x00}, &why).has_value());
    BOOST_TEST(!why.empty());
    BOOST_CHECK_THROW(encode_body(Request{Op::Hello, std::string(65, 'x'), 0, {}}),
                      std::length_error);
}

BOOST_AUTO_TEST_CASE(frames_carry_a_big_endian_length) {
    const Bytes body{0xAA, 0xBB, 0xCC};
    const Bytes framed = frame(body);
    BOOST_TEST(framed == (Bytes{0x00, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC}));
    BOOST_TEST(body_length(framed).value() == 3U);
    BOOST_TEST(!body_length(Bytes{0x00, 0x10, 0x00, 0x01}).has_value()); // above 1 MiB
    BOOST_TEST(!body_length(Bytes{0x00, 0x00}).has_value());
}

BOOST_AUTO_TEST_CASE(device_names_split_at_the_last_colon) {
    const auto name = parse_device_name("/tmp/a:b/lab.sock:r01");
    BOOST_TEST_REQUIRE(name.has_value());
    BOOST_TEST(name->socket_path == "/tmp/a:b/lab.sock");
    BOOST_TEST(name->slot == "r01");
    BOOST_TEST(format_device_name(*name) == "/tmp/a:b/lab.sock:r01");
    for (const char* bad : {"", "nocolon", ":r01", "/tmp/lab.sock:"})
        BOOST_TEST(!parse_device_name(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(codes_have_pcsc_lite_names) {
    BOOST_TEST(std::string(ifd::to_string(ifd::Code::CommunicationError)) ==
               "IFD_COMMUNICATION_ERROR");
    BOOST_TEST(std::string(ifd::to_string(ifd::Code::ResponseTimeout)) == "IFD_RESPONSE_TIMEOUT");
    BOOST_TEST(static_cast<std::uint32_t>(ifd::Code::IccNotPresent) == 616U);
}
