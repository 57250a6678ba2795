#include "pure/ccid_trace.hpp"

#include "pure/ccid_message.hpp"

#include <fmt/core.h>

namespace harness::ccid {
namespace {

std::string marker(std::size_t n) {
    return fmt::format("<redacted len={}>", n);
}

// "kept bytes <redacted len=N> kept bytes" for a payload with `head` and `tail` bytes in clear.
std::string partial(ByteView payload, std::size_t head, std::size_t tail) {
    if (head + tail >= payload.size())
        return hex::format(payload);
    std::string out;
    if (head > 0)
        out += hex::format(payload.first(head)) + " ";
    out += marker(payload.size() - head - tail);
    if (tail > 0)
        out += " " + hex::format(payload.last(tail));
    return out;
}

bool is_s_block(std::uint8_t pcb) {
    return (pcb & 0xC0U) == 0xC0U;
}

} // namespace

std::string TraceRedactor::redact(TraceDirection direction, ByteView message) {
    if (direction == TraceDirection::Interrupt || direction == TraceDirection::Control ||
        message.size() < header_size)
        return hex::format(message); // NotifySlotChange bits, class request setup: no card data
    const ByteView header = message.first(header_size);
    const ByteView payload = message.subspan(header_size);
    const std::uint8_t type = header[0];
    const std::uint8_t seq = header[6];
    std::string body;
    const auto keep_all = [&] { body = hex::format(payload); };
    const auto keep_none = [&] {
        if (!payload.empty())
            body = marker(payload.size());
    };
    if (direction == TraceDirection::Out) {
        command_of_seq_[seq] = type;
        switch (static_cast<MessageType>(type)) {
        case MessageType::IccPowerOn:
        case MessageType::IccPowerOff:
        case MessageType::GetSlotStatus:
        case MessageType::GetParameters:
        case MessageType::ResetParameters:
        case MessageType::IccClock:
        case MessageType::Mechanical:
        case MessageType::Abort:
        case MessageType::SetDataRateAndClockFrequency:
            keep_all(); // no card data in these
            break;
        case MessageType::SetParameters:
            protocol_ = header[7] == 1 ? 1 : 0;
            keep_all(); // Fi/Di, guard time, IFSC: parameters, not data
            break;
        case MessageType::XfrBlock:
            if (level_ == ExchangeLevel::Tpdu && protocol_ == 1 && payload.size() >= 4) {
                const bool s_block = is_s_block(payload[1]);
                body = s_block ? hex::format(payload) : partial(payload, 3, 1); // NAD PCB LEN, EDC
            } else if ((level_ == ExchangeLevel::ShortApdu ||
                        level_ == ExchangeLevel::ExtendedApdu) &&
                       (header[8] | (header[9] << 8)) <= 1 && payload.size() >= 4) {
                body = partial(payload, 4, 0); // CLA INS P1 P2 of the command (never its data)
            } else {
                keep_none();
            }
            break;
        default:
            keep_none(); // Secure (PIN), Escape, T0APDU, unknown: fail closed
        }
    } else {
        const auto command = command_of_seq_.find(seq);
        const std::uint8_t asked = command == command_of_seq_.end() ? 0 : command->second;
        switch (static_cast<MessageType>(type)) {
        case MessageType::SlotStatus:
        case MessageType::DataRateAndClockFrequency:
            keep_all();
            break;
        case MessageType::Parameters:
            protocol_ = header[9] == 1 ? 1 : 0;
            keep_all();
            break;
        case MessageType::DataBlock:
            if (asked == static_cast<std::uint8_t>(MessageType::IccPowerOn)) {
                keep_all(); // the ATR: the card type, stored with every run anyway
            } else if (asked == static_cast<std::uint8_t>(MessageType::XfrBlock)) {
                if (level_ == ExchangeLevel::Tpdu && protocol_ == 1 && payload.size() >= 4) {
                    const bool s_block = is_s_block(payload[1]);
                    body = s_block ? hex::format(payload) : partial(payload, 3, 1);
                } else if (level_ == ExchangeLevel::Tpdu && payload.size() <= 2) {
                    keep_all(); // T=0 procedure bytes or SW1 SW2
                } else if ((level_ == ExchangeLevel::ShortApdu ||
                            level_ == ExchangeLevel::ExtendedApdu) &&
                           (header[9] == 0x00 || header[9] == 0x02) && payload.size() >= 2) {
                    body = partial(payload, 0, 2); // SW1 SW2 of the (last part of the) response
                } else {
                    keep_none();
                }
            } else {
                keep_none();
            }
            break;
        default:
            keep_none();
        }
    }
    std::string out = hex::format(header);
    if (!body.empty())
        out += " | " + body;
    return out;
}

} // namespace harness::ccid
