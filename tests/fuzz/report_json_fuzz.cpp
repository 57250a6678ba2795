// Fuzzes the report JSON reader that `diff` uses for exported baselines: any input is a report
// model or a UsageError naming the file (never another exception, never a crash), and a report
// compared with itself has no regression.
#include "fuzz_check.hpp"
#include "pure/error.hpp"
#include "services/report/diff.hpp"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    harness::report::ReportModel model;
    try {
        model = harness::report::parse_json(text, "baseline.json");
    } catch (const harness::UsageError& e) {
        FUZZ_CHECK(std::string_view(e.what()).rfind("baseline.json", 0) == 0);
        return 0;
    }
    const auto result = harness::report::diff(model, model, 20.0);
    FUZZ_CHECK(!result.has_regression());
    (void)harness::report::render_diff_json(result);
    (void)harness::report::render_diff_text(result);
    return 0;
}
