#include "pure/ccid_message.hpp"

#include <fmt/core.h>

namespace harness::ccid {
namespace {

std::uint32_t get32(ByteView b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8U |
           static_cast<std::uint32_t>(b[at + 2]) << 16U |
           static_cast<std::uint32_t>(b[at + 3]) << 24U;
}

void put32(Bytes& out, std::uint32_t v) {
    for (unsigned shift = 0; shift < 32; shift += 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void add(Findings& out, Severity severity, std::string code, std::string en, std::string ja) {
    out.push_back(Finding{severity, std::move(code), std::move(en), std::move(ja)});
}

// A header + abData with dwLength = data.size().
Bytes frame(std::uint8_t type, std::uint8_t slot, std::uint8_t seq, std::uint8_t b7,
            std::uint8_t b8, std::uint8_t b9, ByteView data) {
    Bytes out;
    out.reserve(header_size + data.size());
    out.push_back(type);
    put32(out, static_cast<std::uint32_t>(data.size()));
    out.push_back(slot);
    out.push_back(seq);
    out.push_back(b7);
    out.push_back(b8);
    out.push_back(b9);
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

} // namespace

const char* to_string(MessageType type) {
    switch (type) {
    case MessageType::IccPowerOn:
        return "PC_to_RDR_IccPowerOn";
    case MessageType::IccPowerOff:
        return "PC_to_RDR_IccPowerOff";
    case MessageType::GetSlotStatus:
        return "PC_to_RDR_GetSlotStatus";
    case MessageType::XfrBlock:
        return "PC_to_RDR_XfrBlock";
    case MessageType::GetParameters:
        return "PC_to_RDR_GetParameters";
    case MessageType::ResetParameters:
        return "PC_to_RDR_ResetParameters";
    case MessageType::SetParameters:
        return "PC_to_RDR_SetParameters";
    case MessageType::Escape:
        return "PC_to_RDR_Escape";
    case MessageType::IccClock:
        return "PC_to_RDR_IccClock";
    case MessageType::T0Apdu:
        return "PC_to_RDR_T0APDU";
    case MessageType::Secure:
        return "PC_to_RDR_Secure";
    case MessageType::Mechanical:
        return "PC_to_RDR_Mechanical";
    case MessageType::Abort:
        return "PC_to_RDR_Abort";
    case MessageType::SetDataRateAndClockFrequency:
        return "PC_to_RDR_SetDataRateAndClockFrequency";
    case MessageType::DataBlock:
        return "RDR_to_PC_DataBlock";
    case MessageType::SlotStatus:
        return "RDR_to_PC_SlotStatus";
    case MessageType::Parameters:
        return "RDR_to_PC_Parameters";
    case MessageType::EscapeReply:
        return "RDR_to_PC_Escape";
    case MessageType::DataRateAndClockFrequency:
        return "RDR_to_PC_DataRateAndClockFrequency";
    case MessageType::NotifySlotChange:
        return "RDR_to_PC_NotifySlotChange";
    case MessageType::HardwareError:
        return "RDR_to_PC_HardwareError";
    }
    return "unknown";
}

bool is_command(std::uint8_t type) {
    switch (type) {
    case 0x61:
    case 0x62:
    case 0x63:
    case 0x65:
    case 0x69:
    case 0x6A:
    case 0x6B:
    case 0x6C:
    case 0x6D:
    case 0x6E:
    case 0x6F:
    case 0x71:
    case 0x72:
    case 0x73:
        return true;
    default:
        return false;
    }
}

bool is_reply(std::uint8_t type) {
    return type >= 0x80 && type <= 0x84;
}

const char* to_string(IccStatus status) {
    switch (status) {
    case IccStatus::Active:
        return "active";
    case IccStatus::PresentInactive:
        return "present_inactive";
    case IccStatus::Absent:
        return "absent";
    }
    return "absent";
}

const char* to_string(CommandStatus status) {
    switch (status) {
    case CommandStatus::Ok:
        return "ok";
    case CommandStatus::Failed:
        return "failed";
    case CommandStatus::TimeExtension:
        return "time_extension";
    }
    return "failed";
}

std::uint8_t status_byte(IccStatus icc, CommandStatus command) {
    return static_cast<std::uint8_t>(static_cast<unsigned>(icc) | static_cast<unsigned>(command)
                                                                      << 6U);
}

IccStatus icc_status_of(std::uint8_t status) {
    switch (status & 0x03) {
    case 0:
        return IccStatus::Active;
    case 1:
        return IccStatus::PresentInactive;
    default:
        return IccStatus::Absent; // 3 is RFU: nothing usable in the slot
    }
}

CommandStatus command_status_of(std::uint8_t status) {
    switch (status >> 6) {
    case 0:
        return CommandStatus::Ok;
    case 2:
        return CommandStatus::TimeExtension;
    default:
        return CommandStatus::Failed;
    }
}

std::string error_text(std::uint8_t e) {
    switch (e) {
    case error::command_not_supported:
        return "command not supported";
    case error::cmd_slot_busy:
        return "CMD_SLOT_BUSY";
    case error::pin_cancelled:
        return "PIN_CANCELLED";
    case error::pin_timeout:
        return "PIN_TIMEOUT";
    case error::busy_with_auto_sequence:
        return "BUSY_WITH_AUTO_SEQUENCE";
    case error::deactivated_protocol:
        return "DEACTIVATED_PROTOCOL";
    case error::procedure_byte_conflict:
        return "PROCEDURE_BYTE_CONFLICT";
    case error::icc_class_not_supported:
        return "ICC_CLASS_NOT_SUPPORTED";
    case error::icc_protocol_not_supported:
        return "ICC_PROTOCOL_NOT_SUPPORTED";
    case error::bad_atr_tck:
        return "BAD_ATR_TCK";
    case error::bad_atr_ts:
        return "BAD_ATR_TS";
    case error::hw_error:
        return "HW_ERROR";
    case error::xfr_overrun:
        return "XFR_OVERRUN";
    case error::xfr_parity_error:
        return "XFR_PARITY_ERROR";
    case error::icc_mute:
        return "ICC_MUTE";
    case error::cmd_aborted:
        return "CMD_ABORTED";
    default:
        break;
    }
    if (e < 0x80)
        return fmt::format("bad parameter at offset {}", e);
    return fmt::format("vendor error 0x{:02X}", e);
}

Bytes ProtocolParameters::encode() const {
    if (protocol == 1)
        return {t1.findex_dindex, t1.tcckst1, t1.guard_time, t1.waiting_integers,
                t1.clock_stop,    t1.ifsc,    t1.nad};
    return {t0.findex_dindex, t0.tcckst0, t0.guard_time, t0.waiting_integer, t0.clock_stop};
}

std::optional<ProtocolParameters> decode_parameters(std::uint8_t protocol, ByteView d) {
    ProtocolParameters p;
    p.protocol = protocol;
    if (protocol == 0 && d.size() == 5) {
        p.t0 = T0Parameters{d[0], d[1], d[2], d[3], d[4]};
        return p;
    }
    if (protocol == 1 && d.size() == 7) {
        p.t1 = T1Parameters{d[0], d[1], d[2], d[3], d[4], d[5], d[6]};
        return p;
    }
    return std::nullopt;
}

ParsedCommand parse_command(ByteView m) {
    ParsedCommand out;
    if (m.size() < header_size) {
        add(out.findings, Severity::Error, "ccid_message_too_short",
            fmt::format("a CCID message needs a 10-byte header, got {} bytes", m.size()),
            fmt::format("CCID メッセージには 10 バイトのヘッダが必要ですが {} バイトでした",
                        m.size()));
        return out;
    }
    Header h;
    h.type = m[0];
    h.length = get32(m, 1);
    h.slot = m[5];
    h.seq = m[6];
    h.specific = {m[7], m[8], m[9]};
    out.header = h;
    const std::size_t present = m.size() - header_size;
    if (!is_command(h.type)) {
        out.error = error::command_not_supported;
        add(out.findings, Severity::Error, "ccid_unknown_command",
            fmt::format("bMessageType 0x{:02X} is not a PC_to_RDR command of CCID rev 1.1", h.type),
            fmt::format("bMessageType 0x{:02X} は CCID 1.1 の PC_to_RDR コマンドではありません",
                        h.type));
        return out;
    }
    if (h.length != present) {
        out.error = error::bad_length;
        add(out.findings, Severity::Error, "ccid_length_mismatch",
            fmt::format("dwLength says {} bytes of abData but {} follow the header", h.length,
                        present),
            fmt::format("dwLength は {} バイトですがヘッダの後に {} バイトあります", h.length,
                        present));
        return out;
    }
    Command c;
    c.type = static_cast<MessageType>(h.type);
    c.slot = h.slot;
    c.seq = h.seq;
    c.data.assign(m.begin() + header_size, m.end());
    c.specific = h.specific;
    const auto bad_length = [&](std::string what) {
        out.error = error::bad_length;
        add(out.findings, Severity::Error, "ccid_bad_data_length", what, {});
    };
    switch (c.type) {
    case MessageType::IccPowerOn:
        if (h.specific[0] > 3) {
            out.error = error::bad_power_select;
            add(out.findings, Severity::Error, "ccid_bad_power_select",
                fmt::format("bPowerSelect 0x{:02X} is not 0..3", h.specific[0]),
                fmt::format("bPowerSelect 0x{:02X} は 0..3 ではありません", h.specific[0]));
            return out;
        }
        c.power_select = static_cast<PowerSelect>(h.specific[0]);
        if (!c.data.empty()) {
            bad_length("IccPowerOn carries no abData");
            return out;
        }
        break;
    case MessageType::IccPowerOff:
    case MessageType::GetSlotStatus:
    case MessageType::GetParameters:
    case MessageType::ResetParameters:
    case MessageType::Abort:
        if (!c.data.empty()) {
            bad_length(fmt::format("{} carries no abData", to_string(c.type)));
            return out;
        }
        break;
    case MessageType::IccClock:
        c.function = h.specific[0];
        if (!c.data.empty()) {
            bad_length("IccClock carries no abData");
            return out;
        }
        break;
    case MessageType::Mechanical:
        c.function = h.specific[0];
        if (!c.data.empty()) {
            bad_length("Mechanical carries no abData");
            return out;
        }
        break;
    case MessageType::T0Apdu:
        c.function = h.specific[0];
        c.class_get_response = h.specific[1];
        c.class_envelope = h.specific[2];
        if (!c.data.empty()) {
            bad_length("T0APDU carries no abData");
            return out;
        }
        break;
    case MessageType::XfrBlock:
    case MessageType::Secure:
        c.bwi = h.specific[0];
        c.level_parameter = static_cast<std::uint16_t>(h.specific[1] | h.specific[2] << 8U);
        break;
    case MessageType::SetParameters: {
        c.protocol = h.specific[0];
        if (c.protocol > 1) {
            out.error = error::bad_protocol;
            add(out.findings, Severity::Error, "ccid_bad_protocol",
                fmt::format("bProtocolNum {} is neither T=0 nor T=1", c.protocol),
                fmt::format("bProtocolNum {} は T=0 でも T=1 でもありません", c.protocol));
            return out;
        }
        if (!decode_parameters(c.protocol, c.data)) {
            bad_length(fmt::format("the T={} protocol data structure has {} bytes, not {}",
                                   c.protocol, c.data.size(), c.protocol == 0 ? 5 : 7));
            return out;
        }
        break;
    }
    case MessageType::Escape:
        break;
    case MessageType::SetDataRateAndClockFrequency:
        if (c.data.size() != 8) {
            bad_length(
                fmt::format("SetDataRateAndClockFrequency needs 8 bytes, got {}", c.data.size()));
            return out;
        }
        c.clock_khz = get32(c.data, 0);
        c.data_rate_bps = get32(c.data, 4);
        break;
    default:
        break;
    }
    out.command = std::move(c);
    return out;
}

Bytes encode(const Command& c) {
    std::uint8_t b7 = c.specific[0], b8 = c.specific[1], b9 = c.specific[2];
    Bytes data = c.data;
    switch (c.type) {
    case MessageType::IccPowerOn:
        b7 = static_cast<std::uint8_t>(c.power_select);
        break;
    case MessageType::XfrBlock:
    case MessageType::Secure:
        b7 = c.bwi;
        b8 = static_cast<std::uint8_t>(c.level_parameter);
        b9 = static_cast<std::uint8_t>(c.level_parameter >> 8U);
        break;
    case MessageType::SetParameters:
        b7 = c.protocol;
        break;
    case MessageType::IccClock:
    case MessageType::Mechanical:
        b7 = c.function;
        break;
    case MessageType::T0Apdu:
        b7 = c.function;
        b8 = c.class_get_response;
        b9 = c.class_envelope;
        break;
    case MessageType::SetDataRateAndClockFrequency:
        data.clear();
        put32(data, c.clock_khz);
        put32(data, c.data_rate_bps);
        break;
    default:
        break;
    }
    return frame(static_cast<std::uint8_t>(c.type), c.slot, c.seq, b7, b8, b9, data);
}

Bytes encode(const Reply& r) {
    // DataBlock: bStatus bError bChainParameter; the others: bStatus bError byte 9.
    return frame(static_cast<std::uint8_t>(r.type), r.slot, r.seq, r.status, r.error, r.specific,
                 r.data);
}

ParsedReply parse_reply(ByteView m) {
    ParsedReply out;
    if (m.size() < header_size) {
        add(out.findings, Severity::Error, "ccid_message_too_short",
            fmt::format("a CCID reply needs a 10-byte header, got {} bytes", m.size()), {});
        return out;
    }
    if (!is_reply(m[0])) {
        add(out.findings, Severity::Error, "ccid_unknown_reply",
            fmt::format("bMessageType 0x{:02X} is not an RDR_to_PC bulk reply", m[0]), {});
        return out;
    }
    const std::uint32_t length = get32(m, 1);
    if (length != m.size() - header_size) {
        add(out.findings, Severity::Error, "ccid_length_mismatch",
            fmt::format("dwLength says {} bytes but {} follow the header", length,
                        m.size() - header_size),
            {});
        return out;
    }
    Reply r;
    r.type = static_cast<MessageType>(m[0]);
    r.slot = m[5];
    r.seq = m[6];
    r.status = m[7];
    r.error = m[8];
    r.specific = m[9];
    r.data.assign(m.begin() + header_size, m.end());
    if ((r.status & 0x3C) != 0)
        add(out.findings, Severity::Warning, "ccid_status_rfu",
            fmt::format("bStatus 0x{:02X} sets reserved bits 2..5", r.status), {});
    out.reply = std::move(r);
    return out;
}

Reply data_block(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                 std::uint8_t chain_parameter, Bytes data) {
    return Reply{MessageType::DataBlock, slot,           seq, status, error,
                 chain_parameter,        std::move(data)};
}

Reply slot_status(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                  std::uint8_t clock_status) {
    return Reply{MessageType::SlotStatus, slot, seq, status, error, clock_status, {}};
}

Reply parameters(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                 const ProtocolParameters& p) {
    return Reply{MessageType::Parameters, slot, seq, status, error, p.protocol, p.encode()};
}

Reply escape_reply(std::uint8_t slot, std::uint8_t seq, std::uint8_t status, std::uint8_t error,
                   Bytes data) {
    return Reply{MessageType::EscapeReply, slot, seq, status, error, 0, std::move(data)};
}

Reply data_rate_and_clock(std::uint8_t slot, std::uint8_t seq, std::uint8_t status,
                          std::uint8_t error, std::uint32_t clock_khz,
                          std::uint32_t data_rate_bps) {
    Bytes data;
    put32(data, clock_khz);
    put32(data, data_rate_bps);
    return Reply{
        MessageType::DataRateAndClockFrequency, slot, seq, status, error, 0, std::move(data)};
}

MessageType reply_type_for(MessageType command) {
    switch (command) {
    case MessageType::IccPowerOn:
    case MessageType::XfrBlock:
    case MessageType::Secure:
        return MessageType::DataBlock;
    case MessageType::GetParameters:
    case MessageType::ResetParameters:
    case MessageType::SetParameters:
        return MessageType::Parameters;
    case MessageType::Escape:
        return MessageType::EscapeReply;
    case MessageType::SetDataRateAndClockFrequency:
        return MessageType::DataRateAndClockFrequency;
    default:
        return MessageType::SlotStatus;
    }
}

Reply failure_reply(const Header& header, IccStatus icc, std::uint8_t error) {
    Reply r;
    r.type = is_command(header.type) ? reply_type_for(static_cast<MessageType>(header.type))
                                     : MessageType::SlotStatus;
    r.slot = header.slot;
    r.seq = header.seq;
    r.status = status_byte(icc, CommandStatus::Failed);
    r.error = error;
    if (r.type == MessageType::Parameters)
        r.specific = header.type == static_cast<std::uint8_t>(MessageType::SetParameters)
                         ? header.specific[0]
                         : 0;
    return r;
}

Bytes notify_slot_change(std::span<const SlotChange> slots) {
    Bytes out{static_cast<std::uint8_t>(MessageType::NotifySlotChange)};
    out.resize(1 + (slots.size() * 2 + 7) / 8, 0);
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const std::size_t bit = i * 2;
        auto& byte = out[1 + bit / 8];
        if (slots[i].present)
            byte = static_cast<std::uint8_t>(byte | 1U << (bit % 8));
        if (slots[i].changed)
            byte = static_cast<std::uint8_t>(byte | 2U << (bit % 8));
    }
    return out;
}

std::optional<std::vector<SlotChange>> parse_notify_slot_change(ByteView m, std::size_t slots) {
    if (m.empty() || m[0] != static_cast<std::uint8_t>(MessageType::NotifySlotChange) ||
        m.size() < 1 + (slots * 2 + 7) / 8)
        return std::nullopt;
    std::vector<SlotChange> out(slots);
    for (std::size_t i = 0; i < slots; ++i) {
        const std::size_t bit = i * 2;
        const std::uint8_t byte = m[1 + bit / 8];
        out[i].present = (byte >> (bit % 8) & 1U) != 0;
        out[i].changed = (byte >> (bit % 8) & 2U) != 0;
    }
    return out;
}

std::optional<Header> parse_header(ByteView m) {
    if (m.size() < header_size)
        return std::nullopt;
    return Header{m[0], get32(m, 1), m[5], m[6], {m[7], m[8], m[9]}};
}

std::string describe(const Header& h) {
    std::string out =
        fmt::format("{} slot {} seq {} len {}",
                    is_command(h.type) || is_reply(h.type) || h.type == 0x50 || h.type == 0x51
                        ? to_string(static_cast<MessageType>(h.type))
                        : "unknown",
                    h.slot, h.seq, h.length);
    switch (h.type) {
    case 0x6F:
    case 0x69:
        out += fmt::format(" bwi {} level 0x{:04X}", h.specific[0],
                           h.specific[1] | h.specific[2] << 8U);
        break;
    case 0x62:
        out += fmt::format(" power {}", h.specific[0]);
        break;
    case 0x61:
        out += fmt::format(" T={}", h.specific[0]);
        break;
    case 0x80:
        out += fmt::format(" status 0x{:02X} error 0x{:02X} chain 0x{:02X}", h.specific[0],
                           h.specific[1], h.specific[2]);
        break;
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
        out += fmt::format(" status 0x{:02X} error 0x{:02X}", h.specific[0], h.specific[1]);
        break;
    default:
        break;
    }
    return out;
}

} // namespace harness::ccid
