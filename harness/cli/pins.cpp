// cardharness pins: the station's memory of PINs that failed on a card (io/station.hpp). A failed
// PIN is not sent to that card again, in any run or database, until the user forgets the card.
#include "cli/commands.hpp"
#include "io/paths.hpp"
#include "io/station.hpp"
#include "pure/error.hpp"

#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace harness::cli {
namespace {

struct PinsOptions {
    std::string card;
    bool json = false;
};

void list(const PinsOptions& options) {
    io::FilePinFailureMemory memory(io::paths::state_dir());
    const auto records = memory.list();
    if (options.json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& r : records)
            out.push_back(
                {{"card_id", r.card_id}, {"pin", r.pin}, {"when", r.when}, {"what", r.what}});
        fmt::print("{}\n", out.dump(2));
        return;
    }
    if (records.empty()) {
        fmt::print("no failed PINs remembered ({})\n", memory.file().string());
        return;
    }
    fmt::print("{:<30} {:<5} {:<21} {}\n", "card", "pin", "when", "what");
    for (const auto& r : records)
        fmt::print("{:<30} {:<5} {:<21} {}\n", r.card_id, r.pin, r.when, r.what);
    fmt::print("\nThese PINs are not sent to these cards again until `cardharness pins forget "
               "--card ID`.\n");
}

void forget(const PinsOptions& options) {
    io::FilePinFailureMemory memory(io::paths::state_dir());
    const std::size_t removed = memory.forget(options.card);
    if (removed == 0) {
        fmt::print("no failed PIN was remembered for card {}\n", options.card);
        return;
    }
    fmt::print("forgot {} failed PIN{} of card {}: the next run may send {} again (check the PIN "
               "file first: each wrong PIN costs the card a try)\n",
               removed, removed == 1 ? "" : "s", options.card, removed == 1 ? "it" : "them");
}

} // namespace

void add_pins_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<PinsOptions>();
    auto* cmd = app.add_subcommand(
        "pins", "The station's memory of PINs that failed on a card (never the PIN values): a "
                "failed PIN is not sent to that card again until it is forgotten");
    cmd->require_subcommand(1);
    auto* list_cmd = cmd->add_subcommand("list", "Cards with remembered failed PINs");
    list_cmd->add_flag("--json", options->json, "JSON output");
    list_cmd->callback([options, &context] {
        list(*options);
        context.exit_code = exit_code::ok;
    });
    auto* forget_cmd = cmd->add_subcommand(
        "forget", "Forget the failed PINs of a card, so that runs may send its PINs again");
    forget_cmd->add_option("--card", options->card, "Card id (as `identify` and `pins list` show)")
        ->required();
    forget_cmd->callback([options, &context] {
        forget(*options);
        context.exit_code = exit_code::ok;
    });
}

} // namespace harness::cli
