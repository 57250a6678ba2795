#pragma once
// Converts a pcsc-tools `scriptor` script into a suite (pcsc-tools scriptor(1p)): hex APDUs
// (spaced or packed), `reset`, `#` comments, `\` line continuation, `exit`, and the response lines
// scriptor prints (`< 90 00 : Normal processing.`, also `> ` before commands) that saved sessions
// carry after a command. Steps are record-only (expect_sw any) unless a response line follows.
#include "model/suite.hpp"
#include "services/suite/loader.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace harness::suite {

struct ScriptorOptions {
    std::string id; // suite id and step id prefix; empty: from the file name
};

struct ScriptorImport {
    model::Suite suite;            // steps with action apdu / reset
    std::vector<LoadError> errors; // "file:line:column: expected …"; empty when the import worked
};

ScriptorImport import_scriptor_text(std::string_view text, const std::string& file_name,
                                    const ScriptorOptions& options = {});
// Throws ConfigError listing every error (one per line) when the script does not convert.
model::Suite import_scriptor_file(const std::filesystem::path& file,
                                  const ScriptorOptions& options = {});

// "My Script.scr" -> "my_script": a valid step-id prefix ([a-z0-9_-]).
std::string suite_id_from_name(std::string_view name);

} // namespace harness::suite
