// Fuzzes the BER-TLV reader: never crashes, every view stays inside the input, and a header's
// total_der_length agrees with what parse_one() reads.
#include "pure/tlv.hpp"

#include <cstdlib>

namespace {

void check(const std::vector<harness::tlv::Node>& nodes, harness::ByteView whole) {
    for (const auto& n : nodes) {
        for (harness::ByteView part : {n.value, n.encoded})
            if (!part.empty() && (part.data() < whole.data() ||
                                  part.data() + part.size() > whole.data() + whole.size()))
                std::abort();
        check(n.children, whole);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const harness::ByteView bytes(data, size);
    harness::tlv::Options padded;
    padded.allow_padding = true;
    check(harness::tlv::parse(bytes).nodes, bytes);
    check(harness::tlv::parse(bytes, padded).nodes, bytes);
    const auto one = harness::tlv::parse_one(bytes);
    check(one.nodes, bytes);
    if (const auto total = harness::tlv::total_der_length(bytes); total && *total <= size) {
        const auto exact = harness::tlv::parse_one(bytes.first(*total));
        if (exact.nodes.size() != 1 || exact.nodes[0].encoded.size() != *total ||
            exact.nodes[0].truncated)
            std::abort();
    }
    return 0;
}
