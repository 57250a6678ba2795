#include "pure/atr.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <set>
#include <string>
#include <vector>

using namespace harness;

namespace {

struct Case {
    const char* name;
    const char* hex;
    std::vector<int> protocols;
    int fi, di;
    bool tck_present, tck_valid;
    std::set<std::string> findings; // exact set of finding codes
};

// Every ATR of domain.md §7 plus constructed oddities (ISO 7816-3 §8).
// clang-format off
const std::vector<Case> cases{
    {"My Number contact", "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B", {1}, 372, 4, true, true, {"ta1_needs_pps"}},
    {"My Number contact, short", "3B C5 FF 81 31 FB 45 80 73 C6 01 00 00", {1}, 372, 1, true, true, {}},
    {"Juki contact", "3B E0 00 FF 81 31 FE 45 14", {1}, 372, 1, true, true, {}},
    {"My Number Type B 05E0", "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F", {0, 1}, 372, 1, true, true, {}},
    {"My Number Type B 41E0", "3B 88 80 01 00 00 41 E0 B3 81 A1 00 3B", {0, 1}, 372, 1, true, true, {}},
    {"My Number Type B D1", "3B 88 80 01 00 4B 51 FF B3 81 D1 00 0F", {0, 1}, 372, 1, true, true, {}},
    {"Juki Type B", "3B 88 80 01 00 00 14 E0 B3 81 91 00 5E", {0, 1}, 372, 1, true, true, {}},
    {"MIFARE Classic 1K pseudo-ATR", "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A", {0, 1}, 372, 1, true, true, {}},
    {"T=0 only, no TCK", "3B 02 14 50", {0}, 372, 1, false, false, {}},
    {"T=0 only, TB1 TC1", "3B 65 00 00 9C 11 01 01 03", {0}, 372, 1, false, false, {}},
    {"T=0 with TA1, no TCK", "3B 16 96 41 73 74 72 69 64", {0}, 512, 32, false, false, {"ta1_needs_pps"}},
    {"inverse convention", "3F 65 25 00 2C 09 69 90 00", {0}, 372, 1, false, false, {"tb1_deprecated"}},
    {"T=0 with an unexpected TCK", "3B 02 14 50 46", {0}, 372, 1, true, true, {"tck_unexpected"}},
    {"bad TCK", "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3C", {1}, 372, 4, true, false, {"ta1_needs_pps", "tck_mismatch"}},
    {"TCK missing", "3B E0 00 FF 81 31 FE 45", {1}, 372, 1, false, false, {"tck_missing"}},
    {"truncated in interface bytes", "3B DA 13 FF 81", {1}, 372, 4, false, false, {"truncated", "ta1_needs_pps"}},
    // the partial historical bytes are still decoded: the card capabilities object is cut short
    {"truncated in historical bytes", "3B DA 13 FF 81 31 FB 46 80 12 39", {1}, 372, 4, false, false, {"truncated", "ta1_needs_pps", "compact_tlv_truncated"}},
    {"extra bytes after TCK", "3B E0 00 FF 81 31 FE 45 14 00 00", {1}, 372, 1, true, true, {"extra_bytes"}},
    {"extra bytes, T=0", "3B 02 14 50 46 47", {0}, 372, 1, false, false, {"extra_bytes"}},
    {"T0 missing", "3B", {0}, 372, 1, false, false, {"truncated"}},
    {"TS invalid", "03 02 14 50", {0}, 372, 1, false, false, {"ts_invalid"}},
    {"Fi RFU", "3B 10 71", {0}, 0, 1, false, false, {"fi_rfu"}},
    {"Di RFU", "3B 10 1A", {0}, 372, 0, false, false, {"di_rfu"}},
    {"T=15 global bytes", "3B 80 80 1F C7 D8", {0}, 372, 1, true, true, {}},
    {"TD1 T=15", "3B 80 0F 8F", {0}, 372, 1, true, true, {"td1_t15"}},
    {"specific mode, no PPS", "3B 95 13 11 01 80 73 FF 01 00 9B", {1}, 372, 4, true, true, {}},
    {"protocols out of order", "3B 80 81 80 01 00", {0, 1}, 372, 1, true, false, {"protocols_not_ascending", "tck_mismatch"}},
    {"IFSC FF is RFU", "3B 80 81 11 FF 00", {1}, 372, 1, true, false, {"ifsc_rfu", "tck_mismatch"}},
};
// clang-format on

std::set<std::string> codes(const Findings& findings) {
    std::set<std::string> out;
    for (const auto& f : findings)
        out.insert(f.code);
    return out;
}

std::string join(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s)
        out += (out.empty() ? "" : ",") + x;
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(decodes_the_table_of_known_and_broken_atrs) {
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.name << ": " << c.hex) {
            const auto a = atr::decode(hex::parse(c.hex).value());
            BOOST_TEST(a.protocols == c.protocols, boost::test_tools::per_element());
            BOOST_TEST(a.fi == c.fi);
            BOOST_TEST(a.di == c.di);
            BOOST_TEST(a.tck_present == c.tck_present);
            BOOST_TEST(a.tck_valid == c.tck_valid);
            BOOST_TEST(join(codes(a.findings)) == join(c.findings));
        }
    }
}

BOOST_AUTO_TEST_CASE(my_number_contact_atr_in_detail) {
    const auto a = atr::decode(hex::parse("3BDA13FF8131FB468012392F31C173C601C03B").value());
    BOOST_TEST(std::string(atr::to_string(a.convention)) == "direct");
    BOOST_TEST(a.k == 10);
    BOOST_TEST(a.extra_guard_time == 255);
    BOOST_TEST(a.ifsc == 251);
    BOOST_TEST(a.bwi == 4);
    BOOST_TEST(a.cwi == 6);
    BOOST_TEST(!a.crc);
    BOOST_TEST(a.f_max_mhz == 5.0);
    BOOST_TEST(a.tck_required);
    BOOST_TEST(a.interface_bytes.size() == 6u);
    BOOST_TEST(a.interface_bytes[4].name == "TA3");
    BOOST_TEST(a.interface_bytes[4].protocol == 1);
    BOOST_TEST(hex::format(a.historical_bytes) == "80 12 39 2F 31 C1 73 C6 01 C0");
    BOOST_TEST(a.historical.format == "compact_tlv");
    BOOST_TEST(hex::format(a.historical.country.value()) == "39 2F");
    const auto& s = a.historical.card_service.value();
    BOOST_TEST(s.selection_by_full_df_name);
    BOOST_TEST(!s.has_mf);
    const auto& cap = a.historical.capabilities.value();
    BOOST_TEST(cap.df_by_full_name);
    BOOST_TEST(cap.short_ef_id);
    BOOST_TEST(cap.command_chaining);
    BOOST_TEST(cap.extended_lc_le);
    BOOST_TEST(cap.logical_channel_assignment == "none");
    BOOST_TEST(cap.max_logical_channels == 1);
    BOOST_TEST(cap.data_unit_quartets == 2);
    BOOST_TEST(!a.contactless.has_value());
}

BOOST_AUTO_TEST_CASE(short_my_number_and_juki_contact_atrs) {
    const auto m = atr::decode(hex::parse("3B C5 FF 81 31 FB 45 80 73 C6 01 00 00").value());
    BOOST_TEST(m.ifsc == 251);
    const auto& cap = m.historical.capabilities.value();
    BOOST_TEST(!cap.extended_lc_le);
    BOOST_TEST(!cap.command_chaining);
    const auto j = atr::decode(hex::parse("3B E0 00 FF 81 31 FE 45 14").value());
    BOOST_TEST(j.ifsc == 254);
    BOOST_TEST(j.bwi == 4);
    BOOST_TEST(j.cwi == 5);
    BOOST_TEST(j.tb1.value() == 0);
    BOOST_TEST(j.historical.format == "none");
}

BOOST_AUTO_TEST_CASE(type_b_pseudo_atrs_give_bit_rates_frame_size_and_fwt) {
    struct B {
        const char* hex;
        int fwi;
        double fwt_ms;
        bool cid;
    };
    for (auto [text, fwi, fwt_ms, cid] :
         {B{"3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F", 10, 309.3, true},
          B{"3B 88 80 01 00 00 41 E0 B3 81 A1 00 3B", 10, 309.3, true},
          B{"3B 88 80 01 00 4B 51 FF B3 81 D1 00 0F", 13, 2474.5, true},
          B{"3B 88 80 01 00 00 14 E0 B3 81 91 00 5E", 9, 154.7, true}}) {
        BOOST_TEST_CONTEXT(text) {
            const auto a = atr::decode(hex::parse(text).value());
            BOOST_TEST_REQUIRE(a.contactless.has_value());
            const auto& c = *a.contactless;
            BOOST_TEST(c.type == "B");
            BOOST_TEST(c.bit_rates == (std::vector<int>{106, 212, 424}),
                       boost::test_tools::per_element());
            BOOST_TEST(c.same_bit_rate_both_directions);
            BOOST_TEST(c.max_frame_size == 256);
            BOOST_TEST(c.iso14443_4);
            BOOST_TEST(c.fwi == fwi);
            BOOST_TEST(std::abs(c.fwt_us / 1000.0 - fwt_ms) < 0.1);
            BOOST_TEST(c.cid_supported == cid);
            BOOST_TEST(!c.nad_supported);
            BOOST_TEST(c.mbli == 0);
            BOOST_TEST(hex::format(c.protocol_info).substr(0, 5) == "B3 81");
            BOOST_TEST(a.historical.format == "contactless_type_b");
            BOOST_TEST(a.historical.objects.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(type_b_protocol_info_edge_values) {
    // 00: only 106 kbit/s; frame size code C (4096); FWI 15 is RFU and read as 4; MBLI 3.
    const auto a = atr::decode(hex::parse("3B 88 80 01 00 00 00 00 00 C1 F3 30 00").value());
    const auto& c = a.contactless.value();
    BOOST_TEST(c.bit_rates == (std::vector<int>{106}), boost::test_tools::per_element());
    BOOST_TEST(c.max_frame_size == 4096);
    BOOST_TEST(c.fwi == 4);
    BOOST_TEST(c.nad_supported);
    BOOST_TEST(c.cid_supported);
    BOOST_TEST(c.mbli == 3);
    const auto found = codes(a.findings);
    BOOST_TEST(found.count("fwi_rfu") == 1u);
    BOOST_TEST(found.count("fsci_above_256") == 1u);
    BOOST_TEST(found.count("tck_mismatch") == 1u);
    // Asymmetric rates: PICC->PCD 212 and 847, PCD->PICC 212 only.
    const auto b = atr::decode(hex::parse("3B 88 80 01 00 00 00 00 51 71 40 00 00").value());
    const auto& cb = b.contactless.value();
    BOOST_TEST(cb.bit_rates_picc_to_pcd == (std::vector<int>{106, 212, 847}),
               boost::test_tools::per_element());
    BOOST_TEST(cb.bit_rates_pcd_to_picc == (std::vector<int>{106, 212}),
               boost::test_tools::per_element());
    BOOST_TEST(cb.bit_rates == (std::vector<int>{106, 212}), boost::test_tools::per_element());
    BOOST_TEST(!cb.same_bit_rate_both_directions);
    BOOST_TEST(cb.max_frame_size == 128);
}

BOOST_AUTO_TEST_CASE(type_a_pseudo_atrs) {
    const auto s = atr::decode(
        hex::parse("3B 8F 80 01 80 4F 0C A0 00 00 03 06 11 00 3B 00 00 00 00 42").value());
    const auto& c = s.contactless.value();
    BOOST_TEST(c.type == "A");
    BOOST_TEST(hex::format(c.rid.value()) == "A0 00 00 03 06");
    BOOST_TEST(c.standard_name == "FeliCa");
    BOOST_TEST(c.card_name == "FeliCa");
    BOOST_TEST(s.tck_valid);
    BOOST_TEST(s.findings.empty());
    // DESFire: ATS historical byte 80 (compact-TLV, empty).
    const auto d = atr::decode(hex::parse("3B 81 80 01 80 80").value());
    BOOST_TEST(d.contactless.value().type == "A");
    BOOST_TEST(d.historical.format == "compact_tlv");
    BOOST_TEST(d.tck_valid);
}

BOOST_AUTO_TEST_CASE(global_and_specific_bytes) {
    const auto a = atr::decode(hex::parse("3B 80 80 1F C7 D8").value());
    BOOST_TEST(a.t15_present);
    const auto& cc = a.clock_and_class.value();
    BOOST_TEST(cc.clock_stop == "no preference");
    BOOST_TEST(cc.class_a);
    BOOST_TEST(cc.class_b);
    BOOST_TEST(cc.class_c);
    const auto m = atr::decode(hex::parse("3B 95 13 11 01 80 73 FF 01 00 9B").value());
    const auto& sm = m.specific_mode.value();
    BOOST_TEST(sm.protocol == 1);
    BOOST_TEST(sm.can_change);
    BOOST_TEST(!sm.implicit_parameters);
    const auto w = atr::decode(hex::parse("3B 60 00 00").value()); // no TC2: WI default 10
    BOOST_TEST(w.wi == 10);
    const auto wi = atr::decode(hex::parse("3B 80 40 14").value()); // TD1 -> TC2 = 14
    BOOST_TEST(wi.wi == 0x14);
}

BOOST_AUTO_TEST_CASE(historical_byte_categories) {
    struct H {
        const char* hex;
        const char* format;
    };
    // Category 00 with status 3 bytes; 10 DIR reference; 81 RFU; 3B proprietary.
    for (auto [text, format] : {H{"3B 06 00 31 C0 00 90 00", "compact_tlv_with_status"},
                                H{"3B 02 10 50", "dir_data_reference"}, H{"3B 02 81 00", "rfu"},
                                H{"3B 02 14 50", "proprietary"}, H{"3B 00", "none"}}) {
        const auto a = atr::decode(hex::parse(text).value());
        BOOST_TEST(a.historical.format == format, text);
    }
    const auto s = atr::decode(hex::parse("3B 06 00 31 C0 00 90 00").value());
    BOOST_TEST(s.historical.status.value().sw.value() == 0x9000);
    BOOST_TEST(s.historical.status.value().lcs.value() == 0x00);
    BOOST_TEST(s.historical.card_service.value().selection_by_partial_df_name);
    // compact-TLV object longer than the bytes left: a finding, not a crash
    const auto t = atr::decode(hex::parse("3B 03 80 73 C6").value());
    BOOST_TEST(codes(t.findings).count("compact_tlv_truncated") == 1u);
}

BOOST_AUTO_TEST_CASE(never_throws_on_any_prefix_or_garbage) {
    const Bytes good =
        hex::parse("3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B").value();
    for (std::size_t n = 0; n <= good.size(); ++n) {
        const auto a = atr::decode(ByteView(good).first(n));
        BOOST_TEST(!a.protocols.empty());
        if (n < good.size())
            BOOST_TEST(!a.findings.empty(), "prefix of " << n);
    }
    Bytes big(64, 0xFF);
    big[0] = 0x3B;
    const auto a = atr::decode(big);
    BOOST_TEST(codes(a.findings).count("too_long") == 1u);
    // Every 3-byte ATR: no throw, the protocols always listed.
    for (int t0 = 0; t0 < 256; ++t0)
        for (int b = 0; b < 256; b += 17) {
            const Bytes x{0x3B, static_cast<std::uint8_t>(t0), static_cast<std::uint8_t>(b)};
            BOOST_TEST_REQUIRE(!atr::decode(x).protocols.empty());
        }
}

BOOST_AUTO_TEST_CASE(eight_historical_bytes_type_a_or_b) {
    // 3B 88 80 01 fits both; clean ISO 7816-4 historical bytes mean a Type A ATS.
    const auto a = atr::decode(hex::parse("3B 88 80 01 00 73 C8 40 00 00 90 00 62").value());
    BOOST_TEST(a.contactless.value().type == "A");
    BOOST_TEST(a.historical.format == "compact_tlv_with_status");
    BOOST_TEST(a.historical.capabilities.value().third.value() == 0x00);
    BOOST_TEST(codes(a.findings) == (std::set<std::string>{"pseudo_atr_type_inferred"}),
               boost::test_tools::per_element());
    // ATQB application data starting 00 00 / 00 4B (AFI 00, CRC_B) is no compact-TLV: Type B.
    for (const char* b :
         {"3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F", "3B 88 80 01 00 4B 51 FF B3 81 D1 00 0F"})
        BOOST_TEST(atr::decode(hex::parse(b).value()).contactless.value().type == "B", b);
}
