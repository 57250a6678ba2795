#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace harness::cli {

// Shared state handed to every command's registration function.
struct Context {
    int exit_code = 0; // a command's callback sets this (0 ok, 1 failure, 2 usage, 3 environment)
};

// Each command lives in its own cli/<name>.cpp and registers itself with one of these
// (declared in cli/commands.hpp, called from app.cpp).
using Register = void (*)(CLI::App& app, Context& context);

int run(int argc, char** argv);

// `--jobs N` for every command that runs work in parallel: CLI11 enforces 1..max_jobs (exit 2
// with its own message); 0 in `jobs` means "not given" (the command's default).
inline constexpr int max_jobs = 64;
CLI::Option* add_jobs_option(CLI::App& command, int& jobs, const std::string& description);

// A comma-separated option value ("mynumber,juki"): its items, empty ones dropped.
std::vector<std::string> split_list(const std::string& text);

} // namespace harness::cli
