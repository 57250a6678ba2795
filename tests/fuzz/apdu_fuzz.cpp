// Fuzzes command and response APDU parsing: never crashes, and whatever parses re-encodes to the
// same bytes (parse keeps the short / extended form).
#include "pure/apdu.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const harness::ByteView bytes(data, size);
    const auto parsed = harness::apdu::parse(bytes);
    if (parsed.command) {
        const auto encoded = harness::apdu::try_encode(*parsed.command);
        if (!encoded || *encoded != harness::Bytes(bytes.begin(), bytes.end()))
            std::abort();
        if (parsed.command->apdu_case() != parsed.apdu_case)
            std::abort();
    } else if (parsed.findings.empty() || parsed.apdu_case != harness::apdu::Case::Invalid) {
        std::abort();
    }
    const auto response = harness::apdu::parse_response(bytes);
    if (response.response &&
        response.response->encode() != harness::Bytes(bytes.begin(), bytes.end()))
        std::abort();
    if (!response.response && size >= 2)
        std::abort();
    return 0;
}
