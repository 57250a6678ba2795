#pragma once
// Loads a conformance suite CSV (profiles/suites/<id>.csv, read with fast-cpp-csv-parser) and
// validates every cell at load time. All errors of a file are collected and reported together as
// "file:line:column: expected …" (columns count characters, 1-based, of the physical line).
#include "model/suite.hpp"
#include "pure/status_words.hpp"
#include "services/suite/actions.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::suite {

// The columns every suite file has (any order; extra columns are allowed and ignored).
inline constexpr std::string_view suite_columns[] = {
    "id",        "group",       "title_en", "title_ja", "action",    "args",
    "expect_sw", "expect_data", "requires", "on_fail",  "timeout_ms"};

// A step as the runner executes it: the row (model::SuiteStep) plus its parsed, typed parts.
struct StepPlan {
    Args args;
    sw::Pattern expect_sw;  // the cell, or the action's default; `any` when nothing to judge
    ExpectData expect_data; // empty = no data check
    // Declared `requires` plus implied_requirements(args); sorted, unique.
    std::vector<std::string> requirements;
};

struct LoadedSuite {
    model::Suite suite;         // steps in file order
    std::vector<StepPlan> plan; // plan[i] belongs to suite.steps[i]
};

struct LoadError {
    model::SourceLocation location;
    std::string message;           // "expected …"
    std::string to_string() const; // "file:line:column: expected …"
};

struct CheckResult {
    std::optional<LoadedSuite> suite; // set when there were no errors
    std::vector<LoadError> errors;    // in file order
};

// Never throws for bad content: every problem is an error in the result.
CheckResult check_suite_text(std::string_view text, const std::string& file_name,
                             const std::string& id);
CheckResult check_suite_file(const std::filesystem::path& file);

// Throws harness::ConfigError whose message lists every error, one per line.
LoadedSuite load_suite_file(const std::filesystem::path& file);
LoadedSuite load_suite_text(std::string_view text, const std::string& file_name,
                            const std::string& id);

// profiles/suites: $CARDHARNESS_PROFILES_DIR/suites, else the source tree's profiles/suites.
std::filesystem::path suites_dir();
// The shipped suite files (*.csv in suites_dir()), sorted by id.
std::vector<std::filesystem::path> shipped_suite_files();
// A shipped suite by id (file stem); throws UsageError naming the known ids when absent.
LoadedSuite load_shipped_suite(std::string_view id);

// Writes a suite back as CSV (header + rows, cells quoted where needed).
std::string to_csv(const model::Suite& suite);
// One CSV cell, quoted when it holds ',', '"', leading/trailing blanks or '#' at the start.
std::string csv_cell(std::string_view text);

} // namespace harness::suite
