// Fuzzes the CCID message parser (what an emulated reader's firmware reads from the USB host) and
// the T=1 block / T=0 procedure-byte parsers behind it: never crashes, every parsed command or
// reply re-encodes to the same bytes, and a message that does not parse still has a header to
// answer to (with a bError) unless it is shorter than 10 bytes.
#include "pure/ccid_message.hpp"
#include "pure/t1_block.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace harness;
    const ByteView bytes(data, size);
    const Bytes input(bytes.begin(), bytes.end());

    const auto parsed = ccid::parse_command(bytes);
    if (size < ccid::header_size) {
        if (parsed.header || parsed.command || parsed.findings.empty())
            std::abort();
    } else if (!parsed.header) {
        std::abort();
    } else if (parsed.command) {
        if (ccid::encode(*parsed.command) != input || !parsed.findings.empty())
            std::abort();
    } else {
        if (parsed.findings.empty())
            std::abort();
        // The firmware's answer to it is a well-formed reply with the same bSeq.
        const Bytes reply = ccid::encode(
            ccid::failure_reply(*parsed.header, ccid::IccStatus::Absent, parsed.error));
        const auto back = ccid::parse_reply(reply);
        if (!back.reply || back.reply->seq != parsed.header->seq)
            std::abort();
    }

    const auto reply = ccid::parse_reply(bytes);
    if (reply.reply && ccid::encode(*reply.reply) != input)
        std::abort();

    for (const auto edc : {t1::Edc::Lrc, t1::Edc::Crc}) {
        const auto block = t1::parse(bytes, edc);
        if (block.valid && block.edc_ok && t1::encode(*block.block, edc) != input)
            std::abort();
        if (block.valid && !block.block)
            std::abort();
    }

    if (size >= 5) {
        const ByteView tpdu = bytes.first(5);
        (void)t0::reader_collect(tpdu, bytes.subspan(5));
        if (size >= 7)
            (void)t0::card_emission(tpdu, bytes.subspan(5), size % 4);
    }
    if (size >= 1)
        (void)ccid::parse_notify_slot_change(bytes, data[0] % 16);
    return 0;
}
