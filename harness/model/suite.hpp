#pragma once
// A conformance suite as loaded from profiles/suites/<id>.csv: one step per row. The loader
// (services/suite) validates every cell and reports file:line:column; the runner executes steps.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace harness::model {

enum class OnFail { Stop, Continue, SkipGroup };

const char* to_string(OnFail on_fail);

// Where a value came from, for "file:line:column: expected …" messages at run time too.
struct SourceLocation {
    std::string file;
    std::size_t line = 0;
    std::size_t column = 0;
};

struct SuiteStep {
    std::string id;    // stable across suite versions: results join on it
    std::string group; // steps of a group can be skipped together (on_fail = skip_group)
    std::string title_en;
    std::string title_ja;
    std::string action;    // apdu, select_aid, select_ef, read_ef, pin_tries, verify_pin, sign, …
    std::string args;      // action-specific, with ${var} substitution
    std::string expect_sw; // pattern: 9000, 63Cx, 61xx, 6A82|6A86, any (empty = action default)
    std::string expect_data; // hex with .. wildcards, a length rule, or a named check
    std::vector<std::string>
        requirements; // column "requires", e.g. contactless, extended_apdu, test_card, pin:auth
    OnFail on_fail = OnFail::Continue;
    std::optional<int> timeout_ms;
    SourceLocation location; // the row's first cell
};

struct Suite {
    std::string id;           // file stem, e.g. "jpki-mynumber"
    std::string path;         // file it was loaded from
    std::string content_hash; // SHA-256 (hex) of the file bytes as loaded
    std::vector<SuiteStep> steps;
};

} // namespace harness::model
