#include "pure/ccid.hpp"

#include <algorithm>
#include <array>
#include <fmt/core.h>

namespace harness::ccid {
namespace {

// Largest short command APDU (case 4: 4 + 1 + 255 + 1) plus the 10-byte header (CCID §6.1.4).
constexpr std::uint32_t short_command_message = 261 + message_header_length;
// A 256-byte RSA-2048 signature plus SW1 SW2 plus the header (CCID §6.2.1).
constexpr std::uint32_t signature_response_message = 258 + message_header_length;
// Largest extended command APDU: 4 + 3 + 65535 + 2 (ISO 7816-4 §5.1); one message needs +10 header.
constexpr std::uint32_t extended_command_apdu = 65544;

constexpr std::array<NamedBit, 12> feature_table{{
    {feature::auto_config_atr, "auto_config_atr",
     "Automatic parameter configuration based on ATR data", "....02"},
    {feature::auto_activation, "auto_activation", "Automatic activation of ICC on inserting",
     "....04"},
    {feature::auto_voltage, "auto_voltage", "Automatic ICC voltage selection", "....08"},
    {feature::auto_clock, "auto_clock",
     "Automatic ICC clock frequency change according to parameters", "....10"},
    {feature::auto_baud, "auto_baud",
     "Automatic baud rate change according to frequency and Fi, Di params", "....20"},
    {feature::auto_param_negotiation, "auto_param_negotiation",
     "Automatic parameters negotiation made by the CCID", "....40"},
    {feature::auto_pps, "auto_pps", "Automatic PPS made by the CCID", "....80"},
    {feature::clock_stop, "clock_stop", "CCID can set ICC in clock stop mode", "..01.."},
    {feature::nad_not_zero, "nad_not_zero", "NAD value other than 00 accepted (T=1)", "..02.."},
    {feature::auto_ifsd, "auto_ifsd", "Automatic IFSD exchange as first exchange (T=1)", "..04.."},
    {feature::iccd_unknown, "iccd_unknown", "Unknown (ICCD?)", "..08.."},
    {feature::usb_wake_up, "usb_wake_up",
     "USB Wake up signaling supported on card insertion and removal", "10...."},
}};

constexpr std::array<NamedBit, 3> voltage_table{{
    {0x01, "5v", "5.0V", ""},
    {0x02, "3v", "3.0V", ""},
    {0x04, "1_8v", "1.8V", ""},
}};

constexpr std::array<NamedBit, 2> protocol_table{{
    {0x01, "t0", "T=0", ""},
    {0x02, "t1", "T=1", ""},
}};

constexpr std::array<NamedBit, 3> synch_table{{
    {0x01, "2_wire", "2-wire protocol", ""},
    {0x02, "3_wire", "3-wire protocol", ""},
    {0x04, "i2c", "I2C protocol", ""},
}};

constexpr std::array<NamedBit, 4> mechanical_table{{
    {0x01, "accept", "Card accept mechanism", ""},
    {0x02, "ejection", "Card ejection mechanism", ""},
    {0x04, "capture", "Card capture mechanism", ""},
    {0x08, "lock", "Card lock/unlock mechanism", ""},
}};

constexpr std::array<NamedBit, 2> pin_table{{
    {0x01, "verify", "PIN Verification supported", ""},
    {0x02, "modify", "PIN Modification supported", ""},
}};

std::uint32_t le32(ByteView b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8U |
           static_cast<std::uint32_t>(b[at + 2]) << 16U |
           static_cast<std::uint32_t>(b[at + 3]) << 24U;
}

std::uint16_t le16(ByteView b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] | b[at + 1] << 8U);
}

void put32(Bytes& out, std::uint32_t v) {
    for (unsigned shift = 0; shift < 32; shift += 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8U));
}

void add(Findings& out, Severity severity, std::string code, std::string en, std::string ja) {
    out.push_back(Finding{severity, std::move(code), std::move(en), std::move(ja)});
}

std::string bcd(std::uint16_t value) {
    return fmt::format("{:X}.{:02X}", value >> 8U, value & 0xFFU);
}

// A descriptor-sized entry in a list of USB descriptors: 54 bytes, type 0x21 (or 0xFF, which the
// CCID driver also accepts on proprietary readers).
bool looks_like_ccid(ByteView d) {
    return d.size() == descriptor_length && (d[1] == descriptor_type || d[1] == 0xFF);
}

Located make_located(const InterfaceInfo& interface, Placement placement, ByteView bytes) {
    auto decoded = decode(bytes);
    Located out{interface, placement, decoded.descriptor, {}};
    if (interface.interface_class != interface_class_ccid)
        add(out.findings, Severity::Warning, "vendor_class_interface",
            fmt::format("interface {} declares class 0x{:02X}, not CCID (0x0B), yet carries a CCID "
                        "descriptor: generic CCID drivers may ignore it",
                        interface.number, interface.interface_class),
            fmt::format("インターフェース {} のクラスは CCID (0x0B) ではなく 0x{:02X} だが CCID "
                        "ディスクリプタを持つ: 汎用 CCID ドライバが無視する可能性がある",
                        interface.number, interface.interface_class));
    if (placement == Placement::AfterEndpoints)
        add(out.findings, Severity::Warning, "descriptor_after_endpoints",
            "the CCID descriptor follows the last endpoint instead of the interface descriptor "
            "(CCID §5.1): some host drivers will not find it",
            "CCID "
            "ディスクリプタがインターフェースディスクリプタの直後ではなく最後のエンドポイントの"
            "後にある (CCID §5.1): 見つけられないホストドライバがある");
    out.findings.insert(out.findings.end(), decoded.findings.begin(), decoded.findings.end());
    return out;
}

// Walks a list of USB descriptors and returns the first CCID-looking one.
std::optional<ByteView> find_ccid(ByteView list) {
    if (list.size() == descriptor_length)
        return list; // the CCID driver takes any 54-byte extra as the descriptor
    std::size_t at = 0;
    while (at + 2 <= list.size()) {
        const std::size_t len = list[at];
        if (len < 2 || at + len > list.size())
            break;
        if (looks_like_ccid(list.subspan(at, len)))
            return list.subspan(at, len);
        at += len;
    }
    return std::nullopt;
}

Likelihood worst(Likelihood a, Likelihood b) {
    return static_cast<int>(a) > static_cast<int>(b) ? a : b;
}

} // namespace

const char* to_string(ExchangeLevel level) {
    switch (level) {
    case ExchangeLevel::Character:
        return "character";
    case ExchangeLevel::Tpdu:
        return "tpdu";
    case ExchangeLevel::ShortApdu:
        return "short_apdu";
    case ExchangeLevel::ExtendedApdu:
        return "extended_apdu";
    case ExchangeLevel::Reserved:
        return "reserved";
    }
    return "reserved";
}

std::optional<ExchangeLevel> exchange_level_from_string(std::string_view name) {
    for (auto level : {ExchangeLevel::Character, ExchangeLevel::Tpdu, ExchangeLevel::ShortApdu,
                       ExchangeLevel::ExtendedApdu, ExchangeLevel::Reserved})
        if (name == to_string(level))
            return level;
    return std::nullopt;
}

const char* to_string(Placement placement) {
    switch (placement) {
    case Placement::InterfaceExtra:
        return "interface_extra";
    case Placement::AfterEndpoints:
        return "after_endpoints";
    case Placement::Given:
        return "given";
    }
    return "given";
}

const char* to_string(Likelihood likelihood) {
    switch (likelihood) {
    case Likelihood::Likely:
        return "likely";
    case Likelihood::AtRisk:
        return "at_risk";
    case Likelihood::Unlikely:
        return "unlikely";
    }
    return "at_risk";
}

ExchangeLevel Descriptor::exchange_level() const {
    switch ((features >> 16U) & 0x07U) { // CCID §5.1 dwFeatures byte 2
    case 0:
        return ExchangeLevel::Character;
    case 1:
        return ExchangeLevel::Tpdu;
    case 2:
        return ExchangeLevel::ShortApdu;
    case 4:
        return ExchangeLevel::ExtendedApdu;
    default:
        return ExchangeLevel::Reserved;
    }
}

std::vector<int> Descriptor::protocol_numbers() const {
    // Only bits 0 (T=0) and 1 (T=1) are defined (CCID §5.1); other bits are a finding
    // (reserved_protocol_bits), never "T=8" or "T=17".
    std::vector<int> out;
    for (int t = 0; t < 2; ++t)
        if ((protocols >> static_cast<unsigned>(t)) & 1U)
            out.push_back(t);
    return out;
}

std::span<const NamedBit> feature_bits() {
    return feature_table;
}
std::span<const NamedBit> voltage_bits() {
    return voltage_table;
}
std::span<const NamedBit> protocol_bits() {
    return protocol_table;
}
std::span<const NamedBit> synch_bits() {
    return synch_table;
}
std::span<const NamedBit> mechanical_bits() {
    return mechanical_table;
}
std::span<const NamedBit> pin_bits() {
    return pin_table;
}

std::uint32_t unknown_feature_bits(std::uint32_t features) {
    std::uint32_t known = feature::level_mask;
    for (const auto& bit : feature_table)
        known |= bit.mask;
    return features & ~known;
}

std::vector<std::string> feature_names(std::uint32_t features) {
    std::vector<std::string> out;
    for (const auto& bit : feature_table)
        if (features & bit.mask)
            out.emplace_back(bit.name);
    Descriptor d;
    d.features = features;
    out.push_back(std::string("level_") + to_string(d.exchange_level()));
    const auto unknown = unknown_feature_bits(features);
    for (unsigned i = 0; i < 32; ++i)
        if ((unknown >> i) & 1U)
            out.push_back(fmt::format("unknown_0x{:08X}", 1U << i));
    return out;
}

Decoded decode(ByteView bytes) {
    Decoded out;
    Bytes padded(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(
                                                    std::min(bytes.size(), descriptor_length)));
    if (bytes.size() < descriptor_length) {
        add(out.findings, Severity::Error, "descriptor_truncated",
            fmt::format("the CCID descriptor has {} of 54 bytes; the missing bytes read as 0",
                        bytes.size()),
            fmt::format(
                "CCID ディスクリプタが 54 バイト中 {} バイトしかない: 不足分は 0 として読んだ",
                bytes.size()));
        padded.resize(descriptor_length, 0);
    } else if (bytes.size() > descriptor_length) {
        add(out.findings, Severity::Warning, "descriptor_too_long",
            fmt::format("{} bytes given; only the first 54 are the CCID descriptor", bytes.size()),
            fmt::format("{} バイト与えられた: CCID ディスクリプタは先頭 54 バイトのみ",
                        bytes.size()));
    }
    const ByteView b{padded};
    auto& d = out.descriptor;
    d.length = b[0];
    d.type = b[1];
    d.bcd_ccid = le16(b, 2);
    d.max_slot_index = b[4];
    d.voltage_support = b[5];
    d.protocols = le32(b, 6);
    d.default_clock_khz = le32(b, 10);
    d.maximum_clock_khz = le32(b, 14);
    d.num_clock_supported = b[18];
    d.data_rate_bps = le32(b, 19);
    d.max_data_rate_bps = le32(b, 23);
    d.num_data_rates_supported = b[27];
    d.max_ifsd = le32(b, 28);
    d.synch_protocols = le32(b, 32);
    d.mechanical = le32(b, 36);
    d.features = le32(b, 40);
    d.max_message_length = le32(b, 44);
    d.class_get_response = b[48];
    d.class_envelope = b[49];
    d.lcd_layout = le16(b, 50);
    d.pin_support = b[52];
    d.max_busy_slots = b[53];
    auto more = check(d);
    out.findings.insert(out.findings.end(), more.begin(), more.end());
    return out;
}

Bytes encode(const Descriptor& d) {
    Bytes out;
    out.reserve(descriptor_length);
    out.push_back(d.length);
    out.push_back(d.type);
    put16(out, d.bcd_ccid);
    out.push_back(d.max_slot_index);
    out.push_back(d.voltage_support);
    put32(out, d.protocols);
    put32(out, d.default_clock_khz);
    put32(out, d.maximum_clock_khz);
    out.push_back(d.num_clock_supported);
    put32(out, d.data_rate_bps);
    put32(out, d.max_data_rate_bps);
    out.push_back(d.num_data_rates_supported);
    put32(out, d.max_ifsd);
    put32(out, d.synch_protocols);
    put32(out, d.mechanical);
    put32(out, d.features);
    put32(out, d.max_message_length);
    out.push_back(d.class_get_response);
    out.push_back(d.class_envelope);
    put16(out, d.lcd_layout);
    out.push_back(d.pin_support);
    out.push_back(d.max_busy_slots);
    return out;
}

Findings check(const Descriptor& d) {
    Findings f;
    const auto level = d.exchange_level();
    if (d.length != descriptor_length)
        add(f, Severity::Warning, "unexpected_length",
            fmt::format("bLength is 0x{:02X}, not 0x36 (CCID §5.1)", d.length),
            fmt::format("bLength が 0x36 ではなく 0x{:02X} (CCID §5.1)", d.length));
    if (d.type == 0xFF)
        add(f, Severity::Warning, "proprietary_descriptor_type",
            "bDescriptorType is 0xFF (proprietary) instead of 0x21 (CCID §5.1)",
            "bDescriptorType が 0x21 ではなく 0xFF (独自) (CCID §5.1)");
    else if (d.type != descriptor_type)
        add(f, Severity::Error, "unexpected_descriptor_type",
            fmt::format("bDescriptorType is 0x{:02X}, not 0x21 (CCID §5.1)", d.type),
            fmt::format("bDescriptorType が 0x21 ではなく 0x{:02X} (CCID §5.1)", d.type));
    if (d.bcd_ccid != 0x0100 && d.bcd_ccid != 0x0110)
        add(f, Severity::Warning, "unusual_bcd_ccid",
            fmt::format("bcdCCID is {}, neither 1.00 nor 1.10", bcd(d.bcd_ccid)),
            fmt::format("bcdCCID が 1.00 でも 1.10 でもなく {}", bcd(d.bcd_ccid)));
    if ((d.voltage_support & 0x07U) == 0)
        add(f, Severity::Warning, "no_voltage",
            "bVoltageSupport names no voltage (5.0V, 3.0V or 1.8V)",
            "bVoltageSupport に対応電圧 (5.0V・3.0V・1.8V) がない");
    if ((d.protocols & 0x3U) == 0)
        add(f, Severity::Error, "no_protocol",
            fmt::format("dwProtocols 0x{:08X} names neither T=0 nor T=1", d.protocols),
            fmt::format("dwProtocols 0x{:08X} に T=0 も T=1 もない", d.protocols));
    if ((d.protocols & ~0x3U) != 0)
        add(f, Severity::Warning, "reserved_protocol_bits",
            fmt::format("dwProtocols 0x{:08X} sets reserved bits 0x{:08X}: only T=0 (bit 0) and "
                        "T=1 (bit 1) are defined (CCID §5.1), the rest are ignored",
                        d.protocols, d.protocols & ~0x3U),
            fmt::format(
                "dwProtocols 0x{:08X} が予約ビット 0x{:08X} を立てている: 定義されているのは "
                "T=0 (ビット 0) と T=1 (ビット 1) だけ (CCID §5.1)。他は無視する",
                d.protocols, d.protocols & ~0x3U));
    if (d.default_clock_khz > d.maximum_clock_khz)
        add(f, Severity::Warning, "default_clock_above_maximum",
            fmt::format("dwDefaultClock {} kHz is above dwMaximumClock {} kHz", d.default_clock_khz,
                        d.maximum_clock_khz),
            fmt::format("dwDefaultClock {} kHz が dwMaximumClock {} kHz を超える",
                        d.default_clock_khz, d.maximum_clock_khz));
    if (d.data_rate_bps > d.max_data_rate_bps)
        add(f, Severity::Warning, "data_rate_above_maximum",
            fmt::format("dwDataRate {} bps is above dwMaxDataRate {} bps", d.data_rate_bps,
                        d.max_data_rate_bps),
            fmt::format("dwDataRate {} bps が dwMaxDataRate {} bps を超える", d.data_rate_bps,
                        d.max_data_rate_bps));
    if (d.supports_t1() && d.max_ifsd == 0)
        add(f, Severity::Warning, "max_ifsd_zero",
            "dwMaxIFSD is 0 although T=1 is supported: T=1 blocks from the card cannot be sized",
            "T=1 対応なのに dwMaxIFSD が 0: カードからの T=1 ブロックの大きさを決められない");
    if (d.max_busy_slots == 0)
        add(f, Severity::Warning, "no_busy_slots",
            "bMaxCCIDBusySlots is 0: not even one slot may be busy (CCID §5.1 requires at least 1)",
            "bMaxCCIDBusySlots が 0: 1 スロットも同時使用できない (CCID §5.1 では 1 以上)");
    if (d.max_slot_index > 0)
        add(f, Severity::Info, "multi_slot",
            fmt::format("{} slots (bMaxSlotIndex {}): each slot is a separate PC/SC reader",
                        d.slots(), d.max_slot_index),
            fmt::format("{} スロット (bMaxSlotIndex {}): スロットごとに別の PC/SC リーダーになる",
                        d.slots(), d.max_slot_index));
    if (const auto unknown = unknown_feature_bits(d.features))
        add(f, Severity::Warning, "unknown_feature_bits",
            fmt::format("dwFeatures 0x{:08X} sets bits 0x{:08X} that CCID rev 1.1 does not define",
                        d.features, unknown),
            fmt::format("dwFeatures 0x{:08X} に CCID rev 1.1 で未定義のビット 0x{:08X} がある",
                        d.features, unknown));
    if (d.max_message_length <= message_header_length)
        add(f, Severity::Error, "message_length_too_small",
            fmt::format("dwMaxCCIDMessageLength {} leaves no room after the 10-byte header",
                        d.max_message_length),
            fmt::format("dwMaxCCIDMessageLength {} では 10 バイトのヘッダーの後に余地がない",
                        d.max_message_length));

    switch (level) {
    case ExchangeLevel::Character:
        add(f, Severity::Warning, "character_level",
            "character level exchange: the host driver must run T=0/T=1 byte by byte (rare, little "
            "tested)",
            "キャラクタレベル交換: ホストドライバが T=0/T=1 を 1 バイトずつ処理する必要がある "
            "(稀で検証が少ない)");
        break;
    case ExchangeLevel::Reserved:
        add(f, Severity::Error, "reserved_exchange_level",
            fmt::format("dwFeatures byte 2 & 7 is {}, a reserved exchange level (CCID §5.1)",
                        (d.features >> 16U) & 0x07U),
            fmt::format("dwFeatures 第 2 バイト & 7 が予約値 {} (CCID §5.1)",
                        (d.features >> 16U) & 0x07U));
        break;
    case ExchangeLevel::Tpdu:
        if (!d.supports_t1())
            add(f, Severity::Warning, "tpdu_without_t1",
                "TPDU level without T=1: T=1 cards (the My Number card) and extended APDUs cannot "
                "be used",
                "T=1 なしの TPDU レベル: T=1 カード (マイナンバーカード) と拡張 APDU を扱えない");
        break;
    case ExchangeLevel::ShortApdu:
    case ExchangeLevel::ExtendedApdu:
        if (!d.supports_t1())
            add(f, Severity::Warning, "no_t1",
                "dwProtocols lacks T=1, the protocol of the My Number card's contact interface",
                "dwProtocols に T=1 (マイナンバーカード接触面のプロトコル) がない");
        break;
    }
    if (level == ExchangeLevel::ShortApdu && d.max_message_length < short_command_message)
        add(f, Severity::Warning, "short_apdu_message_too_small",
            fmt::format("short APDU level with dwMaxCCIDMessageLength {} < 271: a full short APDU "
                        "(261 bytes) plus the 10-byte header does not fit",
                        d.max_message_length),
            fmt::format("短縮 APDU レベルで dwMaxCCIDMessageLength {} < 271: 最大の短縮 APDU (261 "
                        "バイト) と "
                        "10 バイトのヘッダーが収まらない",
                        d.max_message_length));
    const bool apdu_level =
        level == ExchangeLevel::ShortApdu || level == ExchangeLevel::ExtendedApdu;
    if ((apdu_level || (level == ExchangeLevel::Tpdu && !d.supports_t1())) &&
        d.max_message_length < signature_response_message &&
        d.max_message_length > message_header_length)
        add(f, Severity::Warning, "response_258_does_not_fit",
            fmt::format("dwMaxCCIDMessageLength {} < 268: a 258-byte response (256 data + SW) does "
                        "not fit in one message",
                        d.max_message_length),
            fmt::format("dwMaxCCIDMessageLength {} < 268: 258 バイトの応答 (データ 256 + SW) が 1 "
                        "メッセージに収まらない",
                        d.max_message_length));
    if (level == ExchangeLevel::ExtendedApdu &&
        d.max_message_length < extended_command_apdu + message_header_length)
        add(f, Severity::Info, "extended_needs_chaining",
            fmt::format(
                "extended APDU level with dwMaxCCIDMessageLength {}: APDUs above {} bytes need "
                "CCID chaining (bChainParameter, CCID §6.1.4)",
                d.max_message_length,
                d.max_message_length > message_header_length
                    ? d.max_message_length - message_header_length
                    : 0),
            fmt::format(
                "拡張 APDU レベルで dwMaxCCIDMessageLength {}: {} バイトを超える APDU には CCID "
                "チェイニング (bChainParameter, CCID §6.1.4) が必要",
                d.max_message_length,
                d.max_message_length > message_header_length
                    ? d.max_message_length - message_header_length
                    : 0));
    if (level != ExchangeLevel::Reserved && !d.has_feature(feature::auto_pps) &&
        !d.has_feature(feature::auto_param_negotiation))
        add(f, Severity::Info, "no_automatic_pps",
            "neither automatic PPS nor automatic parameter negotiation: the host driver must send "
            "the "
            "PPS (e.g. to TA1=13, Fi=372 Di=4) itself",
            "自動 PPS も自動パラメータ交渉もない: PPS (例: TA1=13, Fi=372 Di=4) "
            "はホストドライバが送る必要がある");
    return f;
}

LocateResult locate_in_configuration(ByteView config) {
    LocateResult out;
    struct Current {
        InterfaceInfo info;
        std::size_t endpoints_seen = 0;
        bool found = false;
    };
    std::optional<Current> current;
    auto finish = [&] {
        if (current && !current->found && current->info.interface_class == interface_class_ccid)
            add(out.findings, Severity::Warning, "ccid_interface_without_descriptor",
                fmt::format("interface {} (alternate {}) is CCID class but carries no 54-byte CCID "
                            "descriptor",
                            current->info.number, current->info.alternate_setting),
                fmt::format("インターフェース {} (代替設定 {}) は CCID クラスだが 54 バイトの CCID "
                            "ディスクリプタがない",
                            current->info.number, current->info.alternate_setting));
        current.reset();
    };
    std::size_t at = 0;
    while (at < config.size()) {
        if (config.size() - at < 2) {
            add(out.findings, Severity::Warning, "trailing_bytes",
                fmt::format("{} stray byte(s) at the end of the configuration", config.size() - at),
                fmt::format("構成ディスクリプタの末尾に余分な {} バイト", config.size() - at));
            break;
        }
        const std::size_t len = config[at];
        const std::uint8_t type = config[at + 1];
        if (len < 2) {
            add(out.findings, Severity::Error, "malformed_descriptor",
                fmt::format("descriptor at offset {} has bLength {} (< 2); walk stopped", at, len),
                fmt::format("オフセット {} のディスクリプタの bLength が {} (< 2): 解析を中止", at,
                            len));
            break;
        }
        if (at + len > config.size()) {
            add(out.findings, Severity::Error, "descriptor_overruns",
                fmt::format(
                    "descriptor at offset {} (type 0x{:02X}) claims {} bytes but only {} remain",
                    at, type, len, config.size() - at),
                fmt::format("オフセット {} のディスクリプタ (型 0x{:02X}) は {} "
                            "バイトとあるが残りは {} バイト",
                            at, type, len, config.size() - at));
            break;
        }
        const ByteView d = config.subspan(at, len);
        if (type == 0x04 && len >= 9) { // USB 2.0 §9.6.5 interface
            finish();
            Current c;
            c.info.length = d[0];
            c.info.descriptor_type = d[1];
            c.info.number = d[2];
            c.info.alternate_setting = d[3];
            c.info.num_endpoints = d[4];
            c.info.interface_class = d[5];
            c.info.subclass = d[6];
            c.info.protocol = d[7];
            c.info.string_index = d[8];
            current = c;
        } else if (type == 0x05) { // USB 2.0 §9.6.6 endpoint
            if (current)
                ++current->endpoints_seen;
        } else if (type == 0x02 || type == 0x01) { // configuration or device: a new scope
            finish();
        } else if (current && !current->found) {
            const auto cls = current->info.interface_class;
            const bool candidate =
                len == descriptor_length &&
                (type == descriptor_type ||
                 (type == 0xFF && (cls == interface_class_ccid || cls == interface_class_vendor)));
            if (candidate) {
                current->found = true;
                const auto placement = current->endpoints_seen == 0 ? Placement::InterfaceExtra
                                                                    : Placement::AfterEndpoints;
                out.interfaces.push_back(make_located(current->info, placement, d));
            }
        }
        at += len;
    }
    finish();
    return out;
}

std::optional<Located> locate_in_extras(const InterfaceInfo& interface, ByteView interface_extra,
                                        ByteView last_endpoint_extra) {
    if (auto d = find_ccid(interface_extra))
        return make_located(interface, Placement::InterfaceExtra, *d);
    if (auto d = find_ccid(last_endpoint_extra))
        return make_located(interface, Placement::AfterEndpoints, *d);
    return std::nullopt;
}

Prediction predict(const Descriptor& d) {
    Prediction p;
    auto reason = [&](Likelihood effect, std::string code, std::string en, std::string ja) {
        p.reasons.push_back(Reason{std::move(code), effect, std::move(en), std::move(ja)});
        p.likelihood = worst(p.likelihood, effect);
    };
    const auto level = d.exchange_level();
    const auto room = d.max_message_length > message_header_length
                          ? d.max_message_length - message_header_length
                          : 0U;

    // The contact My Number ATR offers only T=1 (domain §7).
    if (d.supports_t1())
        reason(Likelihood::Likely, "t1_supported",
               "T=1 is supported (the My Number card's contact protocol)",
               "T=1 (マイナンバーカード接触面のプロトコル) に対応");
    else
        reason(Likelihood::Unlikely, "t1_missing",
               "T=1 is not declared: the My Number card's contact interface speaks only T=1",
               "T=1 の宣言がない: マイナンバーカードの接触面は T=1 のみ");

    // A 258-byte response: RSA-2048 signature + SW (domain §4).
    switch (level) {
    case ExchangeLevel::ShortApdu:
    case ExchangeLevel::ExtendedApdu:
        if (d.max_message_length >= signature_response_message)
            reason(
                Likelihood::Likely, "response_258_fits",
                fmt::format("a 258-byte signature response fits in one message ({} bytes of room)",
                            room),
                fmt::format("258 バイトの署名応答が 1 メッセージに収まる (余地 {} バイト)", room));
        else if (level == ExchangeLevel::ExtendedApdu)
            reason(Likelihood::AtRisk, "response_258_needs_chaining",
                   fmt::format(
                       "a 258-byte signature response exceeds one message ({} bytes of room): it "
                       "needs CCID response chaining",
                       room),
                   fmt::format(
                       "258 バイトの署名応答が 1 メッセージ (余地 {} バイト) を超える: CCID の応答"
                       "チェイニングが必要",
                       room));
        else
            reason(Likelihood::Unlikely, "response_258_too_big",
                   fmt::format(
                       "a 258-byte signature response exceeds one message ({} bytes of room) and "
                       "short-APDU readers cannot chain",
                       room),
                   fmt::format(
                       "258 バイトの署名応答が 1 メッセージ (余地 {} バイト) を超え、短縮 APDU "
                       "リーダーは分割できない",
                       room));
        break;
    case ExchangeLevel::Tpdu:
        if (d.supports_t1()) {
            const std::uint32_t ifsd = std::min<std::uint32_t>(d.max_ifsd, 254);
            if (ifsd == 0)
                reason(Likelihood::AtRisk, "t1_ifsd_zero",
                       "TPDU level with T=1 but dwMaxIFSD 0: the size of T=1 blocks is undefined",
                       "T=1 の TPDU レベルだが dwMaxIFSD が 0: T=1 ブロックの大きさが定まらない");
            else if (d.max_message_length < message_header_length + 3 + ifsd + 2)
                reason(Likelihood::AtRisk, "t1_block_too_big",
                       fmt::format("a T=1 block of IFSD {} bytes (+5 prologue/epilogue) exceeds "
                                   "the {} bytes of "
                                   "room per message",
                                   ifsd, room),
                       fmt::format("IFSD {} バイトの T=1 ブロック (前後 5 バイト付き) が 1 "
                                   "メッセージの余地 {} "
                                   "バイトを超える",
                                   ifsd, room));
            else
                reason(
                    Likelihood::Likely, "response_258_t1_blocks",
                    fmt::format(
                        "TPDU level with T=1: a 258-byte response arrives in T=1 blocks of up to "
                        "{} bytes",
                        ifsd),
                    fmt::format(
                        "T=1 の TPDU レベル: 258 バイトの応答は最大 {} バイトの T=1 ブロックで届く",
                        ifsd));
        } else if (d.max_message_length < signature_response_message) {
            reason(
                Likelihood::Unlikely, "response_258_too_big",
                fmt::format("T=0 TPDU: a 258-byte response exceeds one message ({} bytes of room)",
                            room),
                fmt::format("T=0 TPDU: 258 バイトの応答が 1 メッセージ (余地 {} バイト) を超える",
                            room));
        }
        break;
    case ExchangeLevel::Character:
        reason(Likelihood::AtRisk, "character_level",
               "character level: every byte goes through the host driver; responses of any size "
               "work only "
               "if the driver's T=1 does",
               "キャラクタレベル: 全バイトをホストドライバが扱う; 応答の大きさに関係なくドライバの "
               "T=1 実装次第");
        break;
    case ExchangeLevel::Reserved:
        reason(Likelihood::Unlikely, "reserved_level",
               "the exchange level is a reserved value: host drivers cannot know how to talk to it",
               "交換レベルが予約値: ホストドライバは通信方法を決められない");
        break;
    }

    // Extended APDUs: some clients read a whole EF with an extended Le (domain §4, hypothesis d).
    switch (level) {
    case ExchangeLevel::ExtendedApdu:
        if (d.max_message_length >= extended_command_apdu + message_header_length)
            reason(Likelihood::Likely, "extended_native",
                   "extended APDUs fit in one message (no chaining needed)",
                   "拡張 APDU が 1 メッセージに収まる (チェイニング不要)");
        else
            reason(
                Likelihood::Likely, "extended_via_chaining",
                fmt::format(
                    "extended APDUs above {} bytes go through CCID chaining (bChainParameter), a "
                    "common firmware weak spot: the transport suite checks it",
                    room),
                fmt::format(
                    "{} バイトを超える拡張 APDU は CCID チェイニング (bChainParameter) を使う: "
                    "ファームウェアの弱点になりやすく、トランスポート試験で確認する",
                    room));
        break;
    case ExchangeLevel::Tpdu:
    case ExchangeLevel::Character:
        if (d.supports_t1())
            reason(Likelihood::Likely, "extended_via_t1",
                   "extended APDUs travel as T=1 chained blocks built by the host driver",
                   "拡張 APDU はホストドライバが組み立てる T=1 チェインブロックで運ばれる");
        else
            reason(Likelihood::AtRisk, "extended_impossible",
                   "no T=1: extended APDUs cannot be carried (T=0 TPDU has no extended length)",
                   "T=1 なし: 拡張 APDU を運べない (T=0 の TPDU に拡張長はない)");
        break;
    case ExchangeLevel::ShortApdu:
        reason(Likelihood::AtRisk, "extended_impossible",
               "short APDU level: clients that send extended APDUs (e.g. reading a whole EF with "
               "extended "
               "Le) fail; standard JPKI clients use short APDUs",
               "短縮 APDU レベル: 拡張 APDU を送るクライアント (拡張 Le で EF を一括読み出し等) "
               "は失敗する; "
               "標準的な JPKI クライアントは短縮 APDU を使う");
        break;
    case ExchangeLevel::Reserved:
        break;
    }

    // TA1=13: PPS to Fi=372 Di=4 (ISO 7816-3 §9, domain §7).
    const bool auto_pps =
        d.has_feature(feature::auto_pps) || d.has_feature(feature::auto_param_negotiation);
    if (auto_pps)
        reason(Likelihood::Likely, "pps_by_reader",
               "the reader negotiates PPS itself (TA1=13 → Fi=372 Di=4)",
               "リーダー自身が PPS を交渉する (TA1=13 → Fi=372 Di=4)");
    else if (level == ExchangeLevel::Tpdu || level == ExchangeLevel::Character)
        reason(Likelihood::Likely, "pps_by_driver",
               "no automatic PPS: the host driver sends the PPS for TA1=13 (the CCID driver does)",
               "自動 PPS なし: TA1=13 の PPS はホストドライバが送る (CCID ドライバは対応)");
    else if (level != ExchangeLevel::Reserved)
        reason(Likelihood::AtRisk, "pps_unclear",
               "APDU level without automatic PPS or parameter negotiation: who sends the PPS for "
               "TA1=13 is "
               "unclear; the card may stay at the default rate or fail",
               "自動 PPS も自動パラメータ交渉もない APDU レベル: TA1=13 の PPS を誰が送るか不明; "
               "既定速度のままか失敗の可能性");
    // Di=4 at the default clock: f * 4 / 372 bits per second.
    const std::uint64_t needed_bps = std::uint64_t{d.default_clock_khz} * 1000U * 4U / 372U;
    if (d.default_clock_khz > 0 && d.max_data_rate_bps < needed_bps)
        reason(Likelihood::Likely, "di4_above_max_rate",
               fmt::format(
                   "dwMaxDataRate {} bps is below Di=4 at {} kHz ({} bps): the card should stay at "
                   "Fd/Dd (slower, still usable)",
                   d.max_data_rate_bps, d.default_clock_khz, needed_bps),
               fmt::format(
                   "dwMaxDataRate {} bps は {} kHz での Di=4 ({} bps) 未満: カードは既定速度のまま "
                   "(遅いが使用可能)",
                   d.max_data_rate_bps, d.default_clock_khz, needed_bps));
    return p;
}

} // namespace harness::ccid
