#pragma once
// Wire protocol between the lab reader driver (libifdcardharness.so, loaded by pcscd), the lab
// process and the `cardharness lab` commands: frames over a local Unix stream socket. Pure: no I/O.
// Frame: 4-byte big-endian body length, then the body. Requests and replies alternate on a
// connection, which may carry any number of them (the driver keeps one open per reader).
// Request body: version (1) | op (1) | slot length (1) | slot | arg (4, big-endian) | data.
// Reply body:   version (1) | code (4, big-endian) | data.
#include "pure/bytes.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace harness::ifd {

// pcsc-lite ifdhandler.h return codes (RESPONSECODE); the driver static_asserts that they match.
enum class Code : std::uint32_t {
    Success = 0,
    ErrorTag = 600,
    ErrorSetFailure = 601,
    ErrorPtsFailure = 605,
    ErrorNotSupported = 606,
    ProtocolNotSupported = 607,
    ErrorPowerAction = 608,
    CommunicationError = 612,
    ResponseTimeout = 613,
    NotSupported = 614,
    IccPresent = 615,
    IccNotPresent = 616,
    NoSuchDevice = 617,
    InsufficientBuffer = 618,
    // Lab-only codes (never returned to pcscd): a control request the lab refused.
    BadRequest = 0x10000,
};

const char*
to_string(Code code); // "IFD_SUCCESS", "IFD_COMMUNICATION_ERROR", ..., "LAB_BAD_REQUEST"

} // namespace harness::ifd

namespace harness::labwire {

inline constexpr std::uint8_t version = 1;
inline constexpr std::size_t header_length = 4;            // frame length prefix
inline constexpr std::uint32_t max_body_length = 1U << 20; // far above a 64 KB extended APDU
inline constexpr std::size_t max_slot_length = 64;

enum class Op : std::uint8_t {
    // Driver operations, one per IFDH call (arg and data as noted).
    Hello = 1,       // IFDHCreateChannelByName; reply data: FRIENDLYNAME (informational)
    Capability = 2,  // IFDHGetCapabilities; arg = tag; reply data = value
    SetProtocol = 3, // IFDHSetProtocolParameters; arg = protocol | flags << 8; data = PTS1..3
    Power = 4,       // IFDHPowerICC; arg = 500 up, 501 down, 502 reset; reply data = ATR
    Transmit = 5,    // IFDHTransmitToICC; arg = protocol; data = command APDU; reply = response
    Control = 6,     // IFDHControl; arg = control code; data = input; reply data = output
    Presence = 7,    // IFDHICCPresence; reply code IccPresent / IccNotPresent
    Close = 8,       // IFDHCloseChannel
    WaitChange = 9,  // IFDHPolling; arg = timeout in ms; reply Success when the slot changed since
                     // the last Presence answer, ResponseTimeout when the time ran out first
    // Lab control operations (the `cardharness lab` commands); reply data is text.
    Status = 0x40, // reply data: JSON status
    Insert = 0x41, // slot; arg bit 0 = citizen, bits 1-2 = interface (0 the slot's, 1 contact,
                   // 2 type_a, 3 type_b); data = card profile (empty: the slot's default)
    Remove = 0x42, // slot
    Reset = 0x43,  // restore every card's state (new cards from their profiles)
    Stop = 0x44,   // stop pcscd and the lab process
    Unplug = 0x45, // slot: hot-remove the USB device that holds it (`lab start --usb`)
    Plug = 0x46,   // slot: plug that USB device back in
    Trace = 0x47,  // slot; data = since (steady-clock ns, decimal text); reply: JSON of the
                   // firmware's CCID messages, redacted (`lab start --usb`)
};

const char* to_string(Op op);
bool is_known(std::uint8_t op);

struct Request {
    Op op = Op::Hello;
    std::string slot;
    std::uint32_t arg = 0;
    Bytes data;
    bool operator==(const Request&) const = default;
};

struct Reply {
    ifd::Code code = ifd::Code::Success;
    Bytes data;
    bool operator==(const Reply&) const = default;
};

// Bodies (without the length prefix). Encoding a slot name longer than max_slot_length throws
// std::length_error; decoding never throws: nullopt and *why say what was wrong.
Bytes encode_body(const Request& request);
Bytes encode_body(const Reply& reply);
std::optional<Request> decode_request(ByteView body, std::string* why = nullptr);
std::optional<Reply> decode_reply(ByteView body, std::string* why = nullptr);

// Prefixes a body with its 4-byte big-endian length.
Bytes frame(ByteView body);
// The body length announced by a 4-byte prefix; nullopt when above max_body_length.
std::optional<std::uint32_t> body_length(ByteView header);

// DEVICENAME in reader.conf is "<socket path>:<slot>" (split at the last ':').
struct DeviceName {
    std::string socket_path;
    std::string slot;
};
std::optional<DeviceName> parse_device_name(std::string_view device_name);
std::string format_device_name(const DeviceName& name);

} // namespace harness::labwire
