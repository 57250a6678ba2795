// Fuzzes the vpcd wire protocol: a byte stream fed to FrameDecoder in arbitrary chunks yields the
// same payloads as fed at once, every payload re-frames to its own bytes, and classify() never
// fails.
#include "fuzz_check.hpp"
#include "pure/error.hpp"
#include "pure/vpcd_wire.hpp"

#include <vector>

namespace {

std::vector<harness::Bytes> drain(harness::vpcd::FrameDecoder& decoder) {
    std::vector<harness::Bytes> out;
    while (auto payload = decoder.next())
        out.push_back(std::move(*payload));
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace v = harness::vpcd;
    if (size < 1)
        return 0;
    const std::size_t chunk = std::size_t{data[0]} + 1;
    const harness::ByteView stream(data + 1, size - 1);

    v::FrameDecoder whole;
    whole.feed(stream);
    const auto expected = drain(whole);

    v::FrameDecoder pieces;
    std::vector<harness::Bytes> got;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
        pieces.feed(stream.subspan(at, std::min(chunk, stream.size() - at)));
        for (auto& p : drain(pieces))
            got.push_back(std::move(p));
    }
    FUZZ_CHECK(got == expected);
    FUZZ_CHECK(pieces.buffered() == whole.buffered());

    std::size_t consumed = 0;
    for (const auto& payload : expected) {
        const auto message = v::classify(payload);
        FUZZ_CHECK(message.payload == payload);
        consumed += v::header_size + payload.size();
        if (payload.empty()) {
            // An empty answer would hang the slot: encode_frame refuses it.
            bool refused = false;
            try {
                (void)v::encode_frame(payload);
            } catch (const harness::Error&) {
                refused = true;
            }
            FUZZ_CHECK(refused);
            continue;
        }
        const auto frame = v::encode_frame(payload);
        FUZZ_CHECK(frame.size() == payload.size() + v::header_size);
        FUZZ_CHECK(harness::Bytes(frame.begin() + 2, frame.end()) == payload);
    }
    FUZZ_CHECK(consumed + whole.buffered() == stream.size());
    return 0;
}
