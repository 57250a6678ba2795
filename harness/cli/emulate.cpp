// cardharness emulate --card PROFILE --vpcd HOST:PORT: serves one emulated card (services/emu) to
// a vsmartcard vpcd slot until interrupted (SIGINT/SIGTERM = card removal). vpcd listens on the
// port (reader.conf "DEVICENAME /dev/null:PORT"); we connect, retrying until it is up.
#include "backends/vpcd/vpcd_client.hpp"
#include "cli/commands.hpp"
#include "pure/error.hpp"
#include "services/emu/card.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fmt/core.h>
#include <optional>

namespace harness::cli {
namespace {

vpcd::Client* g_emulating = nullptr;

extern "C" void stop_emulating(int) {
    if (g_emulating != nullptr)
        g_emulating->stop(); // one write() to a pipe: async-signal-safe
}

struct EmulateOptions {
    std::string profile;
    std::string address;
    bool list = false;
    bool once = false;
    bool no_delay = false;
    bool citizen = false;
    bool quiet = false;
    int connect_timeout_s = 0;
};

int emulate(const EmulateOptions& o) {
    emu::Options card_options;
    card_options.citizen = o.citizen;
    if (o.list) {
        for (const auto& name : emu::profile_names(card_options))
            fmt::print("{}\n", name);
        return exit_code::ok;
    }
    if (o.profile.empty())
        throw UsageError("emulate: --card PROFILE is required (see --list)");
    if (o.address.empty())
        throw UsageError("emulate: --vpcd HOST:PORT is required");
    const vpcd::Endpoint endpoint = vpcd::parse_endpoint(o.address);
    auto card = emu::make_card(o.profile, card_options);

    vpcd::ClientOptions options;
    options.reconnect = !o.once;
    options.honour_processing_time = !o.no_delay;
    if (o.connect_timeout_s > 0)
        options.connect_timeout = std::chrono::seconds(o.connect_timeout_s);
    if (!o.quiet)
        options.log = [](std::string_view line) {
            fmt::print(stderr, "cardharness emulate: {}\n", line);
            std::fflush(stderr);
        };
    vpcd::Client client(*card, endpoint, options);
    g_emulating = &client;
    auto previous_int = std::signal(SIGINT, stop_emulating);
    auto previous_term = std::signal(SIGTERM, stop_emulating);
    if (!o.quiet)
        fmt::print(stderr, "cardharness emulate: serving '{}' ({}) to vpcd at {}\n",
                   card->profile_name(), card->is_test_card() ? "test card" : "citizen-like card",
                   endpoint.to_string());
    std::optional<vpcd::ServeStats> stats;
    try {
        stats = client.serve();
    } catch (...) {
        g_emulating = nullptr;
        std::signal(SIGINT, previous_int);
        std::signal(SIGTERM, previous_term);
        throw;
    }
    g_emulating = nullptr;
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    if (!o.quiet)
        fmt::print(stderr, "cardharness emulate: served {} APDUs over {} connection(s){}\n",
                   stats->apdus, stats->connections,
                   stats->empty_card_answers
                       ? fmt::format("; {} empty card answers replaced by 6F 00",
                                     stats->empty_card_answers)
                       : std::string());
    return exit_code::ok;
}

} // namespace

void add_emulate_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<EmulateOptions>();
    auto* cmd = app.add_subcommand(
        "emulate", "Serve one emulated card to a vsmartcard vpcd slot until interrupted");
    cmd->add_option("--card", options->profile, "card profile (mynumber, juki, transport, ...)");
    cmd->add_option("--vpcd", options->address, "vpcd slot to connect to: HOST:PORT or PORT");
    cmd->add_flag("--list", options->list, "list the card profiles and exit");
    cmd->add_flag("--once", options->once,
                  "exit when vpcd closes the connection instead of reconnecting");
    cmd->add_flag("--no-delay", options->no_delay,
                  "answer at once instead of taking the card's processing time");
    cmd->add_flag("--citizen", options->citizen,
                  "present the card like a citizen's card (no TEST marker)");
    cmd->add_option("--connect-timeout", options->connect_timeout_s,
                    "give up (exit 3) when vpcd does not accept within this many seconds")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("-q,--quiet", options->quiet, "no progress lines on stderr");
    cmd->callback([options, &context] { context.exit_code = emulate(*options); });
}

} // namespace harness::cli
