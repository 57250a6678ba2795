#include "pure/t1_block.hpp"

#include <fmt/core.h>

namespace harness::t1 {
namespace {

void add(Findings& out, Severity severity, std::string code, std::string en) {
    out.push_back(Finding{severity, std::move(code), std::move(en), {}});
}

constexpr std::size_t prologue = 3; // NAD PCB LEN

} // namespace

std::uint8_t lrc(ByteView bytes) {
    std::uint8_t v = 0;
    for (std::uint8_t b : bytes)
        v ^= b;
    return v;
}

std::uint16_t crc(ByteView bytes) {
    // Reflected CRC-16 x^16+x^12+x^5+1 (0x8408), preset 0xFFFF, sent high byte first: the
    // same bytes the CCID driver's checksum.c produces.
    std::uint16_t v = 0xFFFF;
    for (std::uint8_t b : bytes) {
        v ^= b;
        for (int i = 0; i < 8; ++i)
            v = (v & 1U) != 0 ? static_cast<std::uint16_t>((v >> 1U) ^ 0x8408U)
                              : static_cast<std::uint16_t>(v >> 1U);
    }
    return v;
}

std::size_t edc_size(Edc edc) {
    return edc == Edc::Crc ? 2 : 1;
}

const char* to_string(BlockType type) {
    switch (type) {
    case BlockType::I:
        return "I";
    case BlockType::R:
        return "R";
    case BlockType::S:
        return "S";
    }
    return "I";
}

const char* to_string(SFunction function) {
    switch (function) {
    case SFunction::Resynch:
        return "RESYNCH";
    case SFunction::Ifs:
        return "IFS";
    case SFunction::Abort:
        return "ABORT";
    case SFunction::Wtx:
        return "WTX";
    }
    return "?";
}

BlockType Block::type() const {
    if ((pcb & 0x80) == 0)
        return BlockType::I;
    return (pcb & 0x40) == 0 ? BlockType::R : BlockType::S;
}

RError Block::r_error() const {
    switch (pcb & 0x0F) {
    case 0:
        return RError::None;
    case 1:
        return RError::Edc;
    default:
        return RError::Other;
    }
}

Block i_block(bool send_seq, bool more, ByteView inf, std::uint8_t nad) {
    Block b;
    b.nad = nad;
    b.pcb = static_cast<std::uint8_t>((send_seq ? 0x40 : 0x00) | (more ? 0x20 : 0x00));
    b.inf.assign(inf.begin(), inf.end());
    return b;
}

Block r_block(bool receive_seq, RError error, std::uint8_t nad) {
    Block b;
    b.nad = nad;
    b.pcb = static_cast<std::uint8_t>(0x80 | (receive_seq ? 0x10 : 0x00) |
                                      static_cast<std::uint8_t>(error));
    return b;
}

Block s_block(SFunction function, bool response, ByteView inf, std::uint8_t nad) {
    Block b;
    b.nad = nad;
    b.pcb = static_cast<std::uint8_t>(0xC0 | (response ? 0x20 : 0x00) |
                                      static_cast<std::uint8_t>(function));
    b.inf.assign(inf.begin(), inf.end());
    return b;
}

Bytes encode(const Block& block, Edc edc) {
    const std::size_t len = std::min(block.inf.size(), max_inf);
    Bytes out;
    out.reserve(prologue + len + 2);
    out.push_back(block.nad);
    out.push_back(block.pcb);
    out.push_back(static_cast<std::uint8_t>(len));
    out.insert(out.end(), block.inf.begin(), block.inf.begin() + static_cast<std::ptrdiff_t>(len));
    if (edc == Edc::Lrc) {
        out.push_back(lrc(out));
    } else {
        const std::uint16_t v = crc(out);
        out.push_back(static_cast<std::uint8_t>(v >> 8U));
        out.push_back(static_cast<std::uint8_t>(v));
    }
    return out;
}

ParsedBlock parse(ByteView bytes, Edc edc) {
    ParsedBlock out;
    const std::size_t epilogue = edc_size(edc);
    if (bytes.size() < prologue + epilogue) {
        add(out.findings, Severity::Error, "t1_block_too_short",
            fmt::format("a T=1 block needs at least {} bytes, got {}", prologue + epilogue,
                        bytes.size()));
        return out;
    }
    const std::size_t len = bytes[2];
    if (bytes.size() != prologue + len + epilogue) {
        add(out.findings, Severity::Error, "t1_length_mismatch",
            fmt::format("LEN says {} bytes of INF but the block has {} bytes", len,
                        bytes.size() - prologue - epilogue));
        return out;
    }
    Block b;
    b.nad = bytes[0];
    b.pcb = bytes[1];
    b.inf.assign(bytes.begin() + prologue,
                 bytes.begin() + static_cast<std::ptrdiff_t>(prologue + len));
    const ByteView covered = bytes.first(prologue + len);
    if (edc == Edc::Lrc) {
        out.edc_ok = lrc(covered) == bytes[prologue + len];
    } else {
        const std::uint16_t v = crc(covered);
        out.edc_ok = bytes[prologue + len] == static_cast<std::uint8_t>(v >> 8U) &&
                     bytes[prologue + len + 1] == static_cast<std::uint8_t>(v);
    }
    if (!out.edc_ok)
        add(out.findings, Severity::Error, "t1_edc_mismatch",
            fmt::format("the {} does not match the block", edc == Edc::Lrc ? "LRC" : "CRC"));
    out.valid = true;
    if (len > max_inf) {
        out.valid = false;
        add(out.findings, Severity::Error, "t1_len_ff",
            "LEN 0xFF is reserved (ISO 7816-3 §11.3.2.3)");
    }
    switch (b.type()) {
    case BlockType::I:
        break;
    case BlockType::R:
        if (!b.inf.empty() || (b.pcb & 0x20) != 0 || (b.pcb & 0x0C) != 0) {
            out.valid = false;
            add(out.findings, Severity::Error, "t1_r_block_invalid",
                fmt::format("R-block PCB 0x{:02X} with {} INF bytes is not ISO 7816-3 coding",
                            b.pcb, b.inf.size()));
        }
        break;
    case BlockType::S: {
        const std::uint8_t function = b.pcb & 0x1F;
        const bool one_byte = function == static_cast<std::uint8_t>(SFunction::Ifs) ||
                              function == static_cast<std::uint8_t>(SFunction::Wtx);
        if (function > 3) {
            out.valid = false;
            add(out.findings, Severity::Error, "t1_s_block_unknown",
                fmt::format("S-block function 0x{:02X} is not RESYNCH, IFS, ABORT or WTX",
                            function));
        } else if (b.inf.size() != (one_byte ? 1U : 0U)) {
            out.valid = false;
            add(out.findings, Severity::Error, "t1_s_block_length",
                fmt::format("S({}) carries {} INF bytes, expected {}",
                            to_string(SFunction(function)), b.inf.size(), one_byte ? 1 : 0));
        } else if (function == static_cast<std::uint8_t>(SFunction::Ifs) &&
                   (b.inf[0] == 0 || b.inf[0] == 0xFF)) {
            out.valid = false;
            add(out.findings, Severity::Error, "t1_ifs_invalid",
                fmt::format("S(IFS) value {} is outside 1..254", b.inf[0]));
        }
        break;
    }
    }
    out.block = std::move(b);
    return out;
}

std::string describe(const Block& b) {
    switch (b.type()) {
    case BlockType::I:
        return fmt::format("I({},{}) {}", b.send_seq() ? 1 : 0, b.more() ? "M" : "-", b.inf.size());
    case BlockType::R:
        return fmt::format("R({}{})", b.receive_seq() ? 1 : 0,
                           b.r_error() == RError::None  ? ""
                           : b.r_error() == RError::Edc ? ",EDC"
                                                        : ",other");
    case BlockType::S:
        return fmt::format("S({} {}{})", to_string(b.s_function()), b.s_response() ? "resp" : "req",
                           b.inf.empty() ? std::string{} : fmt::format(" 0x{:02X}", b.inf[0]));
    }
    return "?";
}

Parameters parameters_from_atr(ByteView atr) {
    Parameters p;
    if (atr.size() < 2)
        return p;
    std::size_t pos = 2;
    std::uint8_t y = atr[1] >> 4;
    int level = 1;
    int protocol = -1; // T of the TD that introduced this level
    bool ta_done = false, tb_done = false, tc_done = false;
    while (true) {
        const bool t1_group = level >= 3 && protocol == 1;
        if (y & 0x1) {
            if (pos >= atr.size())
                break;
            if (t1_group && !ta_done && atr[pos] != 0 && atr[pos] != 0xFF) {
                p.ifsc = atr[pos];
                ta_done = true;
            }
            ++pos;
        }
        if (y & 0x2) {
            if (pos >= atr.size())
                break;
            if (t1_group && !tb_done) {
                p.bwi = atr[pos] >> 4;
                p.cwi = atr[pos] & 0x0F;
                tb_done = true;
            }
            ++pos;
        }
        if (y & 0x4) {
            if (pos >= atr.size())
                break;
            if (t1_group && !tc_done) {
                p.edc = (atr[pos] & 0x01) != 0 ? Edc::Crc : Edc::Lrc;
                tc_done = true;
            }
            ++pos;
        }
        if (!(y & 0x8) || pos >= atr.size())
            break;
        const std::uint8_t td = atr[pos++];
        protocol = td & 0x0F;
        y = td >> 4;
        ++level;
    }
    return p;
}

} // namespace harness::t1

namespace harness::t0 {

Procedure classify(std::uint8_t byte, std::uint8_t ins) {
    if (byte == 0x60)
        return Procedure::Null;
    if (byte == ins)
        return Procedure::AckAll;
    if (byte == static_cast<std::uint8_t>(ins ^ 0xFF))
        return Procedure::AckOne;
    if ((byte & 0xF0) == 0x60 || (byte & 0xF0) == 0x90)
        return Procedure::Sw1;
    return Procedure::Invalid;
}

TpduCase tpdu_case(ByteView tpdu) {
    if (tpdu.size() == 5)
        return TpduCase::HeaderOnly;
    if (tpdu.size() > 5 && tpdu[4] != 0 && tpdu.size() == 5U + tpdu[4])
        return TpduCase::Outgoing;
    return TpduCase::Invalid;
}

CardEmission card_emission(ByteView tpdu, ByteView answer, std::size_t null_bytes) {
    CardEmission out;
    if (tpdu.size() < 5 || answer.size() < 2)
        return out;
    const std::uint8_t ins = tpdu[1];
    out.bytes.assign(null_bytes, 0x60);
    const ByteView data = answer.first(answer.size() - 2);
    const std::uint8_t sw1 = answer[answer.size() - 2];
    const std::uint8_t sw2 = answer[answer.size() - 1];
    const auto status = [&](std::uint8_t a, std::uint8_t b) {
        out.bytes.push_back(a);
        out.bytes.push_back(b);
    };
    if (tpdu_case(tpdu) == TpduCase::Outgoing) {
        out.bytes.push_back(ins); // ACK: the reader sends the P3 data bytes
        if (!data.empty()) {
            // Case 4 over T=0: the data waits for GET RESPONSE (ISO 7816-3 §12.2.4).
            out.pending_data.assign(data.begin(), data.end());
            status(0x61, static_cast<std::uint8_t>(data.size() >= 256 ? 0 : data.size()));
        } else {
            status(sw1, sw2);
        }
        return out;
    }
    const std::size_t ne = tpdu[4] == 0 ? 256 : tpdu[4];
    if (data.empty()) {
        status(sw1, sw2);
    } else if (data.size() == ne) {
        out.bytes.push_back(ins);
        out.bytes.insert(out.bytes.end(), data.begin(), data.end());
        status(sw1, sw2);
    } else if (data.size() < ne || data.size() <= 256) {
        status(0x6C, static_cast<std::uint8_t>(data.size() == 256 ? 0 : data.size()));
    } else {
        // More than a short Le can name: the first Ne bytes, the rest for GET RESPONSE.
        out.bytes.push_back(ins);
        out.bytes.insert(out.bytes.end(), data.begin(),
                         data.begin() + static_cast<std::ptrdiff_t>(ne));
        out.pending_data.assign(data.begin() + static_cast<std::ptrdiff_t>(ne), data.end());
        const std::size_t rest = out.pending_data.size();
        status(0x61, static_cast<std::uint8_t>(rest >= 256 ? 0 : rest));
    }
    return out;
}

ReaderResult reader_collect(ByteView tpdu, ByteView emission) {
    ReaderResult out;
    if (tpdu.size() < 5) {
        out.findings.push_back(
            Finding{Severity::Error, "t0_tpdu_too_short", "a T=0 TPDU has a 5-byte header", {}});
        return out;
    }
    const std::uint8_t ins = tpdu[1];
    const bool outgoing = tpdu_case(tpdu) == TpduCase::Outgoing;
    std::size_t to_transfer = outgoing ? tpdu[4] : (tpdu[4] == 0 ? 256 : tpdu[4]);
    Bytes data;
    std::size_t pos = 0;
    const auto conflict = [&](std::string why) {
        out.response.reset();
        out.findings.push_back(
            Finding{Severity::Error, "t0_procedure_byte_conflict", std::move(why), {}});
    };
    while (pos < emission.size()) {
        const std::uint8_t byte = emission[pos++];
        switch (classify(byte, ins)) {
        case Procedure::Null:
            ++out.null_bytes;
            continue;
        case Procedure::Sw1:
            if (pos >= emission.size()) {
                conflict("SW1 without SW2");
                return out;
            }
            data.push_back(byte);
            data.push_back(emission[pos]);
            out.response = std::move(data);
            return out;
        case Procedure::AckAll:
        case Procedure::AckOne: {
            const std::size_t n = classify(byte, ins) == Procedure::AckAll ? to_transfer
                                  : to_transfer > 0                        ? 1
                                                                           : 0;
            if (to_transfer == 0) {
                conflict("ACK with no data left to transfer");
                return out;
            }
            if (!outgoing) {
                if (pos + n > emission.size()) {
                    conflict("the card sent fewer data bytes than it acknowledged");
                    return out;
                }
                data.insert(data.end(), emission.begin() + static_cast<std::ptrdiff_t>(pos),
                            emission.begin() + static_cast<std::ptrdiff_t>(pos + n));
                pos += n;
            }
            to_transfer -= n;
            continue;
        }
        case Procedure::Invalid:
            conflict(fmt::format("procedure byte 0x{:02X} after INS 0x{:02X}", byte, ins));
            return out;
        }
    }
    conflict("the card stopped before SW1 SW2");
    return out;
}

} // namespace harness::t0
