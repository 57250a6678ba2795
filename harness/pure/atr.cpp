#include "pure/atr.hpp"

#include <algorithm>
#include <array>
#include <fmt/core.h>

namespace harness::atr {
namespace {

// ISO 7816-3 §8.3 Table 7 (Fi, f(max)) and Table 8 (Di); 0 marks RFU.
constexpr std::array<int, 16> fi_table{372, 372, 558, 744,  1116, 1488, 1860, 0,
                                       0,   512, 768, 1024, 1536, 2048, 0,    0};
constexpr std::array<double, 16> fmax_table{4, 5, 6, 8, 12, 16, 20, 0, 0, 5, 7.5, 10, 15, 20, 0, 0};
constexpr std::array<int, 16> di_table{0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0};

// ISO 14443-3 §7.9.4.2 Table 24 (FSCI -> FSC), with the 2016 extension up to 4096.
constexpr std::array<int, 13> fsc_table{16,  24,  32,  40,   48,   64,  96,
                                        128, 256, 512, 1024, 2048, 4096};

constexpr std::size_t max_atr_length = 33; // ISO 7816-3 §8.2.1: TS + at most 32 characters

struct Decoder {
    Atr& a;

    void add(Severity severity, std::string code, std::string message) {
        a.findings.push_back(Finding{severity, std::move(code), std::move(message), {}});
    }
};

std::string hex_of(ByteView bytes) {
    return hex::format(bytes);
}

std::string ta1_meaning(Atr& a, std::uint8_t v, Decoder& d) {
    a.ta1_present = true;
    a.fi_index = v >> 4;
    a.di_index = v & 0x0F;
    a.fi = fi_table[static_cast<std::size_t>(a.fi_index)];
    a.f_max_mhz = fmax_table[static_cast<std::size_t>(a.fi_index)];
    a.di = di_table[static_cast<std::size_t>(a.di_index)];
    if (a.fi == 0)
        d.add(Severity::Error, "fi_rfu",
              fmt::format("TA1 = {:02X}: Fi index {} is RFU (ISO 7816-3 §8.3 Table 7)", v,
                          a.fi_index));
    if (a.di == 0)
        d.add(Severity::Error, "di_rfu",
              fmt::format("TA1 = {:02X}: Di index {} is RFU (ISO 7816-3 §8.3 Table 8)", v,
                          a.di_index));
    if (a.fi == 0 || a.di == 0)
        return fmt::format("Fi index {}, Di index {} (RFU)", a.fi_index, a.di_index);
    const double etu = static_cast<double>(a.fi) / a.di;
    return fmt::format("Fi={}, Di={}, {:g} cycles/ETU, f(max) {:g} MHz, {:.0f} bit/s at 4 MHz",
                       a.fi, a.di, etu, a.f_max_mhz, 4000000.0 / etu);
}

std::string clock_and_class(Atr& a, std::uint8_t v) {
    static constexpr std::array<const char*, 4> stops{"not supported", "state L", "state H",
                                                      "no preference"};
    ClockAndClass cc;
    cc.raw = v;
    cc.clock_stop = stops[static_cast<std::size_t>(v >> 6)];
    cc.class_a = (v & 0x01) != 0;
    cc.class_b = (v & 0x02) != 0;
    cc.class_c = (v & 0x04) != 0;
    std::string classes;
    for (auto [on, name] : {std::pair{cc.class_a, "A (5 V)"}, std::pair{cc.class_b, "B (3 V)"},
                            std::pair{cc.class_c, "C (1.8 V)"}})
        if (on)
            classes += (classes.empty() ? "" : ", ") + std::string(name);
    std::string meaning = fmt::format("clock stop: {}; classes: {}", cc.clock_stop,
                                      classes.empty() ? "none" : classes);
    if (!a.clock_and_class)
        a.clock_and_class = cc;
    return meaning;
}

// Interface bytes: ISO 7816-3 §8.2.3 (global/specific) and §8.3 (meanings), §11.4 (T=1).
struct InterfaceState {
    bool t1_ta = false, t1_tb = false, t1_tc = false, t15_ta = false, t15_tb = false;
};

std::string meaning_of(Atr& a, Decoder& d, InterfaceState& s, char letter, int i, int t,
                       std::uint8_t v) {
    if (i == 1) {
        switch (letter) {
        case 'A':
            return ta1_meaning(a, v, d);
        case 'B':
            a.tb1 = v;
            if (v != 0)
                d.add(Severity::Info, "tb1_deprecated",
                      fmt::format("TB1 = {:02X}: VPP programming parameters, deprecated since "
                                  "ISO 7816-3:2006 §8.3",
                                  v));
            return v == 0 ? std::string("VPP not connected")
                          : fmt::format("VPP PI1 {} V, II {}", v & 0x1F, v >> 5);
        case 'C':
            a.extra_guard_time = v;
            return v == 255 ? std::string("extra guard time N=255 (minimum guard time: 12 ETU "
                                          "for T=0, 11 ETU for T=1)")
                            : fmt::format("extra guard time N={} ETU", v);
        default:
            break;
        }
    }
    if (i == 2) {
        switch (letter) {
        case 'A': {
            SpecificMode m;
            m.protocol = v & 0x0F;
            m.can_change = (v & 0x80) == 0;
            m.implicit_parameters = (v & 0x10) != 0;
            a.specific_mode = m;
            return fmt::format("specific mode, T={}, {}, parameters {}", m.protocol,
                               m.can_change ? "capable to change" : "unable to change",
                               m.implicit_parameters ? "defined implicitly"
                                                     : "defined by the interface bytes");
        }
        case 'B':
            d.add(Severity::Info, "tb2_deprecated",
                  fmt::format("TB2 = {:02X}: PI2, deprecated since ISO 7816-3:2006 §8.3", v));
            return fmt::format("VPP PI2 {}", v);
        case 'C':
            a.wi = v;
            if (v == 0)
                d.add(Severity::Error, "wi_rfu", "TC2 = 00: WI 0 is RFU (ISO 7816-3 §10.2)");
            return fmt::format("T=0 waiting time integer WI={} (WT = 960 x {} x Fi/f)", v, v);
        default:
            break;
        }
    }
    if (t == 1) {
        if (letter == 'A' && !s.t1_ta) {
            s.t1_ta = true;
            a.ifsc = v;
            if (v == 0 || v == 0xFF)
                d.add(Severity::Error, "ifsc_rfu",
                      fmt::format("TA{} = {:02X}: IFSC {} is RFU (ISO 7816-3 §11.4.2)", i, v, v));
            return fmt::format("T=1 IFSC {}", v);
        }
        if (letter == 'B' && !s.t1_tb) {
            s.t1_tb = true;
            a.bwi = v >> 4;
            a.cwi = v & 0x0F;
            if (a.bwi > 9)
                d.add(
                    Severity::Warning, "bwi_rfu",
                    fmt::format("TB{} = {:02X}: BWI {} is RFU (ISO 7816-3 §11.4.3)", i, v, a.bwi));
            return fmt::format("T=1 BWI={}, CWI={}", a.bwi, a.cwi);
        }
        if (letter == 'C' && !s.t1_tc) {
            s.t1_tc = true;
            a.crc = (v & 0x01) != 0;
            if ((v & 0xFE) != 0)
                d.add(Severity::Warning, "t1_tc_rfu",
                      fmt::format("TC{} = {:02X}: bits 8-2 are RFU (ISO 7816-3 §11.4.4)", i, v));
            return fmt::format("T=1 error detection code: {}", a.crc ? "CRC" : "LRC");
        }
        return fmt::format("specific to T=1 (not the first {})", letter);
    }
    if (t == 15) {
        if (letter == 'A' && !s.t15_ta) {
            s.t15_ta = true;
            return clock_and_class(a, v);
        }
        if (letter == 'B' && !s.t15_tb) {
            s.t15_tb = true;
            return fmt::format("SPU (use of contact C6): {}",
                               v == 0 ? "not used" : ((v & 0x80) ? "proprietary" : "standard"));
        }
        return "global (after T=15)";
    }
    return fmt::format("specific to T={}", t);
}

const char* compact_tag_name(int tag) {
    switch (tag) {
    case 0x1:
        return "country_code";
    case 0x2:
        return "issuer_identification";
    case 0x3:
        return "card_service_data";
    case 0x4:
        return "initial_access_data";
    case 0x5:
        return "card_issuer_data";
    case 0x6:
        return "pre_issuing_data";
    case 0x7:
        return "card_capabilities";
    case 0x8:
        return "status_indicator";
    case 0xF:
        return "application_identifier";
    default:
        return "unknown";
    }
}

// ISO 7816-4 §8.1.1.2.7, Tables 85-87 (three software function tables).
CardCapabilities capabilities_of(ByteView v) {
    CardCapabilities c;
    if (!v.empty()) {
        const std::uint8_t b = v[0];
        c.selection_methods = b;
        c.df_by_full_name = b & 0x80;
        c.df_by_partial_name = b & 0x40;
        c.df_by_path = b & 0x20;
        c.df_by_file_id = b & 0x10;
        c.df_implicit = b & 0x08;
        c.short_ef_id = b & 0x04;
        c.record_number = b & 0x02;
        c.record_identifier = b & 0x01;
    }
    if (v.size() >= 2) {
        static constexpr std::array<const char*, 4> writes{"one-time write", "proprietary",
                                                           "write OR", "write AND"};
        const std::uint8_t b = v[1];
        c.data_coding = b;
        c.tlv_efs = b & 0x80;
        c.write_behaviour = writes[static_cast<std::size_t>((b >> 5) & 0x03)];
        c.ff_tag_valid = b & 0x10;
        c.data_unit_quartets = 1 << (b & 0x0F);
    }
    if (v.size() >= 3) {
        const std::uint8_t b = v[2];
        c.third = b;
        c.command_chaining = b & 0x80;
        c.extended_lc_le = b & 0x40;
        c.extended_length_info_in_ef = b & 0x20;
        switch ((b >> 3) & 0x03) {
        case 0:
            c.logical_channel_assignment = "none";
            break;
        case 1:
            c.logical_channel_assignment = "by the interface device";
            break;
        case 2:
            c.logical_channel_assignment = "by the card";
            break;
        default:
            c.logical_channel_assignment = "by the card and the interface device";
            break;
        }
        const int n = b & 0x07;
        c.max_logical_channels = n == 7 ? 8 : n + 1; // '111' = 8 or more
    }
    return c;
}

// ISO 7816-4 §8.1.1.2.3, Table 83.
CardServiceData card_service_of(std::uint8_t b) {
    CardServiceData s;
    s.raw = b;
    s.selection_by_full_df_name = b & 0x80;
    s.selection_by_partial_df_name = b & 0x40;
    s.data_objects_in_ef_dir = b & 0x20;
    s.data_objects_in_ef_atr = b & 0x10;
    switch ((b >> 1) & 0x07) {
    case 4:
        s.ef_dir_access = "read_binary";
        break;
    case 0:
        s.ef_dir_access = "get_record";
        break;
    case 2:
        s.ef_dir_access = "get_data";
        break;
    default:
        s.ef_dir_access = "rfu";
        break;
    }
    s.has_mf = (b & 0x01) == 0;
    return s;
}

void compact_tlv(ByteView data, Historical& h, Decoder& d) {
    std::size_t pos = 0;
    while (pos < data.size()) {
        TlvObject o;
        o.header = data[pos++];
        o.tag = static_cast<std::uint8_t>(o.header >> 4);
        std::size_t len = o.header & 0x0F;
        o.name = compact_tag_name(o.tag);
        if (pos + len > data.size()) {
            d.add(Severity::Warning, "compact_tlv_truncated",
                  fmt::format("historical bytes: compact-TLV object {:02X} announces {} bytes, "
                              "{} remain (ISO 7816-4 §8.1.1.2)",
                              o.header, len, data.size() - pos));
            len = data.size() - pos;
        }
        o.value.assign(data.begin() + static_cast<std::ptrdiff_t>(pos),
                       data.begin() + static_cast<std::ptrdiff_t>(pos + len));
        pos += len;
        const ByteView v(o.value);
        switch (o.tag) {
        case 0x1:
            h.country = o.value;
            break;
        case 0x2:
            h.issuer = o.value;
            break;
        case 0x3:
            if (v.size() != 1)
                d.add(Severity::Warning, "card_service_length",
                      fmt::format("historical bytes: card service data has {} bytes, expected 1 "
                                  "(ISO 7816-4 §8.1.1.2.3)",
                                  v.size()));
            if (!v.empty())
                h.card_service = card_service_of(v[0]);
            break;
        case 0x4:
            h.initial_access = o.value;
            break;
        case 0x5:
            h.card_issuer_data = o.value;
            break;
        case 0x6:
            h.pre_issuing = o.value;
            break;
        case 0x7:
            if (v.empty() || v.size() > 3)
                d.add(Severity::Warning, "card_capabilities_length",
                      fmt::format("historical bytes: card capabilities have {} bytes, expected "
                                  "1 to 3 (ISO 7816-4 §8.1.1.2.7)",
                                  v.size()));
            h.capabilities = capabilities_of(v);
            break;
        case 0x8: {
            StatusIndicator s;
            if (v.size() == 1) {
                s.lcs = v[0];
            } else if (v.size() == 2) {
                s.sw = static_cast<std::uint16_t>(v[0] << 8 | v[1]);
            } else if (v.size() == 3) {
                s.lcs = v[0];
                s.sw = static_cast<std::uint16_t>(v[1] << 8 | v[2]);
            } else {
                d.add(Severity::Warning, "status_indicator_length",
                      fmt::format("historical bytes: status indicator has {} bytes, expected 1 "
                                  "to 3 (ISO 7816-4 §8.1.1.3)",
                                  v.size()));
            }
            h.status = s;
            break;
        }
        case 0xF:
            h.aid = o.value;
            break;
        default:
            d.add(Severity::Info, "compact_tlv_unknown_tag",
                  fmt::format("historical bytes: compact-TLV tag {:X} is not defined by "
                              "ISO 7816-4 §8.1.1.2",
                              o.tag));
            break;
        }
        h.objects.push_back(std::move(o));
    }
}

// ISO 7816-4 §8.1.1.1: category indicator byte.
void decode_historical(ByteView hb, Historical& h, Decoder& d) {
    if (hb.empty()) {
        h.format = "none";
        return;
    }
    const std::uint8_t cat = hb[0];
    h.category = cat;
    const ByteView rest = hb.subspan(1);
    if (cat == 0x00) {
        h.format = "compact_tlv_with_status";
        if (rest.size() < 3) {
            d.add(Severity::Warning, "status_indicator_missing",
                  fmt::format("historical bytes: category 00 needs a 3-byte status indicator at "
                              "the end, {} bytes follow (ISO 7816-4 §8.1.1.1)",
                              rest.size()));
            compact_tlv(rest, h, d);
            return;
        }
        compact_tlv(rest.first(rest.size() - 3), h, d);
        const ByteView st = rest.last(3);
        h.status = StatusIndicator{st[0], static_cast<std::uint16_t>(st[1] << 8 | st[2])};
    } else if (cat == 0x80) {
        h.format = "compact_tlv";
        compact_tlv(rest, h, d);
    } else if (cat == 0x10) {
        h.format = "dir_data_reference";
        if (rest.size() != 1)
            d.add(Severity::Warning, "dir_data_reference_length",
                  fmt::format("historical bytes: category 10 is followed by one DIR data "
                              "reference byte, found {} (ISO 7816-4 §8.1.1.1)",
                              rest.size()));
        if (!rest.empty())
            h.dir_data_reference = rest[0];
    } else if (cat >= 0x81 && cat <= 0x8F) {
        h.format = "rfu";
        d.add(Severity::Info, "category_rfu",
              fmt::format("historical bytes: category indicator {:02X} is RFU (ISO 7816-4 "
                          "§8.1.1.1)",
                          cat));
    } else {
        h.format = "proprietary";
    }
}

std::string standard_name(std::uint8_t ss) {
    switch (ss) {
    case 0x01:
        return "ISO 14443 A part 1";
    case 0x02:
        return "ISO 14443 A part 2";
    case 0x03:
        return "ISO 14443 A part 3";
    case 0x05:
        return "ISO 14443 B part 1";
    case 0x06:
        return "ISO 14443 B part 2";
    case 0x07:
        return "ISO 14443 B part 3";
    case 0x09:
        return "ISO 15693 part 1";
    case 0x0A:
        return "ISO 15693 part 2";
    case 0x0B:
        return "ISO 15693 part 3";
    case 0x0C:
        return "ISO 15693 part 4";
    case 0x11:
        return "FeliCa";
    default:
        return "unknown";
    }
}

std::string card_name(std::uint16_t nn) {
    switch (nn) {
    case 0x0001:
        return "MIFARE Classic 1K";
    case 0x0002:
        return "MIFARE Classic 4K";
    case 0x0003:
        return "MIFARE Ultralight";
    case 0x0026:
        return "MIFARE Mini";
    case 0x003A:
        return "MIFARE Ultralight C";
    case 0x003B:
        return "FeliCa";
    default:
        return "unknown";
    }
}

// ISO 14443-3 §7.9.4: protocol info of the ATQB; PC/SC part 3 §3.1.3.2.3 last byte MBLI.
void decode_type_b(ByteView hb, Contactless& c, Decoder& d) {
    c.type = "B";
    c.application_data.assign(hb.begin(), hb.begin() + 4);
    c.protocol_info.assign(hb.begin() + 4, hb.begin() + 7);
    const std::uint8_t rates = hb[4], frame = hb[5], fw = hb[6], mbli = hb[7];
    c.same_bit_rate_both_directions = (rates & 0x80) != 0;
    c.bit_rates_picc_to_pcd = {106};
    c.bit_rates_pcd_to_picc = {106};
    constexpr std::array<int, 3> kbits{212, 424, 847};
    for (std::size_t b = 0; b < 3; ++b) {
        if (rates & (0x10 << b))
            c.bit_rates_picc_to_pcd.push_back(kbits[b]);
        if (rates & (0x01 << b))
            c.bit_rates_pcd_to_picc.push_back(kbits[b]);
    }
    for (int r : c.bit_rates_picc_to_pcd)
        if (std::find(c.bit_rates_pcd_to_picc.begin(), c.bit_rates_pcd_to_picc.end(), r) !=
            c.bit_rates_pcd_to_picc.end())
            c.bit_rates.push_back(r);
    if (rates & 0x08)
        d.add(Severity::Warning, "atqb_bit_rate_rfu",
              fmt::format("ATQB protocol info byte 1 = {:02X}: b4 is RFU (ISO 14443-3 §7.9.4.1)",
                          rates));
    c.fsci = frame >> 4;
    if (c.fsci < static_cast<int>(fsc_table.size())) {
        c.max_frame_size = fsc_table[static_cast<std::size_t>(c.fsci)];
    } else {
        c.max_frame_size = 256;
        d.add(Severity::Warning, "fsci_rfu",
              fmt::format("ATQB max frame size code {:X} is RFU; a PCD assumes 256 bytes "
                          "(ISO 14443-3 §7.9.4.2)",
                          c.fsci));
    }
    if (c.fsci > 8)
        d.add(Severity::Info, "fsci_above_256",
              fmt::format("ATQB max frame size {} bytes needs ISO 14443-3:2016; older PCDs "
                          "treat codes above 8 as 256",
                          c.max_frame_size));
    c.protocol_type = frame & 0x0F;
    c.iso14443_4 = (frame & 0x01) != 0;
    if (!c.iso14443_4)
        d.add(Severity::Warning, "not_iso14443_4",
              "ATQB protocol type: the PICC does not claim ISO 14443-4 (ISO 14443-3 §7.9.4.3)");
    if (frame & 0x08)
        d.add(Severity::Warning, "protocol_type_rfu",
              fmt::format("ATQB protocol type {:X}: b4 is RFU (ISO 14443-3 §7.9.4.3)",
                          c.protocol_type));
    c.fwi = fw >> 4;
    if (c.fwi == 15) {
        d.add(Severity::Warning, "fwi_rfu",
              "ATQB FWI 15 is RFU; a PCD uses FWI 4 (ISO 14443-3 §7.9.4.4)");
        c.fwi = 4;
    }
    // FWT = (256 x 16 / fc) x 2^FWI, fc = 13.56 MHz (ISO 14443-3 §7.9.4.4)
    c.fwt_us = 256.0 * 16.0 / 13.56 * static_cast<double>(1 << c.fwi);
    c.adc = (fw >> 2) & 0x03;
    c.nad_supported = (fw & 0x02) != 0;
    c.cid_supported = (fw & 0x01) != 0;
    c.mbli = mbli >> 4;
    if (mbli & 0x0F)
        d.add(Severity::Info, "mbli_low_nibble",
              fmt::format("pseudo-ATR byte {:02X}: the low nibble after MBLI is RFU (PC/SC part 3 "
                          "§3.1.3.2.3)",
                          mbli));
}

// True if the bytes are well-formed ISO 7816-4 §8.1.1 historical bytes (category 00 with a
// plausible status word, or 80) made only of defined compact-TLV objects of valid lengths.
bool clean_iso7816_historical(ByteView hb) {
    if (hb.empty() || (hb[0] != 0x00 && hb[0] != 0x80))
        return false;
    ByteView tlv = hb.subspan(1);
    if (hb[0] == 0x00) {
        if (hb.size() < 4)
            return false;
        const std::uint8_t sw1 = hb[hb.size() - 2];
        if (sw1 != 0x90 && (sw1 & 0xF0) != 0x60)
            return false;
        tlv = tlv.first(tlv.size() - 3);
    }
    for (std::size_t pos = 0; pos < tlv.size();) {
        const int tag = tlv[pos] >> 4;
        const std::size_t len = tlv[pos] & 0x0F;
        const bool known = (tag >= 1 && tag <= 8) || tag == 0xF;
        const bool short_one = tag == 3 || tag == 7 || tag == 8;
        if (!known || (short_one && (len == 0 || len > 3)) || pos + 1 + len > tlv.size())
            return false;
        pos += 1 + len;
    }
    return true;
}

// PC/SC part 3 §3.1.3.2.3: 3B 8n 80 01 <n historical bytes> TCK.
void decode_contactless(Atr& a, Decoder& d) {
    const Bytes& r = a.raw;
    if (r.size() < 4 || r[0] != 0x3B || (r[1] & 0xF0) != 0x80 || r[2] != 0x80 || r[3] != 0x01)
        return;
    Contactless c;
    const Bytes& hb = a.historical_bytes;
    const bool storage = hb.size() == 15 && hb[0] == 0x80 && hb[1] == 0x4F && hb[2] == 0x0C;
    // n = 8 fits both an ATQB (Type B) and 8 ATS historical bytes (Type A): Type A only if the
    // bytes read as clean ISO 7816-4 historical bytes (e.g. 00 73 C8 40 00 00 90 00).
    const bool type_a_8 = a.k == 8 && hb.size() == 8 && clean_iso7816_historical(hb);
    if (a.k == 8 && hb.size() == 8 && !type_a_8) {
        decode_type_b(hb, c, d);
        a.historical.format = "contactless_type_b"; // ATQB fields, not ISO 7816-4 objects
    } else {
        c.type = "A"; // historical bytes are the ATS historical bytes (ISO 14443-4 §5.2.7)
        if (type_a_8)
            d.add(Severity::Info, "pseudo_atr_type_inferred",
                  "3B 88 80 01: 8 historical bytes fit a Type B ATQB too; read as Type A because "
                  "they are well-formed ISO 7816-4 historical bytes (PC/SC part 3 §3.1.3.2.3)");
        if (storage) {
            a.historical.format = "pcsc_storage_card"; // 4F 0C is a BER-TLV AID, not compact
            a.historical.category = hb[0];
            c.rid = Bytes(hb.begin() + 3, hb.begin() + 8);
            c.standard = hb[8];
            c.standard_name = standard_name(hb[8]);
            c.card_name_code = static_cast<std::uint16_t>(hb[9] << 8 | hb[10]);
            c.card_name = card_name(*c.card_name_code);
        }
    }
    a.contactless = c;
}

} // namespace

const char* to_string(Convention convention) {
    switch (convention) {
    case Convention::Direct:
        return "direct";
    case Convention::Inverse:
        return "inverse";
    case Convention::Invalid:
        return "invalid";
    }
    return "invalid";
}

Atr decode(ByteView in) {
    Atr a;
    Decoder d{a};
    a.raw.assign(in.begin(), in.end());
    if (in.empty()) {
        d.add(Severity::Error, "empty", "the ATR is empty");
        a.protocols = {0};
        return a;
    }
    a.ts = in[0];
    if (a.ts == 0x3B) {
        a.convention = Convention::Direct;
    } else if (a.ts == 0x3F) {
        a.convention = Convention::Inverse;
    } else {
        a.convention = Convention::Invalid;
        d.add(Severity::Error, "ts_invalid",
              fmt::format("TS = {:02X}: expected 3B (direct) or 3F (inverse convention) "
                          "(ISO 7816-3 §8.1){}",
                          a.ts, a.ts == 0x03 ? "; 03 is 3F read in the direct convention" : ""));
    }
    if (in.size() > max_atr_length)
        d.add(Severity::Error, "too_long",
              fmt::format("the ATR has {} bytes; at most 33 (TS and 32 characters) are allowed "
                          "(ISO 7816-3 §8.2.1)",
                          in.size()));
    if (in.size() < 2) {
        d.add(Severity::Error, "truncated", "the ATR ends after TS: T0 is missing");
        a.protocols = {0};
        return a;
    }
    a.t0 = in[1];
    a.y1 = a.t0 >> 4;
    a.k = a.t0 & 0x0F;

    std::size_t pos = 2;
    int y = a.y1;
    int i = 1;
    int context = -1; // T of TD(i-1)
    bool truncated = false;
    std::vector<int> offered;
    InterfaceState state;
    while (!truncated) {
        int next_y = 0;
        bool has_td = false;
        for (int bit = 0; bit < 4; ++bit) {
            if (!(y & (1 << bit)))
                continue;
            const char letter = "ABCD"[bit];
            if (pos >= in.size()) {
                d.add(Severity::Error, "truncated",
                      fmt::format("the ATR ends where T{}{} was announced (ISO 7816-3 §8.2.3)",
                                  letter, i));
                truncated = true;
                break;
            }
            const std::uint8_t v = in[pos++];
            InterfaceByte ib;
            ib.name = fmt::format("T{}{}", letter, i);
            ib.letter = letter;
            ib.index = i;
            ib.value = v;
            ib.protocol = context;
            if (letter == 'D') {
                const int t = v & 0x0F;
                has_td = true;
                next_y = v >> 4;
                if (t == 15) {
                    a.t15_present = true;
                    if (i == 1)
                        d.add(Severity::Error, "td1_t15",
                              "TD1 indicates T=15, which is invalid in TD1 (ISO 7816-3 §8.2.3)");
                }
                if (!offered.empty() && t < offered.back())
                    d.add(Severity::Warning, "protocols_not_ascending",
                          fmt::format("TD{} indicates T={} after T={}: protocols shall be "
                                      "indicated in ascending order (ISO 7816-3 §8.2.3)",
                                      i, t, offered.back()));
                if (t != 0 && t != 1 && t != 15)
                    d.add(Severity::Info, "protocol_unusual",
                          fmt::format("TD{} indicates T={} (neither T=0 nor T=1; ISO 7816-3 "
                                      "§8.2.3 reserves it)",
                                      i, t));
                offered.push_back(t);
                ib.meaning = t == 15 ? std::string("global interface bytes follow (T=15)")
                                     : fmt::format("protocol T={}", t);
                context = t;
            } else {
                ib.meaning = meaning_of(a, d, state, letter, i, context, v);
            }
            a.interface_bytes.push_back(std::move(ib));
        }
        if (truncated || !has_td)
            break;
        y = next_y;
        ++i;
    }

    for (int t : offered)
        if (t != 15 && std::find(a.protocols.begin(), a.protocols.end(), t) == a.protocols.end())
            a.protocols.push_back(t);
    std::sort(a.protocols.begin(), a.protocols.end());
    if (a.protocols.empty())
        a.protocols = {0}; // ISO 7816-3 §8.2.3: no TD1 (or only T=15) means T=0
    // ISO 7816-3 §8.2.5: TCK is absent if only T=0 is indicated, present in all other cases.
    a.tck_required = std::any_of(offered.begin(), offered.end(), [](int t) { return t != 0; });

    if (a.ta1_present && a.fi != 0 && a.di != 0 && !(a.fi == 372 && a.di == 1) && !a.specific_mode)
        d.add(Severity::Info, "ta1_needs_pps",
              fmt::format("TA1 asks for Fi={} Di={}: the reader must negotiate it with PPS "
                          "(ISO 7816-3 §9), otherwise Fi=372 Di=1 stay in force",
                          a.fi, a.di));

    if (truncated)
        return a;

    const std::size_t remaining = in.size() - pos;
    const std::size_t k = static_cast<std::size_t>(a.k);
    std::size_t tck_at = 0;
    if (remaining < k) {
        d.add(Severity::Error, "truncated",
              fmt::format("the ATR ends after {} of {} historical bytes{} (ISO 7816-3 §8.2.4)",
                          remaining, k, a.tck_required ? " and TCK is missing" : ""));
        a.historical_bytes.assign(in.begin() + static_cast<std::ptrdiff_t>(pos), in.end());
    } else {
        a.historical_bytes.assign(in.begin() + static_cast<std::ptrdiff_t>(pos),
                                  in.begin() + static_cast<std::ptrdiff_t>(pos + k));
        if (remaining == k) {
            if (a.tck_required)
                d.add(Severity::Error, "tck_missing",
                      "TCK is missing although a protocol other than T=0 is indicated "
                      "(ISO 7816-3 §8.2.5)");
        } else if (remaining == k + 1) {
            tck_at = pos + k;
            if (!a.tck_required)
                d.add(Severity::Warning, "tck_unexpected",
                      "a TCK is present although only T=0 is indicated (ISO 7816-3 §8.2.5)");
        } else {
            const std::size_t extra = remaining - k - (a.tck_required ? 1 : 0);
            if (a.tck_required)
                tck_at = pos + k;
            d.add(Severity::Error, "extra_bytes",
                  fmt::format("{} byte(s) after the {} (ISO 7816-3 §8.2): {}", extra,
                              a.tck_required ? "TCK" : "historical bytes",
                              hex_of(in.subspan(in.size() - extra))));
        }
    }
    if (tck_at != 0) {
        a.tck_present = true;
        a.tck = in[tck_at];
        std::uint8_t x = 0;
        for (std::size_t j = 1; j <= tck_at; ++j)
            x = static_cast<std::uint8_t>(x ^ in[j]);
        a.tck_valid = x == 0;
        if (!a.tck_valid)
            d.add(Severity::Error, "tck_mismatch",
                  fmt::format("TCK = {:02X} but the XOR of T0 to the last historical byte is "
                              "{:02X} (ISO 7816-3 §8.2.5)",
                              a.tck, static_cast<std::uint8_t>(x ^ a.tck)));
    }

    decode_contactless(a, d);
    if (a.historical.format.empty())
        decode_historical(a.historical_bytes, a.historical, d);
    return a;
}

} // namespace harness::atr
