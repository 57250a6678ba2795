#pragma once
// io::CardChannel over a real PC/SC card connection: transmits bytes exactly as given (no 61xx /
// 6Cxx handling), resets through SCardReconnect (warm: SCARD_RESET_CARD, cold: SCARD_UNPOWER_CARD)
// and reports the ATR and the negotiated protocol. Transactions keep other PC/SC clients out. A
// "successful" transmit that returns fewer than two bytes (no SW1 SW2: the card vanished
// mid-command) is a TransportError (Communication) with raw code 0; Card::transmit itself returns
// whatever came.
#include "backends/pcsc/card.hpp"
#include "backends/pcsc/context.hpp"
#include "io/card_channel.hpp"
#include "model/run.hpp"

#include <memory>
#include <optional>
#include <string>

namespace harness::pcsc {

class PcscChannel : public io::CardChannel {
public:
    PcscChannel(const Context& context, std::string reader, ShareMode mode = ShareMode::Shared,
                std::uint32_t protocols = protocol_any);

    Bytes transmit(ByteView command) override;
    Bytes atr() const override { return atr_; }
    io::Protocol protocol() const override { return card_.protocol(); }
    void reset(io::ResetKind kind) override;
    std::string reader_name() const override { return card_.reader(); }
    // SCardBeginTransaction / SCardEndTransaction(SCARD_LEAVE_CARD), counted: only the outermost
    // pair reaches pcscd. pcsc-lite's client waits while another handle holds the card.
    bool begin_transaction() override;
    void end_transaction() override;

    Card& card() { return card_; }

private:
    void refresh_atr();

    Card card_;
    Bytes atr_;
    int transaction_depth_ = 0;
};

// A channel to the card in `reader`, or why there is none: the typed failure (io::kind_of of a
// TransportError; TransportOther for any other PC/SC error) and its text. What `run` and `survey`
// put in plan::Outcome::connect_failure / connect_error.
struct Connection {
    std::unique_ptr<PcscChannel> channel;
    std::optional<model::FailureKind> failure;
    std::string error;
};
Connection connect_channel(const Context& context, const std::string& reader,
                           ShareMode mode = ShareMode::Shared);

} // namespace harness::pcsc
