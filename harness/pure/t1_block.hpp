#pragma once
// ISO 7816-3 §11 T=1 blocks (prologue NAD PCB LEN, INF, epilogue LRC or CRC) and §10 T=0
// procedure bytes. Pure: no I/O; parse never throws (a bad block is a finding and a flag).
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace harness::t1 {

inline constexpr std::size_t max_inf = 254;     // ISO 7816-3 §11.3.2.3: LEN 0..254
inline constexpr std::size_t default_ifs = 32;  // IFSC/IFSD before any S(IFS) (§11.4.2)
inline constexpr std::uint8_t default_bwi = 4;  // TB3 absent (§11.4.3)
inline constexpr std::uint8_t default_cwi = 13; // TB3 absent (§11.4.3)

enum class Edc { Lrc, Crc }; // §11.4.4: TC3 bit 1 chooses CRC
std::uint8_t lrc(ByteView bytes);
std::uint16_t crc(ByteView bytes); // ISO/IEC 13239 CRC-16 (x^16+x^12+x^5+1), as 7816-3 uses
std::size_t edc_size(Edc edc);

enum class BlockType { I, R, S };
const char* to_string(BlockType type); // "I", "R", "S"
// S-block functions (§11.3.2.2, PCB 11xx xxxx: bit 6 response, bits 1..5 function).
enum class SFunction : std::uint8_t { Resynch = 0, Ifs = 1, Abort = 2, Wtx = 3 };
const char* to_string(SFunction function); // "RESYNCH", "IFS", "ABORT", "WTX"
// R-block errors (PCB 100N 00ee).
enum class RError : std::uint8_t { None = 0, Edc = 1, Other = 2 };

struct Block {
    std::uint8_t nad = 0;
    std::uint8_t pcb = 0;
    Bytes inf;

    BlockType type() const;
    // I-block: N(S) and the chaining (M) bit.
    bool send_seq() const { return (pcb & 0x40) != 0; }
    bool more() const { return (pcb & 0x20) != 0; }
    // R-block: N(R) and the error code.
    bool receive_seq() const { return (pcb & 0x10) != 0; }
    RError r_error() const;
    // S-block: request or response, and the function.
    bool s_response() const { return (pcb & 0x20) != 0; }
    SFunction s_function() const { return SFunction(pcb & 0x1F); }
    bool operator==(const Block&) const = default;
};

Block i_block(bool send_seq, bool more, ByteView inf, std::uint8_t nad = 0);
Block r_block(bool receive_seq, RError error = RError::None, std::uint8_t nad = 0);
// S(IFS)/S(WTX) carry one byte (IFS value / multiplier); RESYNCH and ABORT none.
Block s_block(SFunction function, bool response, ByteView inf = {}, std::uint8_t nad = 0);

// Prologue + INF + EDC. LEN is inf.size() (callers keep it <= 254; longer INF is cut there).
Bytes encode(const Block& block, Edc edc);

struct ParsedBlock {
    std::optional<Block> block; // nullopt when even the prologue is missing or LEN disagrees
    bool edc_ok = false;        // the epilogue matched (false also when the block is nullopt)
    bool valid = false;         // structure valid: known PCB, LEN <= 254, S-block INF as §11.3.2
    Findings findings;
};
// A received block: checks LEN against the bytes, the EDC, the PCB coding and S-block INF sizes.
ParsedBlock parse(ByteView bytes, Edc edc);

// A short human line for traces: "I(0,M) 254", "R(1,EDC)", "S(WTX req 0x05)".
std::string describe(const Block& block);

// ATR-derived T=1 parameters (§11.4): IFSC from TA3, BWI/CWI from TB3, EDC from TC3.
struct Parameters {
    std::size_t ifsc = default_ifs;
    std::uint8_t bwi = default_bwi;
    std::uint8_t cwi = default_cwi;
    Edc edc = Edc::Lrc;
};
Parameters parameters_from_atr(ByteView atr);

} // namespace harness::t1

namespace harness::t0 {

// A T=0 procedure byte (ISO 7816-3 §10.3.3) as the reader reads it after a command header.
enum class Procedure {
    Null,    // 0x60: keep waiting (the card's waiting-time extension)
    AckAll,  // INS: transfer all remaining data bytes
    AckOne,  // INS ^ 0xFF: transfer the next data byte only
    Sw1,     // 0x6X (not 60) or 0x9X: the first status byte
    Invalid, // anything else: procedure byte conflict
};
Procedure classify(std::uint8_t byte, std::uint8_t ins);

// The TPDU shapes of T=0 (§10.3.2): a 5-byte header alone (case 1 or 2: the reader receives up
// to P3 bytes, P3 = 0 meaning 256, and the card decides), or the header and P3 data bytes
// (case 3). Anything else is not a T=0 TPDU.
enum class TpduCase { HeaderOnly, Outgoing, Invalid };
TpduCase tpdu_case(ByteView tpdu);

// What a T=0 card emits for one TPDU given the answer of the command (data + SW1 SW2): the
// procedure bytes, `null_bytes` NULLs first (a slow card), then ACK + data for case 2, ACK for
// case 3 (before the reader sends data), then SW1 SW2. A case-2 answer whose length differs from
// P3 (0 = 256) is `6C La` (§10.3.3); a case-3 answer with data is `61 La` and the data waits for
// GET RESPONSE (the caller keeps it).
struct CardEmission {
    Bytes bytes;        // procedure bytes, data and status as they cross the I/O line
    Bytes pending_data; // response data kept for GET RESPONSE (empty if none)
};
CardEmission card_emission(ByteView tpdu, ByteView answer, std::size_t null_bytes = 0);

// The reader side: follows the procedure bytes of `emission` for `tpdu` and returns what a TPDU
// reader hands the host (data + SW1 SW2), or nullopt on a procedure byte conflict.
struct ReaderResult {
    std::optional<Bytes> response;
    std::size_t null_bytes = 0; // NULL procedure bytes seen (each restarts the waiting time)
    Findings findings;
};
ReaderResult reader_collect(ByteView tpdu, ByteView emission);

} // namespace harness::t0
