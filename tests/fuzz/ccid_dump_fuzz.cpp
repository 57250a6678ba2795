// Fuzzes the reader of the CCID driver's `parse` dumps (`describe --ccid-dump`): text is a dump
// or a ConfigError "file:line:column: expected …" (never another exception), and what we print
// for a parsed block (format_block) reads back to the same descriptor.
#include "fuzz_check.hpp"
#include "pure/ccid_dump.hpp"
#include "pure/error.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    harness::ccid::Dump dump;
    try {
        dump = harness::ccid::parse_dump(text, "dump.txt");
    } catch (const harness::ConfigError& e) {
        FUZZ_CHECK(std::string_view(e.what()).rfind("dump.txt:", 0) == 0);
        return 0;
    }
    for (const auto& block : dump.blocks) {
        if (!block.descriptor)
            continue;
        const std::string printed = harness::ccid::format_block(block);
        harness::ccid::Dump again;
        try {
            again = harness::ccid::parse_dump(printed, "printed.txt");
        } catch (const harness::ConfigError& e) {
            std::fprintf(stderr, "%s\n--- printed:\n%s\n", e.what(), printed.c_str());
            std::abort(); // format_block output must read back
        }
        FUZZ_CHECK(again.blocks.size() == 1);
        FUZZ_CHECK(again.blocks[0].descriptor.has_value());
        FUZZ_CHECK(*again.blocks[0].descriptor == *block.descriptor);
    }
    return 0;
}
