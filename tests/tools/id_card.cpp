// An in-test identification card served to a vpcd slot: answers the identification APDUs like a
// My Number card, a Juki card, a JPKI phone or an unknown card (tests/support/id_card.hpp).
//   id_card --kind mynumber|juki|phone|unknown [--contactless] [--serial N] [--log FILE]
//           --vpcd HOST:PORT
// Runs until SIGTERM / SIGINT.
#include "../support/id_card.hpp"

#include "backends/vpcd/vpcd_client.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <fstream>
#include <map>
#include <memory>

namespace {

harness::vpcd::Client* running = nullptr;

extern "C" void on_signal(int) {
    if (running != nullptr)
        running->stop();
}

// Appends every command APDU (hex, one per line) to a file, so tests can check what reached the
// card through the real PC/SC stack.
class LoggingCard : public harness::io::VirtualCard {
public:
    LoggingCard(harness::io::VirtualCard& card, const std::string& path) : card_(card) {
        if (!path.empty())
            log_ = std::make_unique<std::ofstream>(path, std::ios::app);
    }
    harness::Bytes power_on() override { return card_.power_on(); }
    void power_off() override { card_.power_off(); }
    harness::Bytes reset(bool cold) override { return card_.reset(cold); }
    harness::Bytes atr() const override { return card_.atr(); }
    std::string profile_name() const override { return card_.profile_name(); }
    harness::io::CardResponse transmit(harness::ByteView command) override {
        if (log_)
            *log_ << harness::hex::format(command, harness::hex::Style::Packed) << std::endl;
        return card_.transmit(command);
    }

private:
    harness::io::VirtualCard& card_;
    std::unique_ptr<std::ofstream> log_;
};

} // namespace

int main(int argc, char** argv) {
    using harness::test::IdCardKind;
    CLI::App app{"in-test identification card served to vpcd", "id_card"};
    std::string kind_name = "mynumber";
    std::string endpoint_text;
    bool contactless = false;
    long serial = harness::test::TestCertificate{}.serial;
    std::string issuer = harness::test::TestCertificate{}.issuer_cn;
    std::string log_path;
    app.add_option("--kind", kind_name, "mynumber, juki, phone or unknown")
        ->check(CLI::IsMember({"mynumber", "juki", "phone", "unknown"}));
    app.add_option("--vpcd", endpoint_text, "vpcd slot HOST:PORT")->required();
    app.add_flag("--contactless", contactless, "present a contactless pseudo-ATR");
    app.add_option("--serial", serial, "authentication certificate serial number");
    app.add_option("--issuer", issuer, "authentication certificate issuer OU");
    app.add_option("--log", log_path, "append every command APDU (hex) to this file");
    CLI11_PARSE(app, argc, argv);

    const std::map<std::string, IdCardKind> kinds{{"mynumber", IdCardKind::MyNumber},
                                                  {"juki", IdCardKind::Juki},
                                                  {"phone", IdCardKind::Phone},
                                                  {"unknown", IdCardKind::Unknown}};
    try {
        harness::test::TestCertificate cert;
        cert.serial = serial;
        cert.issuer_cn = issuer;
        harness::test::IdCard card(
            harness::test::make_spec(kinds.at(kind_name), contactless, cert));
        LoggingCard logged(card, log_path);
        harness::vpcd::ClientOptions options;
        options.log = [](std::string_view line) { fmt::print(stderr, "id_card: {}\n", line); };
        harness::vpcd::Client client(logged, harness::vpcd::parse_endpoint(endpoint_text), options);
        running = &client;
        std::signal(SIGTERM, on_signal);
        std::signal(SIGINT, on_signal);
        const auto stats = client.serve();
        running = nullptr;
        fmt::print(stderr, "id_card: stopped after {} APDUs\n", stats.apdus);
    } catch (const std::exception& e) {
        fmt::print(stderr, "id_card: {}\n", e.what());
        return 1;
    }
    return 0;
}
