#pragma once
// Answer-to-Reset decoding (ISO 7816-3 §8) with historical bytes (ISO 7816-4 §8.1.1) and the
// PC/SC part 3 §3.1.3.2.3 contactless pseudo-ATRs; plus pcsc-tools' smartcard_list.txt lookup.
// Pure: no I/O. Oddities are findings, never exceptions.
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::atr {

enum class Convention { Direct, Inverse, Invalid };
const char* to_string(Convention convention);

// One interface byte TAi/TBi/TCi/TDi with the protocol it belongs to (ISO 7816-3 §8.2.3).
struct InterfaceByte {
    std::string name;  // "TA1", "TD2", ...
    char letter = 'A'; // 'A', 'B', 'C' or 'D'
    int index = 1;     // i
    std::uint8_t value = 0;
    int protocol = -1; // T of TD(i-1) for i >= 2 (15 = global), -1 for i = 1 (global)
    std::string meaning;
};

// TA2, ISO 7816-3 §8.3: specific mode.
struct SpecificMode {
    int protocol = 0;
    bool can_change = true;           // b8 = 0
    bool implicit_parameters = false; // b5 = 1: parameters defined implicitly, not by TA1
};

// First TA for T=15, ISO 7816-3 §8.3: clock stop indicator X and class indicator U.
struct ClockAndClass {
    std::uint8_t raw = 0;
    std::string clock_stop; // "not supported", "state L", "state H", "no preference"
    bool class_a = false;   // 5 V
    bool class_b = false;   // 3 V
    bool class_c = false;   // 1.8 V
};

// Compact-TLV 3x: card service data byte (ISO 7816-4 §8.1.1.2.3).
struct CardServiceData {
    std::uint8_t raw = 0;
    bool selection_by_full_df_name = false;
    bool selection_by_partial_df_name = false;
    bool data_objects_in_ef_dir = false;
    bool data_objects_in_ef_atr = false;
    std::string ef_dir_access; // "read_binary", "get_record", "get_data", "rfu"
    bool has_mf = true;        // b1 = 0: card with MF
};

// Compact-TLV 7x: card capabilities, the three software function tables (ISO 7816-4 §8.1.1.2.7).
struct CardCapabilities {
    std::optional<std::uint8_t> selection_methods;
    std::optional<std::uint8_t> data_coding;
    std::optional<std::uint8_t> third; // command chaining, length fields, logical channels
    // first software function table
    bool df_by_full_name = false, df_by_partial_name = false, df_by_path = false,
         df_by_file_id = false, df_implicit = false, short_ef_id = false, record_number = false,
         record_identifier = false;
    // second: data coding byte
    bool tlv_efs = false;
    std::string write_behaviour; // "one-time write", "proprietary", "write OR", "write AND"
    bool ff_tag_valid = false;
    int data_unit_quartets = 0;
    // third
    bool command_chaining = false;
    bool extended_lc_le = false;
    bool extended_length_info_in_ef = false;
    std::string logical_channel_assignment; // "none", "by the card", "by the interface device",
                                            // "by the card and the interface device"
    int max_logical_channels = 1;
};

// Status indicator: life cycle status and/or status word (ISO 7816-4 §8.1.1.3).
struct StatusIndicator {
    std::optional<std::uint8_t> lcs;
    std::optional<std::uint16_t> sw;
};

struct TlvObject {
    std::uint8_t tag = 0; // the high nibble of the compact header (so 7 for card capabilities)
    std::uint8_t header = 0;
    Bytes value;
    std::string name;
};

// Decoded historical bytes (ISO 7816-4 §8.1.1).
struct Historical {
    std::optional<std::uint8_t> category;
    std::string format; // "none", "compact_tlv_with_status", "compact_tlv", "dir_data_reference",
                        // "rfu", "proprietary", "contactless_type_b"
    std::vector<TlvObject> objects;
    std::optional<Bytes> country, issuer, aid, initial_access, card_issuer_data, pre_issuing;
    std::optional<CardServiceData> card_service;
    std::optional<CardCapabilities> capabilities;
    std::optional<StatusIndicator> status;
    std::optional<std::uint8_t> dir_data_reference;
};

// The contactless card a PC/SC reader built a pseudo-ATR for (PC/SC part 3 §3.1.3.2.3).
struct Contactless {
    std::string type; // "A" or "B"
    // Type A storage card form (80 4F 0C RID SS NN NN 00 00 00 00), PC/SC part 3 supplement.
    std::optional<Bytes> rid;
    std::optional<std::uint8_t> standard;
    std::string standard_name;
    std::optional<std::uint16_t> card_name_code;
    std::string card_name;
    // Type B: ATQB application data and protocol info (ISO 14443-3 §7.9.4), MBLI from ATTRIB.
    Bytes application_data;
    Bytes protocol_info;
    std::vector<int> bit_rates;             // kbit/s supported in both directions
    std::vector<int> bit_rates_picc_to_pcd; // kbit/s
    std::vector<int> bit_rates_pcd_to_picc; // kbit/s
    bool same_bit_rate_both_directions = false;
    int fsci = 0;
    int max_frame_size = 0; // bytes
    int protocol_type = 0;
    bool iso14443_4 = false;
    int fwi = 0;
    double fwt_us = 0;
    int adc = 0;
    bool nad_supported = false;
    bool cid_supported = false;
    int mbli = 0;
};

struct Atr {
    Bytes raw;
    std::uint8_t ts = 0;
    Convention convention = Convention::Invalid;
    std::uint8_t t0 = 0;
    int y1 = 0;
    int k = 0;
    std::vector<InterfaceByte> interface_bytes;
    // TA1 (ISO 7816-3 §8.3, Tables 7 and 8); defaults Fi 372, Di 1, f(max) 5 MHz; 0 = RFU.
    bool ta1_present = false;
    int fi_index = 1, di_index = 1;
    int fi = 372, di = 1;
    double f_max_mhz = 5;
    std::optional<std::uint8_t> tb1;
    int extra_guard_time = 0; // N from TC1
    std::optional<SpecificMode> specific_mode;
    std::vector<int> protocols; // offered transmission protocols (T=15 excluded), ascending
    bool t15_present = false;   // global bytes after TD with T=15
    int wi = 10;                // TC2 for T=0
    int ifsc = 32;              // first TA for T=1
    int bwi = 4, cwi = 13;      // first TB for T=1
    bool crc = false;           // first TC for T=1, b1
    std::optional<ClockAndClass> clock_and_class;
    Bytes historical_bytes;
    Historical historical;
    bool tck_required = false;
    bool tck_present = false;
    bool tck_valid = false;
    std::uint8_t tck = 0;
    std::optional<Contactless> contactless;
    Findings findings;
};

Atr decode(ByteView atr);

// pcsc-tools' ATR list: an ATR pattern line (hex, "..", "[0-9A-F]", ".*"), then tab-indented
// description lines, then an empty line.
struct ListEntry {
    std::string pattern;
    std::size_t line = 0;
    std::vector<std::string> descriptions;
};

struct AtrList {
    std::vector<ListEntry> entries;
    Findings findings; // patterns that do not compile ("line:column: expected ...")
};

AtrList parse_list(std::string_view text);
// Description lines of every entry whose pattern matches the ATR (spaced, upper-case hex).
std::vector<std::string> lookup(const AtrList& list, ByteView atr);
// The same pattern language as pcsc-tools (a Perl regex, anchored, case-insensitive), limited
// to what the list uses: literals, '.', '[...]' classes with ranges, and '*'.
bool pattern_matches(std::string_view pattern, std::string_view text);
// True if the pattern is plain hex (no wildcard), so it names exactly one ATR.
bool is_literal_pattern(std::string_view pattern);

} // namespace harness::atr
