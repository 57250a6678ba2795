#pragma once
// USB CCID class descriptor (CCID rev 1.1 §5.1, type 0x21, 54 bytes): decode, encode, locate in
// configuration bytes, check (findings) and predict My Number card capability. Pure: no I/O.
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::ccid {

inline constexpr std::size_t descriptor_length = 54;  // CCID §5.1 bLength 0x36
inline constexpr std::uint8_t descriptor_type = 0x21; // CCID §5.1 bDescriptorType
inline constexpr std::uint8_t interface_class_ccid = 0x0B;
inline constexpr std::uint8_t interface_class_vendor = 0xFF;
inline constexpr std::uint32_t message_header_length = 10; // CCID §6.1 bulk message header

// dwFeatures byte 2 & 0x07 (CCID §5.1); other values are reserved.
enum class ExchangeLevel { Character, Tpdu, ShortApdu, ExtendedApdu, Reserved };
// "character", "tpdu", "short_apdu", "extended_apdu", "reserved"
const char* to_string(ExchangeLevel level);
std::optional<ExchangeLevel> exchange_level_from_string(std::string_view name);

// All 54 bytes, field by field, little-endian multi-byte fields already combined (CCID §5.1).
struct Descriptor {
    std::uint8_t length = 0x36;                // bLength
    std::uint8_t type = descriptor_type;       // bDescriptorType (0xFF on some proprietary ones)
    std::uint16_t bcd_ccid = 0x0110;           // bcdCCID, 0x0110 = 1.10
    std::uint8_t max_slot_index = 0;           // bMaxSlotIndex
    std::uint8_t voltage_support = 0x07;       // bVoltageSupport: 1 5.0V, 2 3.0V, 4 1.8V
    std::uint32_t protocols = 0x00000003;      // dwProtocols: 1 T=0, 2 T=1
    std::uint32_t default_clock_khz = 4000;    // dwDefaultClock
    std::uint32_t maximum_clock_khz = 4000;    // dwMaximumClock
    std::uint8_t num_clock_supported = 0;      // bNumClockSupported
    std::uint32_t data_rate_bps = 10752;       // dwDataRate
    std::uint32_t max_data_rate_bps = 344086;  // dwMaxDataRate
    std::uint8_t num_data_rates_supported = 0; // bNumDataRatesSupported
    std::uint32_t max_ifsd = 254;              // dwMaxIFSD
    std::uint32_t synch_protocols = 0;         // dwSynchProtocols: 1 2-wire, 2 3-wire, 4 I2C
    std::uint32_t mechanical = 0;              // dwMechanical
    std::uint32_t features = 0x000400FE;       // dwFeatures
    std::uint32_t max_message_length = 271;    // dwMaxCCIDMessageLength
    std::uint8_t class_get_response = 0xFF;    // bClassGetResponse (0xFF: echoes the APDU class)
    std::uint8_t class_envelope = 0xFF;        // bClassEnvelope
    std::uint16_t lcd_layout = 0;              // wLcdLayout: high byte lines, low byte chars/line
    std::uint8_t pin_support = 0;              // bPINSupport: 1 verify, 2 modify
    std::uint8_t max_busy_slots = 1;           // bMaxCCIDBusySlots

    ExchangeLevel exchange_level() const;
    bool supports_t0() const { return (protocols & 0x1U) != 0; }
    bool supports_t1() const { return (protocols & 0x2U) != 0; }
    std::vector<int> protocol_numbers() const; // {0, 1}, {1}…: defined bits only
    std::size_t slots() const { return std::size_t{max_slot_index} + 1; }
    bool has_feature(std::uint32_t mask) const { return (features & mask) == mask; }
    friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

// One named bit of a bit field, with the CCID driver's parse wording.
struct NamedBit {
    std::uint32_t mask;
    const char* name; // stable snake_case key
    const char* text; // the CCID driver's parse wording, e.g. "Automatic PPS made by the CCID"
    const char* tag;  // the parse column marker for dwFeatures ("....80"); "" elsewhere
};

// dwFeatures bits (CCID §5.1 table 5.1-1), exchange-level values excluded (see exchange_level()).
namespace feature {
inline constexpr std::uint32_t auto_config_atr = 0x00000002;
inline constexpr std::uint32_t auto_activation = 0x00000004;
inline constexpr std::uint32_t auto_voltage = 0x00000008;
inline constexpr std::uint32_t auto_clock = 0x00000010;
inline constexpr std::uint32_t auto_baud = 0x00000020;
inline constexpr std::uint32_t auto_param_negotiation = 0x00000040;
inline constexpr std::uint32_t auto_pps = 0x00000080;
inline constexpr std::uint32_t clock_stop = 0x00000100;
inline constexpr std::uint32_t nad_not_zero = 0x00000200;
inline constexpr std::uint32_t auto_ifsd = 0x00000400;
inline constexpr std::uint32_t iccd_unknown = 0x00000800; // parse: "Unknown (ICCD?)"
inline constexpr std::uint32_t level_mask = 0x00070000;
inline constexpr std::uint32_t usb_wake_up = 0x00100000;
} // namespace feature

std::span<const NamedBit> feature_bits();    // the single bits above, in parse order
std::span<const NamedBit> voltage_bits();    // bVoltageSupport
std::span<const NamedBit> protocol_bits();   // dwProtocols
std::span<const NamedBit> synch_bits();      // dwSynchProtocols
std::span<const NamedBit> mechanical_bits(); // dwMechanical
std::span<const NamedBit> pin_bits();        // bPINSupport
// Bits of dwFeatures that are neither a known bit nor the exchange level.
std::uint32_t unknown_feature_bits(std::uint32_t features);
// snake_case names of the set feature bits, then the exchange level ("level_tpdu", ...), then
// "unknown_0x…" for each unknown bit.
std::vector<std::string> feature_names(std::uint32_t features);

// The result of decoding 54 bytes; oddities are findings, never exceptions.
struct Decoded {
    Descriptor descriptor;
    Findings findings;
};

// Decodes up to 54 bytes; shorter input is zero-padded (finding "descriptor_truncated"), longer
// input is cut (finding "descriptor_too_long"). Then appends check(descriptor).
Decoded decode(ByteView bytes);
// 54 bytes, little-endian (CCID §5.1).
Bytes encode(const Descriptor& descriptor);
// Findings about the content of a descriptor (stable codes, en + ja).
Findings check(const Descriptor& descriptor);

// Interface descriptor fields (USB 2.0 §9.6.5) as parse prints them.
struct InterfaceInfo {
    std::uint8_t length = 9;                             // bLength
    std::uint8_t descriptor_type = 4;                    // bDescriptorType
    std::uint8_t number = 0;                             // bInterfaceNumber
    std::uint8_t alternate_setting = 0;                  // bAlternateSetting
    std::uint8_t num_endpoints = 3;                      // bNumEndpoints
    std::uint8_t interface_class = interface_class_ccid; // bInterfaceClass
    std::uint8_t subclass = 0;                           // bInterfaceSubClass
    std::uint8_t protocol = 0;                           // bInterfaceProtocol: 0 CCID, 1/2 ICCD A/B
    std::uint8_t string_index = 0;                       // iInterface
    std::optional<std::string> name;                     // iInterface string when known
    friend bool operator==(const InterfaceInfo&, const InterfaceInfo&) = default;
};

// Device identity as parse prints it; results are keyed by VID, PID and bcdDevice.
struct DeviceIdentity {
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::optional<std::string> manufacturer; // iManufacturer string
    std::optional<std::string> product;      // iProduct string
    friend bool operator==(const DeviceIdentity&, const DeviceIdentity&) = default;
};

enum class Placement {
    InterfaceExtra, // right after the interface descriptor (CCID §5.1)
    AfterEndpoints, // after the last endpoint descriptor (seen on some readers)
    Given,          // handed in directly (hex on the command line, a dump file)
};
const char* to_string(Placement placement); // "interface_extra", "after_endpoints", "given"

// One interface that carries a CCID class descriptor.
struct Located {
    InterfaceInfo interface;
    Placement placement = Placement::InterfaceExtra;
    Descriptor descriptor;
    Findings findings; // decode findings plus placement/class findings
};

struct LocateResult {
    std::vector<Located> interfaces;
    Findings findings; // structural problems of the configuration bytes
};

// Walks a raw configuration descriptor (USB 2.0 §9.6.3, as returned by GET_DESCRIPTOR and kept
// in sysfs "descriptors" after the 18-byte device descriptor) and returns every interface of
// class 0x0B, or of class 0xFF carrying a 54-byte type-0x21/0xFF descriptor.
LocateResult locate_in_configuration(ByteView configuration);

// For libusb users: the interface's "extra" bytes and the last endpoint's "extra" bytes (where
// libusb puts a descriptor placed after the endpoints). Same rules as the CCID driver.
std::optional<Located> locate_in_extras(const InterfaceInfo& interface, ByteView interface_extra,
                                        ByteView last_endpoint_extra);

// Predicted My Number card capability: an ESTIMATE from the descriptor alone, never a verdict;
// firmware bugs, driver overrides and card timing are only seen by running the suites.
enum class Likelihood { Likely, AtRisk, Unlikely };
const char* to_string(Likelihood likelihood); // "likely", "at_risk", "unlikely"

struct Reason {
    std::string code;    // stable snake_case key
    Likelihood effect;   // what this reason alone suggests
    std::string message; // English
    std::string message_ja;
};

struct Prediction {
    Likelihood likelihood = Likelihood::Likely; // the worst effect of all reasons
    std::vector<Reason> reasons;
};

Prediction predict(const Descriptor& descriptor);

} // namespace harness::ccid
