#pragma once
// `run`'s progress on stderr: a live line per reader on a terminal, plain lines otherwise, and
// prompts for the tester that stay on screen. Thread-safe (reader threads update it).
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace harness::cli {

class ProgressBoard {
public:
    explicit ProgressBoard(bool quiet);

    void add(const std::string& reader);
    // `plain_too`: also print the line when stderr is not a terminal.
    void update(const std::string& reader, const std::string& text, bool plain_too = true);
    // A message for the tester that stays on screen (prompts).
    void say(const std::string& text);
    // False with --quiet: no update is ever shown, so callers need not build one.
    bool shows_updates() const { return !quiet_; }

private:
    void redraw();

    std::mutex mutex_;
    bool tty_;
    bool quiet_;
    std::vector<std::pair<std::string, std::string>> lines_;
};

} // namespace harness::cli
