#include "pure/vpcd_wire.hpp"

#include "pure/error.hpp"

#include <fmt/core.h>

namespace harness::vpcd {

const char* to_string(MessageKind kind) {
    switch (kind) {
    case MessageKind::PowerOff:
        return "power_off";
    case MessageKind::PowerOn:
        return "power_on";
    case MessageKind::Reset:
        return "reset";
    case MessageKind::GetAtr:
        return "get_atr";
    case MessageKind::UnknownControl:
        return "unknown_control";
    case MessageKind::Apdu:
        return "apdu";
    case MessageKind::Empty:
        return "empty";
    }
    return "empty";
}

Message classify(ByteView payload) {
    Message message;
    message.payload.assign(payload.begin(), payload.end());
    if (payload.empty()) {
        message.kind = MessageKind::Empty;
    } else if (payload.size() == 1) {
        switch (payload[0]) {
        case 0:
            message.kind = MessageKind::PowerOff;
            break;
        case 1:
            message.kind = MessageKind::PowerOn;
            break;
        case 2:
            message.kind = MessageKind::Reset;
            break;
        case 4:
            message.kind = MessageKind::GetAtr;
            break;
        default:
            message.kind = MessageKind::UnknownControl;
            break;
        }
    } else {
        message.kind = MessageKind::Apdu;
    }
    return message;
}

bool expects_reply(MessageKind kind) {
    return kind == MessageKind::GetAtr || kind == MessageKind::Apdu;
}

Bytes encode_frame(ByteView payload) {
    if (payload.empty())
        throw Error("vpcd: refusing to send an empty payload (it would hang the vpcd slot)");
    if (payload.size() > max_payload)
        throw Error(fmt::format("vpcd: payload of {} bytes exceeds the 65535-byte frame limit",
                                payload.size()));
    Bytes frame;
    frame.reserve(header_size + payload.size());
    frame.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    frame.push_back(static_cast<std::uint8_t>(payload.size() & 0xFF));
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

void FrameDecoder::feed(ByteView bytes) {
    if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::optional<Bytes> FrameDecoder::next() {
    if (buffered() < header_size)
        return std::nullopt;
    const std::size_t length = (static_cast<std::size_t>(buffer_[start_]) << 8) |
                               static_cast<std::size_t>(buffer_[start_ + 1]);
    if (buffered() < header_size + length)
        return std::nullopt;
    const auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + header_size);
    Bytes payload(begin, begin + static_cast<std::ptrdiff_t>(length));
    start_ += header_size + length;
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    } else if (start_ > 4096 && start_ * 2 > buffer_.size()) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    return payload;
}

} // namespace harness::vpcd
