// Fuzzes the suite CSV loader (io::csv + every cell check): it never throws for bad content,
// every error is "file:line:column: expected …" on a line of the input, and a suite that loads
// writes back (to_csv) to a suite that loads again with the same steps.
#include "fuzz_check.hpp"
#include "services/suite/loader.hpp"

#include <algorithm>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = harness::suite::check_suite_text(text, "fuzz.csv", "fuzz");
    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    FUZZ_CHECK(result.suite.has_value() == result.errors.empty());
    for (const auto& e : result.errors) {
        FUZZ_CHECK(e.location.file == "fuzz.csv");
        FUZZ_CHECK(e.location.line >= 1 && e.location.line <= lines + 1);
        FUZZ_CHECK(e.location.column >= 1 && e.location.column <= size + 1);
        FUZZ_CHECK(e.message.rfind("expected", 0) == 0);
        // The parser never disagrees with io::csv's own reading of the file's shape.
        FUZZ_CHECK(e.message.find("well-formed CSV row") == std::string::npos);
    }
    if (!result.suite)
        return 0;
    const auto& suite = result.suite->suite;
    FUZZ_CHECK(result.suite->plan.size() == suite.steps.size());
    const std::string written = harness::suite::to_csv(suite);
    const auto again = harness::suite::check_suite_text(written, "again.csv", "fuzz");
    FUZZ_CHECK(again.errors.empty());
    FUZZ_CHECK(again.suite->suite.steps.size() == suite.steps.size());
    for (std::size_t i = 0; i < suite.steps.size(); ++i) {
        const auto& a = suite.steps[i];
        const auto& b = again.suite->suite.steps[i];
        FUZZ_CHECK(a.id == b.id && a.action == b.action && a.args == b.args);
        FUZZ_CHECK(a.title_en == b.title_en && a.title_ja == b.title_ja);
        FUZZ_CHECK(a.expect_sw == b.expect_sw && a.expect_data == b.expect_data);
    }
    return 0;
}
