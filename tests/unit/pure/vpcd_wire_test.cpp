#include "pure/error.hpp"
#include "pure/vpcd_wire.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace harness::vpcd;

BOOST_AUTO_TEST_CASE(classifies_control_codes_and_apdus) {
    struct Case {
        Bytes payload;
        MessageKind kind;
        bool reply;
    };
    const Case cases[] = {
        {{0x00}, MessageKind::PowerOff, false},
        {{0x01}, MessageKind::PowerOn, false},
        {{0x02}, MessageKind::Reset, false},
        {{0x04}, MessageKind::GetAtr, true},
        {{0x03}, MessageKind::UnknownControl, false},
        {{0xFF}, MessageKind::UnknownControl, false},
        {{0x00, 0xA4}, MessageKind::Apdu, true},
        {{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}, MessageKind::Apdu, true},
        {{}, MessageKind::Empty, false},
    };
    for (const auto& c : cases) {
        const Message m = classify(c.payload);
        BOOST_TEST(static_cast<int>(m.kind) == static_cast<int>(c.kind), to_string(c.kind));
        BOOST_TEST(m.payload == c.payload);
        BOOST_TEST(expects_reply(m.kind) == c.reply, to_string(c.kind));
    }
}

BOOST_AUTO_TEST_CASE(encodes_big_endian_length_prefix) {
    BOOST_TEST(encode_frame(Bytes{0x90, 0x00}) == (Bytes{0x00, 0x02, 0x90, 0x00}));
    BOOST_TEST(encode_frame(Bytes{0x3B}) == (Bytes{0x00, 0x01, 0x3B}));
    const Bytes big(258, 0xAB);
    const Bytes frame = encode_frame(big);
    BOOST_TEST(frame.size() == 260u);
    BOOST_TEST(frame[0] == 0x01);
    BOOST_TEST(frame[1] == 0x02);
    const Bytes largest(max_payload, 0x11);
    const Bytes f2 = encode_frame(largest);
    BOOST_TEST(f2[0] == 0xFF);
    BOOST_TEST(f2[1] == 0xFF);
    BOOST_TEST(f2.size() == max_payload + 2);
}

BOOST_AUTO_TEST_CASE(refuses_empty_and_oversized_payloads) {
    BOOST_CHECK_THROW(encode_frame(Bytes{}), Error);
    BOOST_CHECK_THROW(encode_frame(Bytes(max_payload + 1, 0)), Error);
}

BOOST_AUTO_TEST_CASE(decodes_frames_split_and_joined_arbitrarily) {
    const Bytes a{0x04};
    const Bytes b{0x00, 0xB0, 0x00, 0x00, 0x00};
    const Bytes c(300, 0x5A);
    Bytes stream;
    for (const Bytes* p : {&a, &b, &c}) {
        const Bytes f = encode_frame(*p);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                              std::size_t{64}, stream.size()}) {
        FrameDecoder decoder;
        std::vector<Bytes> got;
        for (std::size_t i = 0; i < stream.size(); i += chunk) {
            const std::size_t n = std::min(chunk, stream.size() - i);
            decoder.feed(ByteView(stream.data() + i, n));
            while (auto payload = decoder.next())
                got.push_back(*payload);
        }
        BOOST_TEST_REQUIRE(got.size() == 3u, "chunk " << chunk);
        BOOST_TEST(got[0] == a);
        BOOST_TEST(got[1] == b);
        BOOST_TEST(got[2] == c);
        BOOST_TEST(decoder.buffered() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(keeps_incomplete_frames_buffered) {
    FrameDecoder decoder;
    decoder.feed(Bytes{0x00});
    BOOST_TEST(!decoder.next().has_value());
    decoder.feed(Bytes{0x03, 0x01});
    BOOST_TEST(!decoder.next().has_value());
    BOOST_TEST(decoder.buffered() == 3u);
    decoder.feed(Bytes{0x02, 0x03});
    BOOST_TEST(decoder.next().value() == (Bytes{0x01, 0x02, 0x03}));
    // A zero-length frame decodes to an empty payload (vpcd never sends one; we still parse it).
    decoder.feed(Bytes{0x00, 0x00});
    BOOST_TEST(decoder.next().value().empty());
}
