#include "pure/ccid_message.hpp"

#include <boost/test/unit_test.hpp>
#include <ostream>

using namespace harness;
using namespace harness::ccid;

namespace harness::ccid {
std::ostream& operator<<(std::ostream& os, IccStatus s) {
    return os << to_string(s);
}
std::ostream& operator<<(std::ostream& os, CommandStatus s) {
    return os << to_string(s);
}
} // namespace harness::ccid

namespace {

Bytes msg(std::uint8_t type, ByteView data, std::uint8_t slot, std::uint8_t seq, std::uint8_t b7,
          std::uint8_t b8 = 0, std::uint8_t b9 = 0) {
    Bytes out{type,
              static_cast<std::uint8_t>(data.size()),
              static_cast<std::uint8_t>(data.size() >> 8),
              static_cast<std::uint8_t>(data.size() >> 16),
              static_cast<std::uint8_t>(data.size() >> 24),
              slot,
              seq,
              b7,
              b8,
              b9};
    for (const std::uint8_t b : data) // (insert() trips a GCC 12 -Warray-bounds false positive)
        out.push_back(b);
    return out;
}

Command parse_ok(const Bytes& bytes) {
    const auto parsed = parse_command(bytes);
    BOOST_TEST_REQUIRE(parsed.command.has_value());
    BOOST_TEST(parsed.findings.empty());
    BOOST_TEST(parsed.error == 0);
    // Every well-formed command re-encodes to the same bytes.
    BOOST_TEST(encode(*parsed.command) == bytes);
    return *parsed.command;
}

} // namespace

BOOST_AUTO_TEST_CASE(icc_power_on_with_power_select) {
    // As the CCID driver sends it: slot 0, bSeq 7, bPowerSelect 1 (5 V).
    const Command c = parse_ok(msg(0x62, {}, 0, 7, 0x01));
    BOOST_TEST(static_cast<int>(c.type) == 0x62);
    BOOST_TEST(c.seq == 7);
    BOOST_TEST(static_cast<int>(c.power_select) == 1);
    const auto bad = parse_command(msg(0x62, {}, 0, 1, 0x04));
    BOOST_TEST(!bad.command);
    BOOST_TEST(bad.error == error::bad_power_select);
}

BOOST_AUTO_TEST_CASE(icc_power_off_get_slot_status_and_parameters_carry_no_data) {
    for (const std::uint8_t type : Bytes{0x63, 0x65, 0x6C, 0x6D, 0x72}) {
        const Command c = parse_ok(msg(type, {}, 1, 2, 0));
        BOOST_TEST(static_cast<int>(c.type) == type);
        BOOST_TEST(c.slot == 1);
        const Bytes extra{0x00};
        const auto bad = parse_command(msg(type, extra, 0, 0, 0));
        BOOST_TEST(!bad.command);
        BOOST_TEST(bad.error == error::bad_length);
    }
}

BOOST_AUTO_TEST_CASE(xfr_block_carries_bwi_and_level_parameter) {
    const Bytes apdu{0x00, 0xA4, 0x04, 0x0C, 0x02, 0xD3, 0x92};
    const Command c = parse_ok(msg(0x6F, apdu, 0, 9, 0x05, 0x10, 0x00));
    BOOST_TEST(c.bwi == 5);
    BOOST_TEST(c.level_parameter == chain::empty_continue);
    BOOST_TEST(c.data == apdu);
    const Command d = parse_ok(msg(0x6F, apdu, 0, 9, 0, 0x02, 0x01));
    BOOST_TEST(d.level_parameter == 0x0102);
}

BOOST_AUTO_TEST_CASE(set_parameters_t0_and_t1_structures) {
    const Bytes t0{0x13, 0x00, 0x00, 0x0A, 0x00};
    const Command c0 = parse_ok(msg(0x61, t0, 0, 1, 0));
    const auto p0 = decode_parameters(c0.protocol, c0.data);
    BOOST_TEST_REQUIRE(p0.has_value());
    BOOST_TEST(p0->t0.findex_dindex == 0x13);
    BOOST_TEST(p0->t0.waiting_integer == 0x0A);
    BOOST_TEST(p0->encode() == t0);

    const Bytes t1{0x11, 0x11, 0xFF, 0x46, 0x00, 0xFB, 0x00};
    const Command c1 = parse_ok(msg(0x61, t1, 0, 2, 1));
    const auto p1 = decode_parameters(c1.protocol, c1.data);
    BOOST_TEST_REQUIRE(p1.has_value());
    BOOST_TEST(p1->t1.uses_crc());
    BOOST_TEST(p1->t1.guard_time == 0xFF);
    BOOST_TEST(p1->t1.waiting_integers == 0x46);
    BOOST_TEST(p1->t1.ifsc == 0xFB);
    BOOST_TEST(p1->encode() == t1);

    // A T=1 structure announced as T=0 has the wrong length; protocol 2 does not exist.
    const auto wrong = parse_command(msg(0x61, t1, 0, 3, 0));
    BOOST_TEST(wrong.error == error::bad_length);
    const auto t2 = parse_command(msg(0x61, t0, 0, 3, 2));
    BOOST_TEST(t2.error == error::bad_protocol);
}

BOOST_AUTO_TEST_CASE(escape_secure_mechanical_clock_t0apdu) {
    const Bytes escape{0x1F, 0x01};
    BOOST_TEST(parse_ok(msg(0x6B, escape, 0, 1, 0)).data == escape);
    const Bytes pin_verify{0x00, 0x00, 0x82, 0x04, 0x00, 0x00, 0x00};
    const Command secure = parse_ok(msg(0x69, pin_verify, 0, 2, 0, 0, 0));
    BOOST_TEST(static_cast<int>(secure.type) == 0x69);
    BOOST_TEST(secure.data == pin_verify);
    BOOST_TEST(parse_ok(msg(0x71, {}, 0, 3, 0x04)).function == 4);
    BOOST_TEST(parse_ok(msg(0x6E, {}, 0, 4, 0x01)).function == 1);
    const Command t0apdu = parse_ok(msg(0x6A, {}, 0, 5, 0x03, 0x00, 0xA0));
    BOOST_TEST(t0apdu.function == 3);
    BOOST_TEST(t0apdu.class_get_response == 0x00);
    BOOST_TEST(t0apdu.class_envelope == 0xA0);
}

BOOST_AUTO_TEST_CASE(set_data_rate_and_clock_frequency) {
    const Bytes data{0xA0, 0x0F, 0x00, 0x00, 0x02, 0xA8, 0x00, 0x00}; // 4000 kHz, 43010 bps
    const Command c = parse_ok(msg(0x73, data, 0, 6, 0));
    BOOST_TEST(c.clock_khz == 4000U);
    BOOST_TEST(c.data_rate_bps == 43010U);
    const auto bad = parse_command(msg(0x73, ByteView(data).first(4), 0, 6, 0));
    BOOST_TEST(bad.error == error::bad_length);
}

BOOST_AUTO_TEST_CASE(bad_messages_are_values_with_the_firmware_error) {
    const auto tiny = parse_command(Bytes{0x62, 0x00});
    BOOST_TEST(!tiny.header);
    BOOST_TEST(tiny.findings.front().code == "ccid_message_too_short");

    const auto unknown = parse_command(msg(0x99, {}, 0, 1, 0));
    BOOST_TEST_REQUIRE(unknown.header.has_value());
    BOOST_TEST(!unknown.command);
    BOOST_TEST(unknown.error == error::command_not_supported);

    Bytes longer = msg(0x6F, Bytes{0x00, 0xB0}, 0, 1, 0);
    longer.push_back(0x00); // one byte more than dwLength says
    BOOST_TEST(parse_command(longer).error == error::bad_length);
    Bytes shorter = msg(0x6F, Bytes{0x00, 0xB0, 0x00}, 0, 1, 0);
    shorter.pop_back();
    const auto s = parse_command(shorter);
    BOOST_TEST(s.error == error::bad_length);
    BOOST_TEST(s.findings.front().code == "ccid_length_mismatch");
    // The header is still there to answer to (bSeq echo).
    BOOST_TEST(s.header->seq == 1);
}

BOOST_AUTO_TEST_CASE(data_block_with_chain_parameter) {
    const Reply r = data_block(0, 4, status_byte(IccStatus::Active, CommandStatus::Ok), 0,
                               static_cast<std::uint8_t>(chain::begin_continue), Bytes{0x90, 0x00});
    const Bytes wire = encode(r);
    BOOST_TEST(wire == (Bytes{0x80, 0x02, 0, 0, 0, 0x00, 0x04, 0x00, 0x00, 0x01, 0x90, 0x00}));
    const auto back = parse_reply(wire);
    BOOST_TEST_REQUIRE(back.reply.has_value());
    BOOST_TEST(back.reply->specific == 0x01);
    BOOST_TEST((*back.reply == r));
}

BOOST_AUTO_TEST_CASE(slot_status_parameters_escape_and_data_rate_replies) {
    const Reply ss =
        slot_status(1, 9, status_byte(IccStatus::Absent, CommandStatus::Failed), error::icc_mute);
    BOOST_TEST(encode(ss) == (Bytes{0x81, 0, 0, 0, 0, 0x01, 0x09, 0x42, 0xFE, 0x00}));
    BOOST_TEST(ss.icc() == IccStatus::Absent);
    BOOST_TEST(ss.command_status() == CommandStatus::Failed);

    ProtocolParameters p;
    p.protocol = 1;
    p.t1.ifsc = 0xFE;
    const Bytes pw = encode(parameters(0, 3, 0, 0, p));
    BOOST_TEST(pw[0] == 0x82);
    BOOST_TEST(pw[1] == 7);
    BOOST_TEST(pw[9] == 1); // bProtocolNum
    BOOST_TEST(pw[10 + 5] == 0xFE);

    const Bytes ew = encode(escape_reply(0, 4, 0x40, error::command_not_supported, {}));
    BOOST_TEST(ew == (Bytes{0x83, 0, 0, 0, 0, 0, 0x04, 0x40, 0x00, 0x00}));

    const Bytes dw = encode(data_rate_and_clock(0, 5, 0, 0, 4000, 10752));
    BOOST_TEST(dw == (Bytes{0x84, 8, 0, 0, 0, 0, 5, 0, 0, 0, 0xA0, 0x0F, 0, 0, 0x00, 0x2A, 0, 0}));
}

BOOST_AUTO_TEST_CASE(time_extension_status) {
    const std::uint8_t te = status_byte(IccStatus::Active, CommandStatus::TimeExtension);
    BOOST_TEST(te == 0x80);
    BOOST_TEST(command_status_of(te) == CommandStatus::TimeExtension);
    BOOST_TEST(icc_status_of(0x41) == IccStatus::PresentInactive);
    BOOST_TEST(command_status_of(0xC0) == CommandStatus::Failed); // 3 is RFU
}

BOOST_AUTO_TEST_CASE(failure_reply_uses_the_reply_type_of_the_command) {
    Header h;
    h.seq = 12;
    h.type = 0x6F;
    BOOST_TEST(static_cast<int>(failure_reply(h, IccStatus::Active, error::xfr_overrun).type) ==
               0x80);
    h.type = 0x61;
    h.specific = {1, 0, 0};
    const Reply p = failure_reply(h, IccStatus::Active, 10);
    BOOST_TEST(static_cast<int>(p.type) == 0x82);
    BOOST_TEST(p.specific == 1);
    BOOST_TEST(p.seq == 12);
    h.type = 0x6B;
    BOOST_TEST(static_cast<int>(failure_reply(h, IccStatus::Active, 0).type) == 0x83);
    h.type = 0x73;
    BOOST_TEST(static_cast<int>(failure_reply(h, IccStatus::Active, 0).type) == 0x84);
    h.type = 0x99; // unknown commands are answered with a SlotStatus
    BOOST_TEST(static_cast<int>(failure_reply(h, IccStatus::Active, 0).type) == 0x81);
}

BOOST_AUTO_TEST_CASE(notify_slot_change_bits) {
    const std::vector<SlotChange> one{{true, true}};
    BOOST_TEST(notify_slot_change(one) == (Bytes{0x50, 0x03}));
    // Five slots need two bytes: slot 4 is bits 0-1 of the second byte.
    std::vector<SlotChange> five(5);
    five[1] = {true, false};
    five[4] = {false, true};
    const Bytes wire = notify_slot_change(five);
    BOOST_TEST(wire == (Bytes{0x50, 0x04, 0x02}));
    const auto back = parse_notify_slot_change(wire, 5);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((*back == five));
    BOOST_TEST(!parse_notify_slot_change(Bytes{0x50}, 5));
}

BOOST_AUTO_TEST_CASE(names_and_error_texts) {
    BOOST_TEST(std::string(to_string(MessageType::XfrBlock)) == "PC_to_RDR_XfrBlock");
    BOOST_TEST(std::string(to_string(MessageType::NotifySlotChange)) ==
               "RDR_to_PC_NotifySlotChange");
    BOOST_TEST(error_text(error::icc_mute) == "ICC_MUTE");
    BOOST_TEST(error_text(error::bad_slot) == "bad parameter at offset 5");
    BOOST_TEST(error_text(0) == "command not supported");
    const auto h = parse_header(msg(0x6F, Bytes{1, 2}, 0, 3, 0, 0x10, 0));
    BOOST_TEST_REQUIRE(h.has_value());
    BOOST_TEST(describe(*h) == "PC_to_RDR_XfrBlock slot 0 seq 3 len 2 bwi 0 level 0x0010");
}
