#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace harness::cli {

// Shared state handed to every command's registration function.
struct Context {
    int exit_code = 0; // a command's callback sets this (0 ok, 1 failure, 2 usage, 3 environment)
};

// Each command lives in its own cli/<name>.cpp and registers itself with one of these
// (declared in cli/commands.hpp, called from app.cpp).
using Register = void (*)(CLI::App& app, Context& context);

int run(int argc, char** argv);

} // namespace harness::cli
