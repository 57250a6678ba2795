// Our own PC/SC backend, driven from integration tests (until `cardharness readers` covers it):
//   pcsc_probe list                          readers with attributes/features as JSON
//   pcsc_probe wait-card READER [--timeout-ms N]     exit 0 once a card is present, 1 on timeout
//   pcsc_probe wait-removal READER [--timeout-ms N]  exit 0 once the reader is empty
//   pcsc_probe transmit READER APDU... [--reset warm|cold] [--exclusive]
//       JSON {reader, atr, protocol, responses: [hex...], atr_after_reset}; a transport failure
//       prints {error: {failure, call, raw_code, message}} and exits 1.
//   pcsc_probe hold READER [--seconds N]     connect exclusively, print "held", keep the card N s
//       (another application holding a reader, for `doctor`)
// Exit codes follow the CLI: 2 usage, 3 environment (no pcscd).
#include "backends/pcsc/card.hpp"
#include "backends/pcsc/context.hpp"
#include "backends/pcsc/pcsc_channel.hpp"
#include "backends/pcsc/pcsc_error.hpp"
#include "backends/pcsc/reader_info.hpp"
#include "cli/json_pcsc.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <thread>

using namespace harness;
using namespace std::chrono;

int main(int argc, char** argv) {
    CLI::App app{"pcsc_probe: exercise the cardharness PC/SC backend"};
    app.require_subcommand(1);
    std::string reader;
    std::vector<std::string> apdus;
    std::string reset_kind;
    bool exclusive = false;
    int timeout_ms = 10000;

    auto* list = app.add_subcommand("list", "readers as JSON");
    auto* wait_card = app.add_subcommand("wait-card", "wait until a card is present");
    wait_card->add_option("reader", reader)->required();
    wait_card->add_option("--timeout-ms", timeout_ms);
    auto* wait_removal = app.add_subcommand("wait-removal", "wait until the reader is empty");
    wait_removal->add_option("reader", reader)->required();
    wait_removal->add_option("--timeout-ms", timeout_ms);
    auto* transmit = app.add_subcommand("transmit", "send APDUs, print responses as JSON");
    transmit->add_option("reader", reader)->required();
    transmit->add_option("apdus", apdus)->required();
    transmit->add_option("--reset", reset_kind, "reset after the APDUs")
        ->check(CLI::IsMember({"warm", "cold"}));
    transmit->add_flag("--exclusive", exclusive);
    int seconds = 60;
    auto* hold = app.add_subcommand("hold", "hold the card exclusively for a while");
    hold->add_option("reader", reader)->required();
    hold->add_option("--seconds", seconds);
    CLI11_PARSE(app, argc, argv);

    try {
        pcsc::Context context;
        if (list->parsed()) {
            fmt::print("{}\n", cli::to_json(pcsc::read_all_readers(context)).dump(2));
            return 0;
        }
        if (wait_card->parsed())
            return context.wait_for_card(reader, milliseconds(timeout_ms)) ? 0 : 1;
        if (wait_removal->parsed())
            return context.wait_for_removal(reader, milliseconds(timeout_ms)) ? 0 : 1;
        if (hold->parsed()) {
            pcsc::Card card(context, reader, pcsc::ShareMode::Exclusive);
            fmt::print("held\n");
            std::fflush(stdout);
            std::this_thread::sleep_for(std::chrono::seconds(seconds));
            return 0;
        }
        nlohmann::json out;
        out["reader"] = reader;
        nlohmann::json responses = nlohmann::json::array();
        try {
            pcsc::PcscChannel channel(
                context, reader, exclusive ? pcsc::ShareMode::Exclusive : pcsc::ShareMode::Shared);
            out["atr"] = hex::format(channel.atr());
            out["protocol"] = pcsc::to_string(channel.protocol());
            for (const auto& text : apdus)
                responses.push_back(hex::format(channel.transmit(hex::parse_or_throw(text))));
            out["responses"] = responses;
            if (!reset_kind.empty()) {
                channel.reset(reset_kind == "cold" ? io::ResetKind::Cold : io::ResetKind::Warm);
                out["atr_after_reset"] = hex::format(channel.atr());
                out["protocol_after_reset"] = pcsc::to_string(channel.protocol());
            }
        } catch (const io::TransportError& e) {
            out["responses"] = responses;
            out["error"] = {{"failure", io::to_string(e.failure())},
                            {"call", e.call()},
                            {"raw_code", e.raw_code()},
                            {"code_name", pcsc::code_name(e.raw_code())},
                            {"message", e.what()}};
            fmt::print("{}\n", out.dump(2));
            return 1;
        }
        fmt::print("{}\n", out.dump(2));
        return 0;
    } catch (const UsageError& e) {
        fmt::print(stderr, "pcsc_probe: {}\n", e.what());
        return 2;
    } catch (const EnvironmentError& e) {
        fmt::print(stderr, "pcsc_probe: {}\n", e.what());
        return 3;
    } catch (const std::exception& e) {
        fmt::print(stderr, "pcsc_probe: {}\n", e.what());
        return 1;
    }
}
