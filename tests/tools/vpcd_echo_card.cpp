// A tiny card served to a vpcd slot, for integration tests of the PC/SC stack (pcscd + vpcd):
//   vpcd_echo_card --vpcd 127.0.0.1:PORT [--atr HEX] [--delay-ms N] [--once]
// APDUs it answers (short APDUs only):
//   00 A4 04 xx 07 F0 43 48 45 43 48 4F  SELECT its AID ("F0 CHECHO")   -> 90 00 (other AIDs 6A 82)
//   80 10 00 00 Lc <data> [Le]           ECHO                            -> <data> 90 00
//   80 CA 00 00 Le                       PATTERN: Le bytes 00 01 02 ...  -> (Le 00 = 256) 90 00
//   00 84 00 00 Le                       GET CHALLENGE                   -> Le bytes 90 00
//   other INS 6D 00, other CLA 6E 00. SIGTERM/SIGINT ends it (the card is removed).
#include "backends/vpcd/vpcd_client.hpp"
#include "io/virtual_card.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fmt/core.h>

using namespace harness;

namespace {

class EchoCard : public io::VirtualCard {
public:
    EchoCard(Bytes atr, std::chrono::milliseconds delay) : atr_(std::move(atr)), delay_(delay) {}
    Bytes power_on() override {
        powered_ = true;
        return atr_;
    }
    void power_off() override { powered_ = false; }
    Bytes reset(bool) override {
        powered_ = true;
        selected_ = false;
        return atr_;
    }
    Bytes atr() const override { return atr_; }
    std::string profile_name() const override { return "echo"; }

    io::CardResponse transmit(ByteView c) override {
        return {answer(c), std::chrono::duration_cast<std::chrono::microseconds>(delay_)};
    }

private:
    Bytes answer(ByteView c) {
        static const Bytes aid{0xF0, 0x43, 0x48, 0x45, 0x43, 0x48, 0x4F};
        if (c.size() < 4)
            return {0x67, 0x00};
        const std::uint8_t cla = c[0], ins = c[1];
        if (cla != 0x00 && cla != 0x80)
            return {0x6E, 0x00};
        const std::size_t body = c.size() - 4;
        const std::size_t lc = body > 1 ? c[4] : 0;
        if (ins == 0xA4 && c[2] == 0x04) {
            if (body >= 1 + aid.size() && lc == aid.size() &&
                Bytes(c.begin() + 5, c.begin() + 5 + static_cast<std::ptrdiff_t>(lc)) == aid) {
                selected_ = true;
                return {0x90, 0x00};
            }
            return {0x6A, 0x82};
        }
        if (cla == 0x80 && ins == 0x10) {
            if (body < 1 + lc || lc == 0)
                return {0x67, 0x00};
            Bytes r(c.begin() + 5, c.begin() + 5 + static_cast<std::ptrdiff_t>(lc));
            r.push_back(0x90);
            r.push_back(0x00);
            return r;
        }
        if ((cla == 0x80 && ins == 0xCA) || (cla == 0x00 && ins == 0x84)) {
            if (body != 1)
                return {0x67, 0x00};
            const std::size_t le = c[4] == 0 ? 256 : c[4];
            Bytes r;
            for (std::size_t i = 0; i < le; ++i)
                r.push_back(ins == 0xCA ? static_cast<std::uint8_t>(i)
                                        : static_cast<std::uint8_t>((i * 73 + ++counter_) & 0xFF));
            r.push_back(0x90);
            r.push_back(0x00);
            return r;
        }
        return {0x6D, 0x00};
    }

    Bytes atr_;
    std::chrono::milliseconds delay_;
    bool powered_ = false;
    bool selected_ = false;
    std::size_t counter_ = 0;
};

vpcd::Client* g_client = nullptr;

extern "C" void on_signal(int) {
    if (g_client != nullptr)
        g_client->stop();
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"vpcd_echo_card: a tiny test card served to a vpcd slot"};
    std::string address;
    std::string atr_text = "3B 85 81 31 FE 45 43 48 45 43 48 CB"; // T=1, IFSC 254, "CHECH"
    int delay_ms = 0;
    bool once = false;
    bool quiet = false;
    app.add_option("--vpcd", address, "vpcd slot HOST:PORT (or PORT)")->required();
    app.add_option("--atr", atr_text, "ATR to present (hex)");
    app.add_option("--delay-ms", delay_ms, "processing time per APDU")->check(CLI::Range(0, 60000));
    app.add_flag("--once", once, "exit when vpcd closes the connection instead of reconnecting");
    app.add_flag("-q,--quiet", quiet, "no progress lines on stderr");
    CLI11_PARSE(app, argc, argv);
    try {
        EchoCard card(hex::parse_or_throw(atr_text), std::chrono::milliseconds(delay_ms));
        vpcd::ClientOptions options;
        options.reconnect = !once;
        if (!quiet)
            options.log = [](std::string_view line) {
                fmt::print(stderr, "vpcd_echo_card: {}\n", line);
                std::fflush(stderr);
            };
        vpcd::Client client(card, vpcd::parse_endpoint(address), options);
        g_client = &client;
        std::signal(SIGTERM, on_signal);
        std::signal(SIGINT, on_signal);
        const auto stats = client.serve();
        g_client = nullptr;
        if (!quiet)
            fmt::print(stderr, "vpcd_echo_card: served {} APDUs over {} connections\n", stats.apdus,
                       stats.connections);
        return 0;
    } catch (const UsageError& e) {
        fmt::print(stderr, "vpcd_echo_card: {}\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "vpcd_echo_card: {}\n", e.what());
        return 1;
    }
}
