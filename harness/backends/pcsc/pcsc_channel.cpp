#include "backends/pcsc/pcsc_channel.hpp"

#include "backends/pcsc/pcsc_error.hpp"
#include "io/failure_kind.hpp"

#include <fmt/core.h>

namespace harness::pcsc {

PcscChannel::PcscChannel(const Context& context, std::string reader, ShareMode mode,
                         std::uint32_t protocols)
    : card_(context, std::move(reader), mode, protocols) {
    refresh_atr();
}

Bytes PcscChannel::transmit(ByteView command) {
    Bytes response = card_.transmit(command);
    // pcsc-lite 1.9.9 + vpcd answer SCARD_S_SUCCESS with 0 bytes when the card vanishes mid-command
    // (IFDHTransmitToICC failed): without SW1 SW2 there is no response APDU (ISO 7816-4 §5.1).
    if (response.size() < 2)
        throw io::TransportError(
            io::TransportFailure::Communication, "SCardTransmit", 0,
            fmt::format("SCardTransmit: the reader returned {} byte(s) and no status word (card "
                        "removed or mute during the command?)",
                        response.size()));
    return response;
}

void PcscChannel::reset(io::ResetKind kind) {
    card_.reconnect(kind == io::ResetKind::Cold ? Disposition::Unpower : Disposition::Reset);
    refresh_atr();
}

bool PcscChannel::begin_transaction() {
    if (transaction_depth_ == 0)
        card_.begin_transaction();
    ++transaction_depth_;
    return true;
}

void PcscChannel::end_transaction() {
    if (transaction_depth_ == 0)
        return;
    if (--transaction_depth_ == 0)
        card_.end_transaction(Disposition::Leave);
}

void PcscChannel::refresh_atr() {
    atr_ = card_.status().atr;
}

Connection connect_channel(const Context& context, const std::string& reader, ShareMode mode) {
    Connection out;
    try {
        out.channel = std::make_unique<PcscChannel>(context, reader, mode);
    } catch (const io::TransportError& e) {
        out.failure = io::kind_of(e);
        out.error = e.what();
    } catch (const PcscError& e) {
        out.failure = model::FailureKind::TransportOther;
        out.error = e.what();
    }
    return out;
}

} // namespace harness::pcsc
