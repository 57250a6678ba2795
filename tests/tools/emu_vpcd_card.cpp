// Serves one emulated card (services/emu profile) to a vpcd slot, for integration tests with real
// clients (OpenSC pkcs15-tool/pkcs15-crypt, pcsc-tools scriptor) through a real pcscd:
//   emu_vpcd_card --vpcd 127.0.0.1:PORT --profile mynumber [--citizen] [--no-delay]
//                 [--state-file FILE] [--print-pki-dir] [--once] [-q]
// --state-file loads retry counters at start and saves them at exit (the lab's persistence).
#include "backends/vpcd/vpcd_client.hpp"
#include "pure/error.hpp"
#include "services/emu/card.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <fstream>
#include <sstream>

using namespace harness;

namespace {

vpcd::Client* g_client = nullptr;

extern "C" void on_signal(int) {
    if (g_client != nullptr)
        g_client->stop();
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"emu_vpcd_card: an emulated My Number / Juki / transport card on a vpcd slot"};
    std::string address;
    std::string profile = "mynumber";
    std::string state_file;
    bool citizen = false, no_delay = false, once = false, quiet = false, print_pki = false;
    app.add_option("--vpcd", address, "vpcd slot HOST:PORT (or PORT)");
    app.add_option("--profile", profile, "card profile (profiles/cards/cards.csv)");
    app.add_option("--state-file", state_file, "retry counters: loaded at start, saved at exit");
    app.add_flag("--citizen", citizen, "present as a citizen card (JPKI-style certificates)");
    app.add_flag("--no-delay", no_delay, "answer at once instead of after the processing time");
    app.add_flag("--once", once, "exit when vpcd closes the connection");
    app.add_flag("--print-pki-dir", print_pki, "print the PKI folder (generating it) and exit");
    app.add_flag("-q,--quiet", quiet, "no progress lines on stderr");
    CLI11_PARSE(app, argc, argv);
    try {
        emu::Options options;
        options.citizen = citizen;
        auto card = emu::make_card(profile, options);
        if (print_pki) {
            fmt::print("{}\n", options.pki_dir.string());
            return 0;
        }
        if (address.empty())
            throw UsageError("--vpcd HOST:PORT is required");
        if (!state_file.empty()) {
            std::ifstream in(state_file);
            if (in) {
                std::stringstream text;
                text << in.rdbuf();
                card->set_state(emu::CardState::from_text(text.str()));
            }
        }
        vpcd::ClientOptions client_options;
        client_options.reconnect = !once;
        client_options.honour_processing_time = !no_delay;
        if (!quiet)
            client_options.log = [](std::string_view line) {
                fmt::print(stderr, "emu_vpcd_card: {}\n", line);
                std::fflush(stderr);
            };
        vpcd::Client client(*card, vpcd::parse_endpoint(address), client_options);
        g_client = &client;
        std::signal(SIGTERM, on_signal);
        std::signal(SIGINT, on_signal);
        const auto stats = client.serve();
        g_client = nullptr;
        if (!state_file.empty())
            std::ofstream(state_file) << card->state().to_text();
        if (!quiet)
            fmt::print(stderr, "emu_vpcd_card: served {} APDUs over {} connections\n", stats.apdus,
                       stats.connections);
        return 0;
    } catch (const UsageError& e) {
        fmt::print(stderr, "emu_vpcd_card: {}\n", e.what());
        return 2;
    } catch (const EnvironmentError& e) {
        fmt::print(stderr, "emu_vpcd_card: {}\n", e.what());
        return 3;
    } catch (const std::exception& e) {
        fmt::print(stderr, "emu_vpcd_card: {}\n", e.what());
        return 1;
    }
}
