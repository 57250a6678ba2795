#pragma once
// Everything pcsc-lite tells about a reader, gathered without needing a card where possible:
// state and ATR (SCardGetStatusChange), attributes (SCardGetAttrib), PC/SC part 10 features
// (CM_IOCTL_GET_FEATURE_REQUEST) and TLV properties (FEATURE_GET_TLV_PROPERTIES). With a card
// present it connects shared (T=0|T=1, left as it is afterwards); without one, or when the card
// is mute or held exclusively, SCARD_SHARE_DIRECT (as pcsc_scan and the CCID tools do). A query
// that fails is recorded in `failures` with its PC/SC code, never thrown.
#include "backends/pcsc/context.hpp"
#include "model/pcsc_reader.hpp"

#include <string>
#include <vector>

namespace harness::pcsc {

model::PcscReader read_reader_info(const Context& context, const std::string& reader);

// Every reader pcscd lists, in its order.
std::vector<model::PcscReader> read_all_readers(const Context& context);

} // namespace harness::pcsc
