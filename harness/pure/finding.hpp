#pragma once
// A finding: an oddity found while decoding device data (ATR, CCID descriptor, card answers).
// Parsers return values *and* findings instead of throwing: for this tool an oddity is a result.
#include <string>
#include <vector>

namespace harness {

enum class Severity { Info, Warning, Error };

struct Finding {
    Severity severity = Severity::Info;
    std::string code;       // stable machine key, snake_case, e.g. "tck_mismatch"
    std::string message;    // English, one line
    std::string message_ja; // Japanese, one line (may be empty where no translation exists yet)
};

using Findings = std::vector<Finding>;

const char* to_string(Severity severity);

} // namespace harness
