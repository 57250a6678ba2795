#pragma once
// One registration function per command file. Add yours here and to the list in app.cpp.
#include "cli/app.hpp"

namespace harness::cli {

void add_version_command(CLI::App& app, Context& context);
void add_atr_command(CLI::App& app, Context& context);
void add_describe_command(CLI::App& app, Context& context);
void add_identify_command(CLI::App& app, Context& context);
void add_readers_command(CLI::App& app, Context& context);
void add_lab_command(CLI::App& app, Context& context);
void add_emulate_command(CLI::App& app, Context& context);
void add_suite_command(CLI::App& app, Context& context);
void add_import_scriptor_command(CLI::App& app, Context& context);
void add_run_command(CLI::App& app, Context& context);
void add_report_command(CLI::App& app, Context& context);
void add_diff_command(CLI::App& app, Context& context);
void add_doctor_command(CLI::App& app, Context& context);
void add_pins_command(CLI::App& app, Context& context);
void add_push_command(CLI::App& app, Context& context);
void add_survey_command(CLI::App& app, Context& context);
void add_prune_command(CLI::App& app, Context& context);

} // namespace harness::cli
