#include "cli/app.hpp"

#include "cli/commands.hpp"
#include "pure/error.hpp"

#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <sstream>

namespace harness::cli {

CLI::Option* add_jobs_option(CLI::App& command, int& jobs, const std::string& description) {
    return command.add_option("--jobs", jobs, description)
        ->check(CLI::Range(1, max_jobs))
        ->type_name("N");
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

int run(int argc, char** argv) {
    CLI::App app{"cardharness: card-reader compatibility test harness (My Number / Juki cards, "
                 "PC/SC and USB CCID readers)",
                 "cardharness"};
    app.require_subcommand(1);
    app.set_version_flag("--version", CARDHARNESS_VERSION);
    app.footer("Exit codes: 0 ok, 1 failure or incompatibility, 2 usage or data-file error, "
               "3 environment (no pcscd, no readers, no root).");
    Context context;
    for (Register add :
         {&add_version_command, &add_atr_command, &add_describe_command, &add_identify_command,
          &add_readers_command, &add_lab_command, &add_emulate_command, &add_suite_command,
          &add_import_scriptor_command, &add_run_command, &add_report_command, &add_diff_command,
          &add_doctor_command, &add_pins_command, &add_push_command, &add_survey_command,
          &add_prune_command})
        add(app, context);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : exit_code::usage;
    } catch (const UsageError& e) {
        fmt::print(stderr, "cardharness: {}\n", e.what());
        return exit_code::usage;
    } catch (const EnvironmentError& e) {
        fmt::print(stderr, "cardharness: {}\n", e.what());
        return exit_code::environment;
    } catch (const std::exception& e) {
        fmt::print(stderr, "cardharness: error: {}\n", e.what());
        return exit_code::failure;
    }
    return context.exit_code;
}

} // namespace harness::cli
