#include "cli/commands.hpp"

#include <fmt/core.h>

namespace harness::cli {

void add_version_command(CLI::App& app, Context&) {
    auto* cmd = app.add_subcommand("version", "Print the harness version");
    cmd->callback([] { fmt::print("cardharness {}\n", CARDHARNESS_VERSION); });
}

} // namespace harness::cli
