#include "pure/ccid_dump.hpp"

#include "pure/error.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <fmt/core.h>
#include <string>

namespace harness::ccid {
namespace {

// Keys of the device header and the interface descriptor (parse prints them at indent 1 or 2).
enum class Key {
    IdVendor,
    IManufacturer,
    IdProduct,
    IProduct,
    BcdDevice,
    IfLength,
    IfDescriptorType,
    InterfaceNumber,
    AlternateSetting,
    NumEndpoints,
    InterfaceClass,
    InterfaceSubClass,
    InterfaceProtocol,
    IInterface,
    // CCID class descriptor (CCID §5.1), in parse order.
    Length,
    DescriptorType,
    BcdCcid,
    MaxSlotIndex,
    VoltageSupport,
    Protocols,
    DefaultClock,
    MaximumClock,
    NumClockSupported,
    DataRate,
    MaxDataRate,
    NumDataRatesSupported,
    MaxIfsd,
    SynchProtocols,
    Mechanical,
    Features,
    MaxMessageLength,
    ClassGetResponse,
    ClassEnvelope,
    LcdLayout,
    PinSupport,
    MaxBusySlots,
    Count
};

constexpr std::size_t key_count = static_cast<std::size_t>(Key::Count);

constexpr std::array<const char*, key_count> key_names{
    "idVendor",
    "iManufacturer",
    "idProduct",
    "iProduct",
    "bcdDevice",
    "bLength",
    "bDescriptorType",
    "bInterfaceNumber",
    "bAlternateSetting",
    "bNumEndpoints",
    "bInterfaceClass",
    "bInterfaceSubClass",
    "bInterfaceProtocol",
    "iInterface",
    "bLength",
    "bDescriptorType",
    "bcdCCID",
    "bMaxSlotIndex",
    "bVoltageSupport",
    "dwProtocols",
    "dwDefaultClock",
    "dwMaximumClock",
    "bNumClockSupported",
    "dwDataRate",
    "dwMaxDataRate",
    "bNumDataRatesSupported",
    "dwMaxIFSD",
    "dwSynchProtocols",
    "dwMechanical",
    "dwFeatures",
    "dwMaxCCIDMessageLength",
    "bClassGetResponse",
    "bClassEnvelope",
    "wLcdLayout",
    "bPINSupport",
    "bMaxCCIDBusySlots",
};

const char* name_of(Key key) {
    return key_names[static_cast<std::size_t>(key)];
}

std::optional<Key> find_key(std::string_view name, bool in_descriptor) {
    const std::size_t first = in_descriptor ? static_cast<std::size_t>(Key::Length) : 0;
    const std::size_t last = in_descriptor ? key_count : static_cast<std::size_t>(Key::Length);
    for (std::size_t i = first; i < last; ++i)
        if (name == key_names[i])
            return static_cast<Key>(i);
    // Header keys may not follow the descriptor (the next block starts with idVendor).
    if (in_descriptor && name == "idVendor")
        return Key::IdVendor;
    return std::nullopt;
}

// A value being read, with the column (1-based) of its first character in the line.
class Value {
public:
    Value(std::string_view text, std::size_t column, const std::string& file, std::size_t line,
          Key key)
        : text_(text), column_(column), file_(file), line_(line), key_(key) {}

    [[noreturn]] void fail(std::size_t at, std::string_view expected) const {
        throw ConfigError(fmt::format("{}:{}:{}: expected {} after '{}:'", file_, line_,
                                      column_ + at, expected, name_of(key_)));
    }

    // "0x" + hex digits.
    std::uint32_t hex(std::size_t& at) const {
        if (text_.substr(at, 2) != "0x" && text_.substr(at, 2) != "0X")
            fail(at, "a hex number like 0x1A");
        return digits(at += 2, 16, "hex digits");
    }

    // Decimal, possibly negative (parse prints dw2i() results with %d).
    std::uint32_t decimal(std::size_t& at) const {
        bool negative = false;
        if (at < text_.size() && text_[at] == '-') {
            negative = true;
            ++at;
        }
        const auto value = digits(at, 10, "a decimal number");
        return negative ? static_cast<std::uint32_t>(-static_cast<std::int64_t>(value)) : value;
    }

    std::uint32_t digits(std::size_t& at, int base, std::string_view expected) const {
        std::uint64_t value = 0;
        const auto* begin = text_.data() + at;
        const auto* end = text_.data() + text_.size();
        auto [ptr, ec] = std::from_chars(begin, end, value, base);
        if (ec != std::errc{} || ptr == begin || value > 0xFFFFFFFFULL)
            fail(at, expected);
        at += static_cast<std::size_t>(ptr - begin);
        return static_cast<std::uint32_t>(value);
    }

    void literal(std::size_t& at, std::string_view word) const {
        if (text_.substr(at, word.size()) != word)
            fail(at, fmt::format("'{}'", word));
        at += word.size();
    }

    // Nothing, or a space and free text (parse's remarks such as "(firmware release?)").
    void end(std::size_t at) const {
        if (at < text_.size() && text_[at] != ' ')
            fail(at, "the end of the line");
    }

    std::string_view text() const { return text_; }

private:
    std::string_view text_;
    std::size_t column_;
    const std::string& file_;
    std::size_t line_;
    Key key_;
};

std::uint8_t u8(const Value& v, std::size_t at, std::uint32_t value) {
    if (value > 0xFF)
        v.fail(at, "a value of one byte (0..255)");
    return static_cast<std::uint8_t>(value);
}

std::uint16_t u16(const Value& v, std::size_t at, std::uint32_t value) {
    if (value > 0xFFFF)
        v.fail(at, "a value of two bytes");
    return static_cast<std::uint16_t>(value);
}

std::uint8_t byte_hex(const Value& v) {
    std::size_t at = 0;
    const auto value = v.hex(at);
    v.end(at);
    return u8(v, 0, value);
}

std::uint8_t byte_dec(const Value& v) {
    std::size_t at = 0;
    const auto value = v.decimal(at);
    v.end(at);
    return u8(v, 0, value);
}

std::uint32_t dword_hex(const Value& v) {
    std::size_t at = 0;
    const auto value = v.hex(at);
    v.end(at);
    return value;
}

// "%d <unit>"
std::uint32_t with_unit(const Value& v, std::string_view unit) {
    std::size_t at = 0;
    const auto value = v.decimal(at);
    v.literal(at, " ");
    v.literal(at, unit);
    v.end(at);
    return value;
}

// "H.HH": BCD printed by parse as "%X.%02X" (older versions "%X.%X").
std::uint16_t bcd_value(const Value& v) {
    std::size_t at = 0;
    const auto major = v.digits(at, 16, "a BCD version like 1.10");
    v.literal(at, ".");
    const auto minor = v.digits(at, 16, "a BCD version like 1.10");
    v.end(at);
    return static_cast<std::uint16_t>(u8(v, 0, major) << 8U | u8(v, 0, minor));
}

// "%.3f MHz" of a kHz value: kHz = integer part * 1000 + three decimals.
std::uint32_t clock_khz(const Value& v) {
    std::size_t at = 0;
    const std::uint64_t mhz = v.digits(at, 10, "a clock like 4.000 MHz");
    std::uint64_t khz = mhz * 1000;
    if (at < v.text().size() && v.text()[at] == '.') {
        ++at;
        std::uint64_t scale = 100;
        const std::size_t start = at;
        while (at < v.text().size() && v.text()[at] >= '0' && v.text()[at] <= '9') {
            khz += static_cast<std::uint64_t>(v.text()[at] - '0') * scale;
            scale /= 10;
            ++at;
        }
        if (at == start || at - start > 3)
            v.fail(start, "three decimals (kHz) like 4.000 MHz");
    }
    v.literal(at, " MHz");
    v.end(at);
    if (khz > 0xFFFFFFFFULL)
        v.fail(0, "a clock that fits 32 bits");
    return static_cast<std::uint32_t>(khz);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

struct Builder {
    const std::string& file;
    Dump dump;
    std::optional<DumpBlock> block;
    std::array<bool, key_count> seen{};
    bool in_descriptor = false;
    std::size_t descriptor_line = 0;
    Descriptor descriptor;
    std::optional<Key> last_key;
    bool last_was_feature_line = false;

    void close(std::size_t line) {
        if (!block)
            return;
        auto require = [&](Key key, std::size_t where) {
            if (!seen[static_cast<std::size_t>(key)])
                throw ConfigError(fmt::format(
                    "{}:{}:1: expected a '{}:' line in the block that starts at line {}", file,
                    line, name_of(key), where));
        };
        for (auto key :
             {Key::IdVendor, Key::IdProduct, Key::BcdDevice, Key::IfLength, Key::IfDescriptorType,
              Key::InterfaceNumber, Key::AlternateSetting, Key::NumEndpoints, Key::InterfaceClass,
              Key::InterfaceSubClass, Key::InterfaceProtocol})
            require(key, block->line);
        if (in_descriptor) {
            for (auto i = static_cast<std::size_t>(Key::Length); i < key_count; ++i)
                require(static_cast<Key>(i), descriptor_line);
            block->descriptor = descriptor;
        }
        dump.blocks.push_back(std::move(*block));
        block.reset();
    }

    void start(std::size_t line) {
        close(line);
        block = DumpBlock{};
        block->line = line;
        seen.fill(false);
        in_descriptor = false;
        descriptor = Descriptor{};
    }

    void set(Key key, const Value& v) {
        auto& b = *block;
        auto& d = descriptor;
        switch (key) {
        case Key::IdVendor:
            b.identity.vendor_id = u16(v, 0, dword_hex(v));
            break;
        case Key::IManufacturer:
            b.identity.manufacturer = std::string(v.text());
            break;
        case Key::IdProduct:
            b.identity.product_id = u16(v, 0, dword_hex(v));
            break;
        case Key::IProduct:
            b.identity.product = std::string(v.text());
            break;
        case Key::BcdDevice:
            b.identity.bcd_device = bcd_value(v);
            break;
        case Key::IfLength:
            b.interface.length = byte_dec(v);
            break;
        case Key::IfDescriptorType:
            b.interface.descriptor_type = byte_dec(v);
            break;
        case Key::InterfaceNumber:
            b.interface.number = byte_dec(v);
            break;
        case Key::AlternateSetting:
            b.interface.alternate_setting = byte_dec(v);
            break;
        case Key::NumEndpoints:
            b.interface.num_endpoints = byte_dec(v);
            break;
        case Key::InterfaceClass:
            b.interface.interface_class = byte_hex(v);
            break;
        case Key::InterfaceSubClass:
            b.interface.subclass = byte_dec(v);
            break;
        case Key::InterfaceProtocol:
            b.interface.protocol = byte_dec(v);
            break;
        case Key::IInterface:
            b.interface.name = std::string(v.text());
            break;
        case Key::Length:
            d.length = byte_hex(v);
            break;
        case Key::DescriptorType:
            d.type = byte_hex(v);
            break;
        case Key::BcdCcid:
            d.bcd_ccid = bcd_value(v);
            break;
        case Key::MaxSlotIndex:
            d.max_slot_index = byte_hex(v);
            break;
        case Key::VoltageSupport:
            d.voltage_support = byte_hex(v);
            break;
        case Key::Protocols: { // "0x%02X%02X 0x%02X%02X": high word, then low word
            std::size_t at = 0;
            const auto high = v.hex(at);
            v.literal(at, " ");
            const auto low = v.hex(at);
            v.end(at);
            d.protocols = static_cast<std::uint32_t>(u16(v, 0, high)) << 16U | u16(v, 0, low);
            break;
        }
        case Key::DefaultClock:
            d.default_clock_khz = clock_khz(v);
            break;
        case Key::MaximumClock:
            d.maximum_clock_khz = clock_khz(v);
            break;
        case Key::NumClockSupported:
            d.num_clock_supported = byte_dec(v);
            break;
        case Key::DataRate:
            d.data_rate_bps = with_unit(v, "bps");
            break;
        case Key::MaxDataRate:
            d.max_data_rate_bps = with_unit(v, "bps");
            break;
        case Key::NumDataRatesSupported:
            d.num_data_rates_supported = byte_dec(v);
            break;
        case Key::MaxIfsd: {
            std::size_t at = 0;
            d.max_ifsd = v.decimal(at);
            v.end(at);
            break;
        }
        case Key::SynchProtocols:
            d.synch_protocols = dword_hex(v);
            break;
        case Key::Mechanical:
            d.mechanical = dword_hex(v);
            break;
        case Key::Features:
            d.features = dword_hex(v);
            break;
        case Key::MaxMessageLength:
            d.max_message_length = with_unit(v, "bytes");
            break;
        case Key::ClassGetResponse:
            d.class_get_response = byte_hex(v);
            break;
        case Key::ClassEnvelope:
            d.class_envelope = byte_hex(v);
            break;
        case Key::LcdLayout:
            d.lcd_layout = u16(v, 0, dword_hex(v));
            break;
        case Key::PinSupport:
            d.pin_support = byte_hex(v);
            break;
        case Key::MaxBusySlots:
            d.max_busy_slots = byte_dec(v);
            break;
        case Key::Count:
            break;
        }
    }

    // Indented lines without a known key: parse's remarks, GET CLOCK/DATA RATES answers,
    // dwFeatures bit names.
    void remark(std::string_view text) {
        last_was_feature_line = false;
        if (!block)
            return;
        if (text.starts_with("Support ")) {
            std::uint64_t value = 0;
            std::string_view rest = text.substr(8);
            const bool negative = rest.starts_with("-");
            if (negative)
                rest.remove_prefix(1);
            auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
            if (ec == std::errc{} && value <= 0xFFFFFFFFULL) {
                const auto v = static_cast<std::uint32_t>(
                    negative ? static_cast<std::uint64_t>(-static_cast<std::int64_t>(value))
                             : value);
                const std::string_view unit(
                    ptr, static_cast<std::size_t>(rest.data() + rest.size() - ptr));
                if (unit == " kHz")
                    block->clock_frequencies_khz.push_back(v);
                else if (unit == " bps")
                    block->data_rates_bps.push_back(v);
            }
            return;
        }
        if (last_key == Key::Features && in_descriptor) {
            block->feature_texts.emplace_back(text);
            last_was_feature_line = true;
        }
        if (text.starts_with("Can't get iManufacturer"))
            block->identity.manufacturer.reset();
        else if (text.starts_with("Can't get iProduct"))
            block->identity.product.reset();
        else if (text.starts_with("Can't get iInterface")) {
            block->interface.name.reset();
            seen[static_cast<std::size_t>(Key::IInterface)] = true;
        }
    }
};

std::string bcd(std::uint16_t value) {
    return fmt::format("{:X}.{:02X}", value >> 8U, value & 0xFFU);
}

void append_descriptor(std::string& out, const Descriptor& d,
                       const std::vector<std::uint32_t>& clocks,
                       const std::vector<std::uint32_t>& rates) {
    auto line = [&](std::string text) {
        out += text;
        out += '\n';
    };
    line(" CCID Class Descriptor");
    line(fmt::format("  bLength: 0x{:02X}", d.length));
    line(fmt::format("  bDescriptorType: 0x{:02X}", d.type));
    if (d.type == 0xFF)
        line("   PROPRIETARY bDescriptorType");
    else if (d.type != descriptor_type)
        line("   UNSUPPORTED bDescriptorType");
    line(fmt::format("  bcdCCID: {}", bcd(d.bcd_ccid)));
    line(fmt::format("  bMaxSlotIndex: 0x{:02X}", d.max_slot_index));
    line(fmt::format("  bVoltageSupport: 0x{:02X}", d.voltage_support));
    for (const auto& bit : voltage_bits())
        if (d.voltage_support & bit.mask)
            line(fmt::format("   {}", bit.text));
    line(
        fmt::format("  dwProtocols: 0x{:04X} 0x{:04X}", d.protocols >> 16U, d.protocols & 0xFFFFU));
    for (const auto& bit : protocol_bits())
        if (d.protocols & bit.mask)
            line(fmt::format("   {}", bit.text));
    line(fmt::format("  dwDefaultClock: {}.{:03} MHz", d.default_clock_khz / 1000,
                     d.default_clock_khz % 1000));
    line(fmt::format("  dwMaximumClock: {}.{:03} MHz", d.maximum_clock_khz / 1000,
                     d.maximum_clock_khz % 1000));
    line(fmt::format("  bNumClockSupported: {}{}", d.num_clock_supported,
                     d.num_clock_supported ? "" : " (will use whatever is returned)"));
    for (auto khz : clocks)
        line(fmt::format("   Support {} kHz", static_cast<std::int32_t>(khz)));
    line(fmt::format("  dwDataRate: {} bps", static_cast<std::int32_t>(d.data_rate_bps)));
    line(fmt::format("  dwMaxDataRate: {} bps", static_cast<std::int32_t>(d.max_data_rate_bps)));
    line(fmt::format("  bNumDataRatesSupported: {}{}", d.num_data_rates_supported,
                     d.num_data_rates_supported ? "" : " (will use whatever is returned)"));
    for (auto bps : rates)
        line(fmt::format("   Support {} bps", static_cast<std::int32_t>(bps)));
    line(fmt::format("  dwMaxIFSD: {}", static_cast<std::int32_t>(d.max_ifsd)));
    line(fmt::format("  dwSynchProtocols: 0x{:08X}", d.synch_protocols));
    for (const auto& bit : synch_bits())
        if (d.synch_protocols & bit.mask)
            line(fmt::format("   {}", bit.text));
    line(fmt::format("  dwMechanical: 0x{:08X}", d.mechanical));
    if ((d.mechanical & 0xFFU) == 0)
        line("   No special characteristics");
    for (const auto& bit : mechanical_bits())
        if (d.mechanical & bit.mask)
            line(fmt::format("   {}", bit.text));
    line(fmt::format("  dwFeatures: 0x{:08X}", d.features));
    if (d.features == 0)
        line("   No special characteristics");
    for (const auto& bit : feature_bits()) {
        if (bit.mask == feature::usb_wake_up) {
            switch (d.exchange_level()) { // parse prints the level between byte 1 and bit 0x10 of
                                          // byte 2
            case ExchangeLevel::Character:
                line("   00.... Character level exchange");
                break;
            case ExchangeLevel::Tpdu:
                line("   01.... TPDU level exchange");
                break;
            case ExchangeLevel::ShortApdu:
                line("   02.... Short APDU level exchange");
                break;
            case ExchangeLevel::ExtendedApdu:
                line("   04.... Short and Extended APDU level exchange");
                break;
            case ExchangeLevel::Reserved:
                break;
            }
        }
        if (d.features & bit.mask)
            line(fmt::format("   {} {}", bit.tag, bit.text));
    }
    line(fmt::format("  dwMaxCCIDMessageLength: {} bytes",
                     static_cast<std::int32_t>(d.max_message_length)));
    line(fmt::format("  bClassGetResponse: 0x{:02X}", d.class_get_response));
    if (d.class_get_response == 0xFF)
        line("   echoes the APDU class");
    line(fmt::format("  bClassEnvelope: 0x{:02X}", d.class_envelope));
    if (d.class_envelope == 0xFF)
        line("   echoes the APDU class");
    line(fmt::format("  wLcdLayout: 0x{:04X}", d.lcd_layout));
    if (d.lcd_layout >> 8U)
        line(fmt::format("   {:2} lines", d.lcd_layout >> 8U));
    if (d.lcd_layout & 0xFFU)
        line(fmt::format("   {:2} characters per line", d.lcd_layout & 0xFFU));
    line(fmt::format("  bPINSupport: 0x{:02X}", d.pin_support));
    for (const auto& bit : pin_bits())
        if (d.pin_support & bit.mask)
            line(fmt::format("   {}", bit.text));
    line(fmt::format("  bMaxCCIDBusySlots: {}", d.max_busy_slots));
}

} // namespace

Dump parse_dump(std::string_view text, const std::string& file) {
    Builder b{file, Dump{file, {}}, std::nullopt, {}, false, 0, {}, std::nullopt, false};
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto eol = text.find('\n', pos);
        std::string_view line =
            text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (trim(line).empty())
            continue;
        std::size_t indent = 0;
        while (indent < line.size() && line[indent] == ' ')
            ++indent;
        const std::string_view content = line.substr(indent);
        if (content == "CCID Class Descriptor") {
            if (!b.block)
                throw ConfigError(
                    fmt::format("{}:{}:{}: expected ' idVendor: 0x....' before the CCID Class "
                                "Descriptor",
                                file, line_no, indent + 1));
            if (b.in_descriptor)
                throw ConfigError(
                    fmt::format("{}:{}:{}: expected ' idVendor:' (a new block) before a second "
                                "CCID Class Descriptor",
                                file, line_no, indent + 1));
            b.in_descriptor = true;
            b.descriptor_line = line_no;
            b.last_key.reset();
            b.last_was_feature_line = false;
            continue;
        }
        const auto colon = content.find(':');
        std::optional<Key> key;
        if (colon != std::string_view::npos && colon > 0)
            key = find_key(content.substr(0, colon), b.in_descriptor);
        if (key) {
            if (*key == Key::IdVendor)
                b.start(line_no);
            if (!b.block)
                throw ConfigError(
                    fmt::format("{}:{}:{}: expected ' idVendor: 0x....' (the CCID driver's parse "
                                "output starts each block with it)",
                                file, line_no, indent + 1));
            auto& seen = b.seen[static_cast<std::size_t>(*key)];
            if (seen)
                throw ConfigError(
                    fmt::format("{}:{}:{}: expected ' idVendor:' (a new block) before a second "
                                "'{}:'",
                                file, line_no, indent + 1, name_of(*key)));
            seen = true;
            std::size_t value_at = colon + 1;
            if (value_at < content.size() && content[value_at] == ' ')
                ++value_at;
            const std::string_view value = content.substr(value_at);
            b.set(*key, Value(value, indent + value_at + 1, file, line_no, *key));
            b.last_key = key;
            b.last_was_feature_line = false;
            continue;
        }
        if (indent == 0 && b.last_was_feature_line) { // a feature name wrapped onto the next line
            b.block->feature_texts.back() += ' ';
            b.block->feature_texts.back() += trim(content);
            continue;
        }
        if (indent == 0 || !b.block)
            throw ConfigError(
                fmt::format("{}:{}:{}: expected an indented 'key: value' line of the CCID driver's "
                            "parse output (starting with ' idVendor: 0x....')",
                            file, line_no, indent + 1));
        b.remark(trim(content));
    }
    b.close(line_no + 1);
    if (b.dump.blocks.empty())
        throw ConfigError(
            fmt::format("{}:{}:1: expected ' idVendor: 0x....' (the CCID driver's parse output)",
                        file, line_no + 1));
    return std::move(b.dump);
}

std::string format_descriptor(const Descriptor& descriptor) {
    std::string out;
    append_descriptor(out, descriptor, {}, {});
    return out;
}

std::string format_block(const DumpBlock& block) {
    std::string out;
    auto line = [&](std::string text) {
        out += text;
        out += '\n';
    };
    const auto& id = block.identity;
    const auto& in = block.interface;
    line(fmt::format(" idVendor: 0x{:04X}", id.vendor_id));
    line(id.manufacturer ? fmt::format("  iManufacturer: {}", *id.manufacturer)
                         : "  Can't get iManufacturer string");
    line(fmt::format(" idProduct: 0x{:04X}", id.product_id));
    line(id.product ? fmt::format("  iProduct: {}", *id.product) : "  Can't get iProduct string");
    line(fmt::format(" bcdDevice: {} (firmware release?)", bcd(id.bcd_device)));
    line(fmt::format(" bLength: {}", in.length));
    line(fmt::format(" bDescriptorType: {}", in.descriptor_type));
    line(fmt::format(" bInterfaceNumber: {}", in.number));
    line(fmt::format(" bAlternateSetting: {}", in.alternate_setting));
    line(fmt::format(" bNumEndpoints: {}", in.num_endpoints));
    static constexpr std::array<const char*, 4> endpoints{"  Control only", "  Interrupt-IN",
                                                          "  bulk-IN and bulk-OUT",
                                                          "  bulk-IN, bulk-OUT and Interrupt-IN"};
    line(in.num_endpoints < endpoints.size() ? endpoints[in.num_endpoints] : "  UNKNOWN value");
    if (in.interface_class == interface_class_ccid) {
        line(fmt::format(" bInterfaceClass: 0x{:02X} [Chip Card Interface Device Class (CCID)]",
                         in.interface_class));
    } else {
        line(fmt::format(" bInterfaceClass: 0x{:02X}", in.interface_class));
        line("  NOT A CCID DEVICE");
        if (in.interface_class == interface_class_vendor)
            line("  Class is 0xFF (proprietary)");
    }
    line(fmt::format(" bInterfaceSubClass: {}", in.subclass));
    if (in.subclass)
        line("  UNSUPPORTED SubClass");
    line(fmt::format(" bInterfaceProtocol: {}", in.protocol));
    switch (in.protocol) {
    case 0:
        line("  bulk transfer, optional interrupt-IN (CCID)");
        break;
    case 1:
        line("  ICCD Version A, Control transfers, (no interrupt-IN)");
        break;
    case 2:
        line("  ICCD Version B, Control transfers, (optional interrupt-IN)");
        break;
    default:
        line("  UNSUPPORTED InterfaceProtocol");
    }
    line(in.name ? fmt::format(" iInterface: {}", *in.name) : " Can't get iInterface string");
    if (block.descriptor)
        append_descriptor(out, *block.descriptor, block.clock_frequencies_khz,
                          block.data_rates_bps);
    else
        line("\n  NOT A CCID DEVICE");
    return out;
}

std::vector<SupportedReader> parse_supported_readers(std::string_view text,
                                                     const std::string& file) {
    std::vector<SupportedReader> out;
    std::string section;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto eol = text.find('\n', pos);
        std::string_view line =
            text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (trim(line).empty())
            continue;
        bool commented = false;
        std::size_t column = 1;
        if (line.starts_with("# section:")) {
            section = std::string(trim(line.substr(10)));
            continue;
        }
        if (line.starts_with("#0x") || line.starts_with("#0X")) {
            commented = true;
            line.remove_prefix(1);
            column = 2;
        } else if (line.starts_with("#")) {
            continue;
        }
        // "0xVVVV:0xPPPP:Name"
        auto fail = [&](std::size_t at, std::string_view expected) {
            throw ConfigError(
                fmt::format("{}:{}:{}: expected {}", file, line_no, column + at, expected));
        };
        SupportedReader reader;
        reader.line = line_no;
        reader.section = section;
        reader.commented_out = commented;
        std::size_t at = 0;
        for (std::uint16_t* target : {&reader.vendor_id, &reader.product_id}) {
            if (line.substr(at, 2) != "0x" && line.substr(at, 2) != "0X")
                fail(at, "'0x' and four hex digits (\"0xVVVV:0xPPPP:Name\")");
            at += 2;
            std::uint32_t value = 0;
            auto [ptr, ec] =
                std::from_chars(line.data() + at, line.data() + line.size(), value, 16);
            const auto used = static_cast<std::size_t>(ptr - (line.data() + at));
            if (ec != std::errc{} || used == 0 || used > 4)
                fail(at, "one to four hex digits");
            *target = static_cast<std::uint16_t>(value);
            at += used;
            if (at >= line.size() || line[at] != ':')
                fail(at, "':' (\"0xVVVV:0xPPPP:Name\")");
            ++at;
        }
        reader.name = std::string(trim(line.substr(at)));
        if (reader.name.empty())
            fail(at, "a reader name after the second ':'");
        out.push_back(std::move(reader));
    }
    return out;
}

} // namespace harness::ccid
