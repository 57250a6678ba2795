#include "backends/pcsc/pcsc_channel.hpp"

namespace harness::pcsc {

PcscChannel::PcscChannel(const Context& context, std::string reader, ShareMode mode,
                         std::uint32_t protocols)
    : card_(context, std::move(reader), mode, protocols) {
    refresh_atr();
}

Bytes PcscChannel::transmit(ByteView command) {
    return card_.transmit(command);
}

void PcscChannel::reset(io::ResetKind kind) {
    card_.reconnect(kind == io::ResetKind::Cold ? Disposition::Unpower : Disposition::Reset);
    refresh_atr();
}

void PcscChannel::refresh_atr() {
    atr_ = card_.status().atr;
}

} // namespace harness::pcsc
