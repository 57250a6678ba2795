#pragma once
// An in-process io::CardChannel over an io::VirtualCard that records every command sent, so tests
// can assert what was (and what was never) sent. Can simulate the card vanishing after N commands.
#include "io/card_channel.hpp"
#include "io/virtual_card.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace harness::test {

class RecordingChannel : public io::CardChannel {
public:
    explicit RecordingChannel(io::VirtualCard& card, std::string reader = "Test Reader 00 00")
        : card_(card), reader_(std::move(reader)), atr_(card.power_on()) {}

    Bytes transmit(ByteView command) override {
        sent_.emplace_back(command.begin(), command.end());
        if (remove_after_ && sent_.size() > *remove_after_) {
            if (plain_error_)
                throw Error("SCardTransmit: sharing violation (simulated)");
            throw io::TransportError(io::TransportFailure::CardRemoved, "SCardTransmit",
                                     0x80100069L, "card removed (simulated)");
        }
        return card_.transmit(command).apdu;
    }
    Bytes atr() const override { return atr_; }
    io::Protocol protocol() const override { return io::Protocol::T1; }
    void reset(io::ResetKind kind) override { atr_ = card_.reset(kind == io::ResetKind::Cold); }
    std::string reader_name() const override { return reader_; }
    // The only client of its card: a transaction trivially keeps everyone else out.
    bool begin_transaction() override { return true; }

    const std::vector<Bytes>& sent() const { return sent_; }
    // Commands after the first n fail as if the card was pulled out.
    void remove_card_after(std::size_t n) { remove_after_ = n; }
    // Commands after the first n fail with a plain harness::Error (not a transport failure).
    void fail_after(std::size_t n) {
        remove_after_ = n;
        plain_error_ = true;
    }

private:
    io::VirtualCard& card_;
    std::string reader_;
    Bytes atr_;
    std::vector<Bytes> sent_;
    std::optional<std::size_t> remove_after_;
    bool plain_error_ = false;
};

} // namespace harness::test
