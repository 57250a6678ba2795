#include "pure/t1_block.hpp"

#include <boost/test/unit_test.hpp>
#include <ostream>

using namespace harness;

namespace harness::t1 {
std::ostream& operator<<(std::ostream& os, BlockType t) {
    return os << to_string(t);
}
} // namespace harness::t1

BOOST_AUTO_TEST_CASE(lrc_and_crc_match_the_ccid_driver) {
    // GET CHALLENGE in an I-block; the CRC values were computed with the CCID driver's own
    // checksum.c table (openct) for the same bytes.
    const Bytes block{0x00, 0x00, 0x05, 0x00, 0x84, 0x00, 0x00, 0x08};
    BOOST_TEST(t1::lrc(block) == 0x89);
    BOOST_TEST(t1::crc(block) == 0xBBC1);
    BOOST_TEST(t1::crc(Bytes{0x00, 0xC1, 0x01, 0xFE}) == 0x544E);
    BOOST_TEST(t1::edc_size(t1::Edc::Crc) == 2U);
}

BOOST_AUTO_TEST_CASE(i_block_round_trip_with_lrc_and_crc) {
    const Bytes inf{0x00, 0x84, 0x00, 0x00, 0x08};
    const t1::Block b = t1::i_block(true, true, inf);
    BOOST_TEST(b.pcb == 0x60);
    BOOST_TEST(b.type() == t1::BlockType::I);
    BOOST_TEST(b.send_seq());
    BOOST_TEST(b.more());
    for (const auto edc : {t1::Edc::Lrc, t1::Edc::Crc}) {
        const Bytes wire = t1::encode(b, edc);
        BOOST_TEST(wire.size() == 3 + inf.size() + t1::edc_size(edc));
        const auto parsed = t1::parse(wire, edc);
        BOOST_TEST(parsed.valid);
        BOOST_TEST(parsed.edc_ok);
        BOOST_TEST_REQUIRE(parsed.block.has_value());
        BOOST_TEST((*parsed.block == b));
    }
    BOOST_TEST(t1::describe(b) == "I(1,M) 5");
}

BOOST_AUTO_TEST_CASE(r_blocks_and_their_errors) {
    const t1::Block ok = t1::r_block(true);
    BOOST_TEST(ok.pcb == 0x90);
    BOOST_TEST(ok.type() == t1::BlockType::R);
    BOOST_TEST(ok.receive_seq());
    const t1::Block edc = t1::r_block(false, t1::RError::Edc);
    BOOST_TEST(edc.pcb == 0x81);
    BOOST_TEST((edc.r_error() == t1::RError::Edc));
    BOOST_TEST(t1::describe(edc) == "R(0,EDC)");
    BOOST_TEST(t1::describe(t1::r_block(true, t1::RError::Other)) == "R(1,other)");
    // An R-block with INF is not ISO 7816-3 coding.
    Bytes bad{0x00, 0x80, 0x01, 0x00};
    bad.push_back(t1::lrc(bad));
    const auto parsed = t1::parse(bad, t1::Edc::Lrc);
    BOOST_TEST(parsed.edc_ok);
    BOOST_TEST(!parsed.valid);
}

BOOST_AUTO_TEST_CASE(s_blocks_ifs_wtx_resynch_abort) {
    const std::uint8_t ifs = 0xFE;
    const t1::Block ifs_req = t1::s_block(t1::SFunction::Ifs, false, ByteView(&ifs, 1));
    BOOST_TEST(ifs_req.pcb == 0xC1);
    BOOST_TEST(t1::encode(ifs_req, t1::Edc::Lrc) == (Bytes{0x00, 0xC1, 0x01, 0xFE, 0x3E}));
    const std::uint8_t m = 3;
    const t1::Block wtx_resp = t1::s_block(t1::SFunction::Wtx, true, ByteView(&m, 1));
    BOOST_TEST(wtx_resp.pcb == 0xE3);
    BOOST_TEST(wtx_resp.s_response());
    BOOST_TEST((wtx_resp.s_function() == t1::SFunction::Wtx));
    BOOST_TEST(t1::describe(wtx_resp) == "S(WTX resp 0x03)");
    BOOST_TEST(t1::s_block(t1::SFunction::Resynch, false).pcb == 0xC0);
    BOOST_TEST(t1::s_block(t1::SFunction::Abort, true).pcb == 0xE2);

    // S(WTX) without its byte, S(IFS 0) and an unknown function are invalid.
    const auto no_byte =
        t1::parse(t1::encode(t1::s_block(t1::SFunction::Wtx, false), t1::Edc::Lrc), t1::Edc::Lrc);
    BOOST_TEST(!no_byte.valid);
    const std::uint8_t zero = 0;
    BOOST_TEST(!t1::parse(t1::encode(t1::s_block(t1::SFunction::Ifs, false, ByteView(&zero, 1)),
                                     t1::Edc::Lrc),
                          t1::Edc::Lrc)
                    .valid);
    t1::Block odd;
    odd.pcb = 0xC5;
    BOOST_TEST(!t1::parse(t1::encode(odd, t1::Edc::Lrc), t1::Edc::Lrc).valid);
}

BOOST_AUTO_TEST_CASE(parse_reports_length_and_edc_problems) {
    Bytes wire = t1::encode(t1::i_block(false, false, Bytes{1, 2, 3}), t1::Edc::Lrc);
    wire.back() ^= 0xFF;
    const auto bad_edc = t1::parse(wire, t1::Edc::Lrc);
    BOOST_TEST_REQUIRE(bad_edc.block.has_value());
    BOOST_TEST(!bad_edc.edc_ok);
    BOOST_TEST(bad_edc.findings.front().code == "t1_edc_mismatch");
    wire.pop_back();
    const auto short_block = t1::parse(wire, t1::Edc::Lrc);
    BOOST_TEST(!short_block.block);
    BOOST_TEST(short_block.findings.front().code == "t1_length_mismatch");
    BOOST_TEST(!t1::parse(Bytes{0x00}, t1::Edc::Crc).block);
    // LRC-coded block read as CRC: one byte short.
    BOOST_TEST(!t1::parse(t1::encode(t1::r_block(false), t1::Edc::Lrc), t1::Edc::Crc).block);
}

BOOST_AUTO_TEST_CASE(parameters_from_my_number_and_juki_atrs) {
    const Bytes my_number{0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12,
                          0x39, 0x2F, 0x31, 0xC1, 0x73, 0xC6, 0x01, 0xC0, 0x3B};
    const auto p = t1::parameters_from_atr(my_number);
    BOOST_TEST(p.ifsc == 0xFBU);
    BOOST_TEST(p.bwi == 4);
    BOOST_TEST(p.cwi == 6);
    BOOST_TEST((p.edc == t1::Edc::Lrc));
    const Bytes juki{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14};
    BOOST_TEST(t1::parameters_from_atr(juki).ifsc == 254U);
    BOOST_TEST(t1::parameters_from_atr(juki).cwi == 5);
    // TD2 = 71: TA3 TB3 TC3 for T=1, TC3 = 01 chooses CRC.
    const Bytes crc_card{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x71, 0xFE, 0x75, 0x01, 0x00};
    const auto c = t1::parameters_from_atr(crc_card);
    BOOST_TEST((c.edc == t1::Edc::Crc));
    BOOST_TEST(c.bwi == 7);
    // No T=1 interface bytes: the defaults.
    const auto d = t1::parameters_from_atr(Bytes{0x3B, 0x00});
    BOOST_TEST(d.ifsc == t1::default_ifs);
    BOOST_TEST(d.bwi == t1::default_bwi);
}

BOOST_AUTO_TEST_CASE(t0_procedure_bytes) {
    BOOST_TEST((t0::classify(0x60, 0xB0) == t0::Procedure::Null));
    BOOST_TEST((t0::classify(0xB0, 0xB0) == t0::Procedure::AckAll));
    BOOST_TEST((t0::classify(0x4F, 0xB0) == t0::Procedure::AckOne));
    BOOST_TEST((t0::classify(0x90, 0xB0) == t0::Procedure::Sw1));
    BOOST_TEST((t0::classify(0x6C, 0xB0) == t0::Procedure::Sw1));
    BOOST_TEST((t0::classify(0x12, 0xB0) == t0::Procedure::Invalid));
    BOOST_TEST((t0::tpdu_case(Bytes{0, 0xB0, 0, 0, 4}) == t0::TpduCase::HeaderOnly));
    BOOST_TEST((t0::tpdu_case(Bytes{0, 0xD6, 0, 0, 2, 1, 2}) == t0::TpduCase::Outgoing));
    BOOST_TEST((t0::tpdu_case(Bytes{0, 0xD6, 0, 0, 2, 1, 2, 0}) == t0::TpduCase::Invalid));
    BOOST_TEST((t0::tpdu_case(Bytes{0, 0xB0, 0, 0, 0, 1, 0}) == t0::TpduCase::Invalid));
}

BOOST_AUTO_TEST_CASE(t0_case_2_with_nulls_then_data) {
    const Bytes tpdu{0x00, 0xB0, 0x00, 0x00, 0x03};
    const Bytes answer{0x0A, 0x0B, 0x0C, 0x90, 0x00};
    const auto emission = t0::card_emission(tpdu, answer, 2);
    BOOST_TEST(emission.bytes == (Bytes{0x60, 0x60, 0xB0, 0x0A, 0x0B, 0x0C, 0x90, 0x00}));
    const auto result = t0::reader_collect(tpdu, emission.bytes);
    BOOST_TEST_REQUIRE(result.response.has_value());
    BOOST_TEST(*result.response == answer);
    BOOST_TEST(result.null_bytes == 2U);
}

BOOST_AUTO_TEST_CASE(t0_wrong_le_is_6cxx_and_case_4_is_61xx) {
    const Bytes tpdu{0x00, 0xB0, 0x00, 0x00, 0x08};
    const auto six_c = t0::card_emission(tpdu, Bytes{1, 2, 3, 0x90, 0x00});
    BOOST_TEST(six_c.bytes == (Bytes{0x6C, 0x03}));
    BOOST_TEST(*t0::reader_collect(tpdu, six_c.bytes).response == (Bytes{0x6C, 0x03}));

    const Bytes case3{0x00, 0x88, 0x00, 0x00, 0x02, 0xAA, 0xBB};
    const auto sixty_one = t0::card_emission(case3, Bytes{1, 2, 3, 4, 0x90, 0x00});
    BOOST_TEST(sixty_one.bytes == (Bytes{0x88, 0x61, 0x04}));
    BOOST_TEST(sixty_one.pending_data == (Bytes{1, 2, 3, 4}));
    BOOST_TEST(*t0::reader_collect(case3, sixty_one.bytes).response == (Bytes{0x61, 0x04}));
}

BOOST_AUTO_TEST_CASE(t0_ack_one_byte_at_a_time_and_conflicts) {
    const Bytes case3{0x00, 0xD6, 0x00, 0x00, 0x02, 0xAA, 0xBB};
    // ~INS twice (one byte each), then the status.
    const auto ok = t0::reader_collect(case3, Bytes{0x29, 0x29, 0x90, 0x00});
    BOOST_TEST_REQUIRE(ok.response.has_value());
    BOOST_TEST(*ok.response == (Bytes{0x90, 0x00}));
    // A third ACK with nothing left, an unknown procedure byte, a missing SW2.
    BOOST_TEST(!t0::reader_collect(case3, Bytes{0x29, 0x29, 0x29, 0x90, 0x00}).response);
    BOOST_TEST(!t0::reader_collect(case3, Bytes{0x12}).response);
    const auto cut = t0::reader_collect(case3, Bytes{0xD6, 0x90});
    BOOST_TEST(!cut.response);
    BOOST_TEST(cut.findings.front().code == "t0_procedure_byte_conflict");
}
