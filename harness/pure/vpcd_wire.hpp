#pragma once
// The vsmartcard vpcd wire protocol (vsmartcard vpcd.c; domain.md §11): every message is a
// 2-byte big-endian length followed by that many bytes. A 1-byte payload from vpcd is a control
// code (0 power off, 1 power on, 2 reset, 4 send ATR; only 4 expects a reply), a longer one is a
// command APDU answered with the response APDU. A 0-length answer hangs the slot: never send one.
#include "pure/bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace harness::vpcd {

inline constexpr std::size_t max_payload = 0xFFFF;
inline constexpr std::size_t header_size = 2;

enum class MessageKind { PowerOff, PowerOn, Reset, GetAtr, UnknownControl, Apdu, Empty };

const char* to_string(MessageKind kind);

struct Message {
    MessageKind kind = MessageKind::Empty;
    Bytes payload; // the command APDU, or the 1-byte control code
};

// What vpcd asked for; a payload of one byte is always a control code (vpcd never sends 1-byte
// APDUs).
Message classify(ByteView payload);

// Only GetAtr and Apdu are answered; power on/off and reset are not (vpcd does not wait).
bool expects_reply(MessageKind kind);

// Length-prefixed frame. Throws harness::Error for an empty payload (it would hang the slot) or
// one longer than 65535 bytes.
Bytes encode_frame(ByteView payload);

// Incremental decoder for a byte stream from the socket: feed what recv() returned, then take
// whole payloads with next() until it returns nullopt.
class FrameDecoder {
public:
    void feed(ByteView bytes);
    std::optional<Bytes> next();
    std::size_t buffered() const { return buffer_.size() - start_; }

private:
    Bytes buffer_;
    std::size_t start_ = 0;
};

} // namespace harness::vpcd
