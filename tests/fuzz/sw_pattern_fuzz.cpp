// Fuzzes status-word pattern parsing: never crashes, errors carry a column inside the text (or
// just after it), and a parsed pattern's canonical text parses back to the same pattern.
#include "pure/status_words.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    harness::sw::PatternError error;
    const auto pattern = harness::sw::Pattern::parse(text, &error);
    if (!pattern) {
        if (error.column < 1 || error.column > size + 1 || error.message.empty())
            std::abort();
        return 0;
    }
    const auto again = harness::sw::Pattern::parse(pattern->to_string());
    if (!again || !(*again == *pattern))
        std::abort();
    if (size >= 2) {
        const auto word = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
        (void)harness::sw::describe(word);
        if (pattern->is_any() && !pattern->matches(word))
            std::abort();
    }
    return 0;
}
