#include "cli/progress_board.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace harness::cli {

ProgressBoard::ProgressBoard(bool quiet) : tty_(::isatty(STDERR_FILENO) == 1), quiet_(quiet) {}

void ProgressBoard::add(const std::string& reader) {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(reader, "waiting");
    if (tty_ && !quiet_)
        fmt::print(stderr, "\n");
    redraw();
}

void ProgressBoard::update(const std::string& reader, const std::string& text, bool plain_too) {
    std::lock_guard lock(mutex_);
    for (auto& [name, line] : lines_)
        if (name == reader)
            line = text;
    if (quiet_)
        return;
    if (tty_)
        redraw();
    else if (plain_too)
        fmt::print(stderr, "{}: {}\n", reader, text);
    std::fflush(stderr);
}

void ProgressBoard::say(const std::string& text) {
    std::lock_guard lock(mutex_);
    if (tty_)
        fmt::print(stderr, "\r\x1b[K{}\n", text);
    else
        fmt::print(stderr, "{}\n", text);
    if (tty_)
        for (std::size_t i = 0; i < lines_.size(); ++i)
            fmt::print(stderr, "\n");
    redraw();
    std::fflush(stderr);
}

void ProgressBoard::redraw() {
    if (!tty_ || quiet_ || lines_.empty())
        return;
    fmt::print(stderr, "\x1b[{}A", lines_.size());
    for (const auto& [name, line] : lines_) {
        std::string text = fmt::format("{}: {}", name, line);
        if (text.size() > 150)
            text = text.substr(0, 147) + "...";
        fmt::print(stderr, "\r\x1b[K{}\n", text);
    }
    std::fflush(stderr);
}

} // namespace harness::cli
