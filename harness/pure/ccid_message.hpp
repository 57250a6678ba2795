#pragma once
// CCID rev 1.1 §6 bulk and interrupt messages: parse every PC_to_RDR command, build every RDR_to_PC
// reply and the NotifySlotChange interrupt (and the reverse, for tests and traces). Pure: no I/O.
// Parsing never throws: a message a reader cannot take is a value with the bError a conforming
// firmware answers (CCID §6.2.6) plus findings.
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace harness::ccid {

inline constexpr std::size_t header_size = 10; // CCID §6.1: bMessageType .. 3 specific bytes

// bMessageType (CCID §6.1, §6.2, §6.3).
enum class MessageType : std::uint8_t {
    // PC_to_RDR (bulk OUT)
    IccPowerOn = 0x62,
    IccPowerOff = 0x63,
    GetSlotStatus = 0x65,
    XfrBlock = 0x6F,
    GetParameters = 0x6C,
    ResetParameters = 0x6D,
    SetParameters = 0x61,
    Escape = 0x6B,
    IccClock = 0x6E,
    T0Apdu = 0x6A,
    Secure = 0x69,
    Mechanical = 0x71,
    Abort = 0x72,
    SetDataRateAndClockFrequency = 0x73,
    // RDR_to_PC (bulk IN)
    DataBlock = 0x80,
    SlotStatus = 0x81,
    Parameters = 0x82,
    EscapeReply = 0x83,
    DataRateAndClockFrequency = 0x84,
    // RDR_to_PC (interrupt IN)
    NotifySlotChange = 0x50,
    HardwareError = 0x51,
};
// "PC_to_RDR_IccPowerOn", …, "RDR_to_PC_NotifySlotChange"; "unknown" otherwise.
const char* to_string(MessageType type);
bool is_command(std::uint8_t type); // a PC_to_RDR bMessageType of CCID rev 1.1
bool is_reply(std::uint8_t type);   // an RDR_to_PC bulk bMessageType

// bStatus bits 0-1 (bmICCStatus) and 6-7 (bmCommandStatus), CCID §6.2.6.
enum class IccStatus : std::uint8_t { Active = 0, PresentInactive = 1, Absent = 2 };
enum class CommandStatus : std::uint8_t { Ok = 0, Failed = 1, TimeExtension = 2 };
const char* to_string(IccStatus status);     // "active", "present_inactive", "absent"
const char* to_string(CommandStatus status); // "ok", "failed", "time_extension"
std::uint8_t status_byte(IccStatus icc, CommandStatus command);
IccStatus icc_status_of(std::uint8_t status);
CommandStatus command_status_of(std::uint8_t status); // value 3 (RFU) reads as Failed

// bError (CCID §6.2.6 table 6.2-2). 0x01..0x7F: the offset of the bad field in the message.
namespace error {
inline constexpr std::uint8_t command_not_supported = 0x00;
inline constexpr std::uint8_t bad_length = 0x01;          // dwLength (offset 1)
inline constexpr std::uint8_t bad_slot = 0x05;            // bSlot (offset 5)
inline constexpr std::uint8_t bad_power_select = 0x07;    // IccPowerOn bPowerSelect (offset 7)
inline constexpr std::uint8_t bad_protocol = 0x07;        // SetParameters bProtocolNum (offset 7)
inline constexpr std::uint8_t bad_level_parameter = 0x08; // XfrBlock wLevelParameter (offset 8)
inline constexpr std::uint8_t bad_data = 0x0A;            // abData[0] (offset 10)
inline constexpr std::uint8_t cmd_slot_busy = 0xE0;
inline constexpr std::uint8_t pin_cancelled = 0xEF;
inline constexpr std::uint8_t pin_timeout = 0xF0;
inline constexpr std::uint8_t busy_with_auto_sequence = 0xF2;
inline constexpr std::uint8_t deactivated_protocol = 0xF3;
inline constexpr std::uint8_t procedure_byte_conflict = 0xF4;
inline constexpr std::uint8_t icc_class_not_supported = 0xF5;
inline constexpr std::uint8_t icc_protocol_not_supported = 0xF6;
inline constexpr std::uint8_t bad_atr_tck = 0xF7;
inline constexpr std::uint8_t bad_atr_ts = 0xF8;
inline constexpr std::uint8_t hw_error = 0xFB;
inline constexpr std::uint8_t xfr_overrun = 0xFC;
inline constexpr std::uint8_t xfr_parity_error = 0xFD;
inline constexpr std::uint8_t icc_mute = 0xFE; // also: the card did not answer in time
inline constexpr std::uint8_t cmd_aborted = 0xFF;
} // namespace error
// "ICC_MUTE", "CMD_SLOT_BUSY", "bad parameter at offset 5", "command not supported", …
std::string error_text(std::uint8_t error);

// XfrBlock wLevelParameter at extended APDU level (CCID §6.1.4) and DataBlock bChainParameter
// (§6.2.1): which part of a chained APDU this message carries.
namespace chain {
inline constexpr std::uint16_t begin_and_end = 0x0000;
inline constexpr std::uint16_t begin_continue = 0x0001;
inline constexpr std::uint16_t continue_end = 0x0002;
inline constexpr std::uint16_t continue_continue = 0x0003;
inline constexpr std::uint16_t empty_continue = 0x0010; // empty abData: "send the next part"
} // namespace chain

// IccPowerOn bPowerSelect (§6.1.1).
enum class PowerSelect : std::uint8_t { Automatic = 0, V5 = 1, V3 = 2, V1_8 = 3 };

// SetParameters / Parameters abProtocolDataStructure (CCID §6.1.7 tables 6.1-8/6.1-9).
struct T0Parameters {
    std::uint8_t findex_dindex = 0x11;   // bmFindexDindex (TA1)
    std::uint8_t tcckst0 = 0x00;         // bmTCCKST0: bit 1 convention (0 direct, 1 inverse)
    std::uint8_t guard_time = 0x00;      // bGuardTimeT0 (TC1)
    std::uint8_t waiting_integer = 0x0A; // bWaitingIntegerT0 (WI, TC2)
    std::uint8_t clock_stop = 0x00;      // bClockStop
    bool operator==(const T0Parameters&) const = default;
};
struct T1Parameters {
    std::uint8_t findex_dindex = 0x11;    // bmFindexDindex (TA1)
    std::uint8_t tcckst1 = 0x10;          // bmTCCKST1: bit 0 CRC (1) or LRC (0), bit 1 convention
    std::uint8_t guard_time = 0x00;       // bGuardTimeT1 (TC1)
    std::uint8_t waiting_integers = 0x4D; // bmWaitingIntegersT1: BWI (high nibble), CWI (TB3)
    std::uint8_t clock_stop = 0x00;       // bClockStop
    std::uint8_t ifsc = 0x20;             // bIFSC (TA3)
    std::uint8_t nad = 0x00;              // bNadValue
    bool uses_crc() const { return (tcckst1 & 0x01) != 0; }
    bool operator==(const T1Parameters&) const = default;
};
struct ProtocolParameters {
    std::uint8_t protocol = 0; // bProtocolNum: 0 T=0, 1 T=1
    T0Parameters t0;           // meaningful when protocol == 0
    T1Parameters t1;           // meaningful when protocol == 1
    Bytes encode() const;      // 5 (T=0) or 7 (T=1) bytes
    bool operator==(const ProtocolParameters&) const = default;
};
// Decodes abProtocolDataStructure; nullopt when the protocol is not 0/1 or the length is wrong.
std::optional<ProtocolParameters> decode_parameters(std::uint8_t protocol, ByteView data);

// The 10-byte header every bulk message starts with.
struct Header {
    std::uint8_t type = 0;
    std::uint32_t length = 0; // dwLength: bytes of abData after the header
    std::uint8_t slot = 0;
    std::uint8_t seq = 0;
    std::array<std::uint8_t, 3> specific{}; // message-specific bytes 7..9
    bool operator==(const Header&) const = default;
};

// A PC_to_RDR command with its specific fields decoded (the ones a type does not use stay 0).
struct Command {
    MessageType type = MessageType::GetSlotStatus;
    std::uint8_t slot = 0;
    std::uint8_t seq = 0;
    Bytes data; // abData
    // The 3 message-specific header bytes as received (RFU ones included); encode() writes the
    // decoded fields below over them, so a hand-built command needs only those.
    std::array<std::uint8_t, 3> specific{};
    // IccPowerOn
    PowerSelect power_select = PowerSelect::Automatic;
    // XfrBlock
    std::uint8_t bwi = 0;              // bBWI: block waiting time multiplier for this block
    std::uint16_t level_parameter = 0; // wLevelParameter (chain:: at extended APDU level)
    // SetParameters (also the protocol GetParameters replies use)
    std::uint8_t protocol = 0; // bProtocolNum
    // IccClock bClockCommand (0 restart, 1 stop), Mechanical bFunction, T0Apdu bmChanges
    std::uint8_t function = 0;
    // T0Apdu bClassGetResponse, bClassEnvelope
    std::uint8_t class_get_response = 0;
    std::uint8_t class_envelope = 0;
    // Secure: bBWI + wLevelParameter are shared with XfrBlock fields above
    // SetDataRateAndClockFrequency abData: dwClockFrequency (kHz), dwDataRate (bps)
    std::uint32_t clock_khz = 0;
    std::uint32_t data_rate_bps = 0;
    bool operator==(const Command&) const = default;
};

// The outcome of parsing one bulk OUT transfer.
struct ParsedCommand {
    std::optional<Header> header;   // nullopt: fewer than 10 bytes (nothing to answer to)
    std::optional<Command> command; // set when the message is well formed and of a known type
    // When command is nullopt but header is set: the bError a firmware replies with
    // (command_not_supported, bad_length, bad_data, ...). 0 otherwise.
    std::uint8_t error = 0;
    Findings findings;
};
// Parses one message. Bytes after dwLength are a finding and an error (bad_length); so is a
// dwLength larger than the bytes present. SetParameters' structure length is checked against
// its protocol (bad_length), SetDataRateAndClockFrequency needs 8 bytes (bad_length).
ParsedCommand parse_command(ByteView message);
// Encodes a command (host side; used by tests, traces and the fuzz round-trip).
Bytes encode(const Command& command);

// An RDR_to_PC bulk reply (DataBlock, SlotStatus, Parameters, Escape, DataRateAndClockFrequency).
struct Reply {
    MessageType type = MessageType::SlotStatus;
    std::uint8_t slot = 0;
    std::uint8_t seq = 0;
    std::uint8_t status = 0; // bStatus
    std::uint8_t error = 0;  // bError
    // byte 9: DataBlock bChainParameter, SlotStatus bClockStatus, Parameters bProtocolNum,
    // Escape/DataRateAndClockFrequency bRFU
    std::uint8_t specific = 0;
    Bytes data;
    IccStatus icc() const { return icc_status_of(status); }
    CommandStatus command_status() const { return command_status_of(status); }
    bool operator==(const Reply&) const = default;
};
Bytes encode(const Reply& reply);
struct ParsedReply {
    std::optional<Reply> reply;
    Findings findings;
};
ParsedReply parse_reply(ByteView message);

// Builders for each RDR_to_PC message (CCID §6.2).
Reply data_block(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                 std::uint8_t chain_parameter, Bytes data);
Reply slot_status(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                  std::uint8_t clock_status = 0x00);
Reply parameters(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                 const ProtocolParameters& parameters);
Reply escape_reply(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                   Bytes data);
Reply data_rate_and_clock(std::uint8_t slot, std::uint8_t seq, std::uint8_t status,
                          std::uint8_t error, std::uint32_t clock_khz, std::uint32_t data_rate_bps);
// The reply type a command is answered with (§6.2: e.g. XfrBlock → DataBlock, Abort → SlotStatus).
MessageType reply_type_for(MessageType command);
// A failure reply to a command (any type, even one not parsed): the right reply type for the
// header's bMessageType (SlotStatus for unknown types), given status and bError, no data.
Reply failure_reply(const Header& header, IccStatus icc, std::uint8_t error);

// RDR_to_PC_NotifySlotChange (§6.3.1): 2 bits per slot, bit 0 present, bit 1 changed.
struct SlotChange {
    bool present = false;
    bool changed = false;
    bool operator==(const SlotChange&) const = default;
};
Bytes notify_slot_change(std::span<const SlotChange> slots);
// Decodes an interrupt message; nullopt for another type or a short message.
std::optional<std::vector<SlotChange>> parse_notify_slot_change(ByteView message,
                                                                std::size_t slots);

// The 10-byte header of any bulk message (command or reply); nullopt when shorter.
std::optional<Header> parse_header(ByteView message);

// One line for traces: "PC_to_RDR_XfrBlock slot 0 seq 3 len 5 bwi 0 level 0x0000: 00 A4 04 0C
// 0A …". The data part is what the caller passes (redaction is the caller's job).
std::string describe(const Header& header);

} // namespace harness::ccid
