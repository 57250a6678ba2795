#pragma once
// CCID messages as they may leave the lab: the evidence a vendor reads for a failing step (their
// firmware's side of it), with no card data. The 10-byte header (type, length, slot, bSeq,
// status, error, level/chain parameters) and the protocol framing stay in clear; APDU and T=1
// data become "<redacted len=N>" except an APDU's CLA INS P1 P2 and a response's SW1 SW2. Fails
// closed: a message it does not know how to read keeps only its header. Pure: no I/O.
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace harness::ccid {

enum class TraceDirection { Out, In, Interrupt, Control }; // bulk OUT/IN, interrupt IN, EP0

// Reads a trace in order: it remembers each bSeq's command (an IccPowerOn's DataBlock is an ATR)
// and the protocol SetParameters chose (T=1 block framing at TPDU level).
class TraceRedactor {
public:
    explicit TraceRedactor(ExchangeLevel level) : level_(level) {}
    // Spaced hex with redaction markers, e.g. "6F 0B 00 00 00 00 11 00 00 00 | 00 A4 02 0C
    // <redacted len=3>".
    std::string redact(TraceDirection direction, ByteView message);

private:
    ExchangeLevel level_;
    std::map<std::uint8_t, std::uint8_t> command_of_seq_;
    std::optional<int> protocol_; // 0 or 1 once SetParameters said so
};

} // namespace harness::ccid
