// Fuzzes the PIN file reader (`--pins FILE`): a PIN file is read or refused with
// "file:line:column: expected …", and no message ever repeats a byte of what the file holds —
// every message is one of the fixed texts below (digits aside), so no PIN can leak into a log.
#include "fuzz_check.hpp"
#include "pure/error.hpp"
#include "services/suite/pin_source.hpp"

#include <regex>
#include <set>
#include <string>

namespace {

// Each message line with its numbers replaced by '#'.
const std::set<std::string>& allowed() {
    static const std::set<std::string> texts = {
        "expected a header line pin,value",
        "expected text, found a NUL byte",
        "expected a closing '\"' in the header",
        "expected each column name once",
        "expected only the columns pin,value in the header",
        "expected a column \"pin\" in the header (columns: pin,value)",
        "expected a column \"value\" in the header (columns: pin,value)",
        "expected a column \"pin\" in the header (also missing: \"value\"; columns: pin,value)",
        "expected a closing '\"' for the quoted cell",
        "expected # cells as in the header, found # (quote cells that contain commas: \"a,b\")",
        "expected a PIN name: auth, sign, text or juki in column pin",
        "expected each PIN once (\"auth\" repeats) in column pin",
        "expected each PIN once (\"sign\" repeats) in column pin",
        "expected each PIN once (\"text\" repeats) in column pin",
        "expected each PIN once (\"juki\" repeats) in column pin",
        "expected a PIN value in column value",
        "expected a PIN value of at most # characters (this one has #) in column value",
    };
    return texts;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto pins = harness::suite::parse_pin_file(text, "pins.csv");
        for (const auto& value : pins.values())
            FUZZ_CHECK(!value.empty() && value.size() <= harness::suite::max_pin_value_length);
    } catch (const harness::ConfigError& e) {
        static const std::regex located("pins\\.csv:[0-9]+:[0-9]+: (.*)");
        static const std::regex digits("[0-9]+");
        const std::string what = e.what();
        std::size_t start = 0;
        while (start <= what.size()) {
            auto end = what.find('\n', start);
            if (end == std::string::npos)
                end = what.size();
            std::smatch m;
            const std::string line = what.substr(start, end - start);
            FUZZ_CHECK(std::regex_match(line, m, located));
            const std::string shape = std::regex_replace(m[1].str(), digits, "#");
            if (!allowed().count(shape))
                std::fprintf(stderr, "unexpected message: %s\n", line.c_str());
            FUZZ_CHECK(allowed().count(shape) == 1);
            start = end + 1;
        }
    }
    return 0;
}
