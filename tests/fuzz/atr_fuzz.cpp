// Fuzzes the ATR decoder (ISO 7816-3 / PC/SC part 3) and pcsc-tools' ATR list reader: any bytes
// decode to a value plus findings (never an exception), and a described list entry always matches
// the literal ATR it names.
#include "fuzz_check.hpp"
#include "pure/atr.hpp"
#include "pure/bytes.hpp"

#include <cctype>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const harness::ByteView bytes(data, size);
    const auto atr = harness::atr::decode(bytes);
    FUZZ_CHECK(atr.historical_bytes.size() <= size);
    for (const auto& f : atr.findings)
        FUZZ_CHECK(!f.code.empty() && !f.message.empty());
    // The same bytes read as a smartcard_list.txt fragment.
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto list = harness::atr::parse_list(text);
    for (const auto& entry : list.entries) {
        FUZZ_CHECK(entry.line >= 1);
        if (!entry.descriptions.empty() && harness::atr::is_literal_pattern(entry.pattern))
            if (const auto literal = harness::hex::parse(entry.pattern)) {
                // pcsc-tools compares patterns with "3B 8F 80 …" text: only that spelling of a
                // literal can match (case aside), as in its Perl regex.
                std::string upper = entry.pattern;
                for (auto& c : upper)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                if (upper == harness::hex::format(*literal))
                    FUZZ_CHECK(!harness::atr::lookup(list, *literal).empty());
            }
    }
    (void)harness::atr::lookup(list, bytes);
    return 0;
}
