// Fuzzes the CCID class descriptor decoder and the configuration-descriptor walker: never a
// crash or exception, a decoded descriptor encodes to 54 bytes that decode to the same fields,
// and the protocol list names only T=0 and T=1 (other dwProtocols bits are a finding).
#include "fuzz_check.hpp"
#include "pure/ccid.hpp"

#include <algorithm>

namespace {

void check_descriptor(const harness::ccid::Descriptor& d) {
    const auto bytes = harness::ccid::encode(d);
    FUZZ_CHECK(bytes.size() == harness::ccid::descriptor_length);
    FUZZ_CHECK(harness::ccid::decode(bytes).descriptor == d);
    for (int t : d.protocol_numbers())
        FUZZ_CHECK(t == 0 || t == 1);
    const auto findings = harness::ccid::check(d);
    const bool reserved =
        std::any_of(findings.begin(), findings.end(),
                    [](const harness::Finding& f) { return f.code == "reserved_protocol_bits"; });
    FUZZ_CHECK(reserved == ((d.protocols & ~0x3U) != 0));
    (void)harness::ccid::predict(d);
    (void)harness::ccid::feature_names(d.features);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const harness::ByteView bytes(data, size);
    check_descriptor(harness::ccid::decode(bytes).descriptor);
    const auto located = harness::ccid::locate_in_configuration(bytes);
    for (const auto& l : located.interfaces)
        check_descriptor(l.descriptor);
    if (size >= 9) {
        harness::ccid::InterfaceInfo interface;
        const std::size_t half = size / 2;
        (void)harness::ccid::locate_in_extras(interface, bytes.first(half), bytes.subspan(half));
    }
    return 0;
}
