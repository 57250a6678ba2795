#include "cli/commands.hpp"
#include "pure/error.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/scriptor_import.hpp"

#include <cstdio>
#include <fmt/core.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

namespace harness::cli {
namespace {

using Json = nlohmann::ordered_json;

std::size_t group_count(const model::Suite& suite) {
    std::set<std::string> groups;
    for (const auto& step : suite.steps)
        groups.insert(step.group);
    return groups.size();
}

int run_check(const std::vector<std::string>& files) {
    int code = exit_code::ok;
    for (const auto& file : files) {
        const auto result = suite::check_suite_file(file);
        if (!result.errors.empty()) {
            for (const auto& e : result.errors)
                fmt::print(stderr, "{}\n", e.to_string());
            fmt::print(stderr, "{}: {} error{}\n", file, result.errors.size(),
                       result.errors.size() == 1 ? "" : "s");
            code = exit_code::usage;
            continue;
        }
        const auto& s = result.suite->suite;
        fmt::print("{}: ok, suite {}, {} steps in {} groups, sha256 {}\n", file, s.id,
                   s.steps.size(), group_count(s), s.content_hash);
    }
    return code;
}

int run_list(bool json) {
    const auto files = suite::shipped_suite_files();
    if (files.empty())
        throw EnvironmentError("no suites found in " + suite::suites_dir().string());
    Json list = Json::array();
    for (const auto& file : files) {
        const auto loaded = suite::load_suite_file(file); // shipped suites must load
        const auto& s = loaded.suite;
        if (json) {
            list.push_back({{"id", s.id},
                            {"steps", s.steps.size()},
                            {"groups", group_count(s)},
                            {"content_hash", s.content_hash},
                            {"path", file.string()}});
        } else {
            fmt::print("{:<16} {:>4} steps  {:>3} groups  {}\n", s.id, s.steps.size(),
                       group_count(s), s.content_hash);
        }
    }
    if (json)
        fmt::print("{}\n", list.dump(2));
    return exit_code::ok;
}

struct ImportOptions {
    std::string file;
    std::string out;
    std::string id;
};

int run_import(const ImportOptions& o) {
    suite::ScriptorOptions options;
    options.id = o.id;
    const auto suite = suite::import_scriptor_file(o.file, options);
    std::string csv = fmt::format("# Imported from {} by cardharness import-scriptor: record-only "
                                  "steps (expect_sw any) unless the script carried responses.\n",
                                  o.file);
    csv += suite::to_csv(suite);
    // The converted suite must itself pass `suite check`.
    const auto check = suite::check_suite_text(csv, o.out.empty() ? "<stdout>" : o.out, suite.id);
    if (!check.errors.empty()) {
        std::string message = "the converted suite does not validate:";
        for (const auto& e : check.errors)
            message += "\n" + e.to_string();
        throw Error(message);
    }
    if (o.out.empty()) {
        fmt::print("{}", csv);
        return exit_code::ok;
    }
    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    if (!out)
        throw UsageError("cannot write " + o.out);
    out << csv;
    if (!out.flush())
        throw UsageError("cannot write " + o.out);
    fmt::print(stderr, "{}: {} steps written to {}\n", o.file, suite.steps.size(), o.out);
    return exit_code::ok;
}

} // namespace

void add_suite_command(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("suite", "Conformance suites: validate suite files, list the "
                                            "shipped suites (profiles/suites/)");
    cmd->require_subcommand(1);

    auto files = std::make_shared<std::vector<std::string>>();
    auto* check = cmd->add_subcommand(
        "check", "Validate suite CSV files; errors as file:line:column: expected … (exit 2)");
    check->add_option("FILE", *files, "suite CSV files")->required();
    check->callback([files, &context] { context.exit_code = run_check(*files); });

    auto json = std::make_shared<bool>(false);
    auto* list = cmd->add_subcommand("list", "The shipped suites with step counts and hashes");
    list->add_flag("--json", *json, "JSON output");
    list->callback([json, &context] { context.exit_code = run_list(*json); });
}

void add_import_scriptor_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<ImportOptions>();
    auto* cmd = app.add_subcommand(
        "import-scriptor", "Convert a pcsc-tools scriptor script into a suite CSV (record-only "
                           "steps unless the script carries '< … 90 00' response lines)");
    cmd->add_option("FILE", options->file, "scriptor script")->required();
    cmd->add_option("--out", options->out, "write the suite here instead of stdout");
    cmd->add_option("--id", options->id, "suite id and step-id prefix (default: the file name)");
    cmd->callback([options, &context] { context.exit_code = run_import(*options); });
}

} // namespace harness::cli
