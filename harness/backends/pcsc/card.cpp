#include "backends/pcsc/card.hpp"

#include "backends/pcsc/pcsc_error.hpp"

#include <PCSC/reader.h>
#include <PCSC/winscard.h>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <strings.h>
#include <type_traits>

namespace harness::pcsc {

static_assert(std::is_same_v<SCARDHANDLE, long>, "pcsc-lite SCARDHANDLE is a LONG");
static_assert(protocol_t0 == SCARD_PROTOCOL_T0 && protocol_t1 == SCARD_PROTOCOL_T1 &&
              protocol_raw == SCARD_PROTOCOL_RAW);
static_assert(attr::vendor_name == SCARD_ATTR_VENDOR_NAME &&
              attr::vendor_ifd_type == SCARD_ATTR_VENDOR_IFD_TYPE &&
              attr::vendor_ifd_version == SCARD_ATTR_VENDOR_IFD_VERSION &&
              attr::vendor_ifd_serial_no == SCARD_ATTR_VENDOR_IFD_SERIAL_NO &&
              attr::channel_id == SCARD_ATTR_CHANNEL_ID &&
              attr::atr_string == SCARD_ATTR_ATR_STRING && attr::maxinput == SCARD_ATTR_MAXINPUT);

namespace {

DWORD share_of(ShareMode mode) {
    switch (mode) {
    case ShareMode::Shared:
        return SCARD_SHARE_SHARED;
    case ShareMode::Exclusive:
        return SCARD_SHARE_EXCLUSIVE;
    case ShareMode::Direct:
        return SCARD_SHARE_DIRECT;
    }
    return SCARD_SHARE_SHARED;
}

DWORD disposition_of(Disposition d) {
    switch (d) {
    case Disposition::Leave:
        return SCARD_LEAVE_CARD;
    case Disposition::Reset:
        return SCARD_RESET_CARD;
    case Disposition::Unpower:
        return SCARD_UNPOWER_CARD;
    case Disposition::Eject:
        return SCARD_EJECT_CARD;
    }
    return SCARD_LEAVE_CARD;
}

io::Protocol protocol_of(DWORD active) {
    switch (active) {
    case SCARD_PROTOCOL_T0:
        return io::Protocol::T0;
    case SCARD_PROTOCOL_T1:
        return io::Protocol::T1;
    case SCARD_PROTOCOL_RAW:
        return io::Protocol::Raw;
    default:
        return io::Protocol::Undefined;
    }
}

} // namespace

const char* to_string(ShareMode mode) {
    switch (mode) {
    case ShareMode::Shared:
        return "shared";
    case ShareMode::Exclusive:
        return "exclusive";
    case ShareMode::Direct:
        return "direct";
    }
    return "shared";
}

const char* to_string(io::Protocol protocol) {
    switch (protocol) {
    case io::Protocol::T0:
        return "T=0";
    case io::Protocol::T1:
        return "T=1";
    case io::Protocol::Raw:
        return "raw";
    case io::Protocol::Undefined:
        return "undefined";
    }
    return "undefined";
}

Card::Card(const Context& context, std::string reader, ShareMode mode, std::uint32_t protocols)
    : context_(context.handle()), reader_(std::move(reader)), mode_(mode) {
    SCARDHANDLE h = 0;
    DWORD active = 0;
    // PC/SC part 5: a direct connection asks for no protocol (pcsc-lite accepts 0 there).
    const DWORD wanted = mode == ShareMode::Direct ? 0 : static_cast<DWORD>(protocols);
    check("SCardConnect",
          SCardConnect(context.handle(), reader_.c_str(), share_of(mode), wanted, &h, &active));
    handle_ = h;
    connected_ = true;
    protocol_ = protocol_of(active);
}

Card::~Card() {
    if (connected_)
        SCardDisconnect(handle_, disposition_of(disposition_));
}

// pcsc-lite answers a call on a handle whose reader it removed with SCARD_E_INVALID_VALUE (pcscd
// finds no reader for the handle) or SCARD_E_INVALID_HANDLE (the client library dropped it). The
// same codes also mean a bad argument, so pcscd is asked whether it still knows the reader. It
// drops the handle a moment before the reader's name, hence the short watch.
void Card::check_handle(const char* call, long code) const {
    if ((code == SCARD_E_INVALID_VALUE || code == SCARD_E_INVALID_HANDLE) &&
        reader_gone_within(context_, reader_, std::chrono::milliseconds(500)))
        throw io::TransportError(
            io::TransportFailure::ReaderGone, call, code,
            fmt::format("{}: the reader is gone (pcscd no longer lists it)", message(call, code)));
    check(call, code);
}

void Card::disconnect(Disposition disposition) {
    if (!connected_)
        return;
    connected_ = false;
    check("SCardDisconnect", SCardDisconnect(handle_, disposition_of(disposition)));
}

Bytes Card::transmit(ByteView command) {
    const SCARD_IO_REQUEST* pci = SCARD_PCI_T1;
    if (protocol_ == io::Protocol::T0)
        pci = SCARD_PCI_T0;
    else if (protocol_ == io::Protocol::Raw)
        pci = SCARD_PCI_RAW;
    // One receive buffer per thread, not a zeroed 64 KiB vector per APDU (issue 11: the runner's
    // per-APDU cost); what a response left in it is wiped once copied out.
    thread_local Bytes buffer(MAX_BUFFER_SIZE_EXTENDED);
    DWORD length = static_cast<DWORD>(buffer.size());
    const LONG rv = SCardTransmit(handle_, pci, command.data(), static_cast<DWORD>(command.size()),
                                  nullptr, buffer.data(), &length);
    check_handle("SCardTransmit", rv);
    const std::size_t n = std::min<std::size_t>(length, buffer.size());
    Bytes response(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    ::explicit_bzero(buffer.data(), n);
    return response;
}

Bytes Card::control(std::uint32_t code, ByteView in, std::size_t max_out) {
    Bytes out(max_out);
    DWORD returned = 0;
    check_handle("SCardControl", SCardControl(handle_, static_cast<DWORD>(code), in.data(),
                                              static_cast<DWORD>(in.size()), out.data(),
                                              static_cast<DWORD>(out.size()), &returned));
    out.resize(returned);
    return out;
}

Bytes Card::get_attrib(std::uint32_t attribute) {
    Bytes value(MAX_BUFFER_SIZE);
    DWORD length = static_cast<DWORD>(value.size());
    check_handle("SCardGetAttrib",
                 SCardGetAttrib(handle_, static_cast<DWORD>(attribute), value.data(), &length));
    value.resize(length);
    return value;
}

void Card::reconnect(Disposition initialization, std::uint32_t protocols) {
    DWORD active = 0;
    const DWORD wanted = mode_ == ShareMode::Direct ? 0 : static_cast<DWORD>(protocols);
    check_handle("SCardReconnect", SCardReconnect(handle_, share_of(mode_), wanted,
                                                  disposition_of(initialization), &active));
    protocol_ = protocol_of(active);
}

CardStatus Card::status() {
    char name[MAX_READERNAME + 1] = {};
    DWORD name_length = sizeof name;
    DWORD state = 0;
    DWORD active = 0;
    BYTE atr[MAX_ATR_SIZE] = {};
    DWORD atr_length = sizeof atr;
    check_handle("SCardStatus",
                 SCardStatus(handle_, name, &name_length, &state, &active, atr, &atr_length));
    CardStatus s;
    s.reader = name;
    s.state = static_cast<std::uint32_t>(state);
    s.protocol = protocol_of(active);
    s.atr.assign(atr, atr + atr_length);
    return s;
}

void Card::begin_transaction() {
    check_handle("SCardBeginTransaction", SCardBeginTransaction(handle_));
}

void Card::end_transaction(Disposition disposition) {
    check_handle("SCardEndTransaction", SCardEndTransaction(handle_, disposition_of(disposition)));
}

} // namespace harness::pcsc
