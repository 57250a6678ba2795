#include "backends/pcsc/pcsc_error.hpp"

#include <PCSC/winscard.h>
#include <fmt/core.h>

namespace harness::pcsc {

namespace {

using io::TransportFailure;

struct Entry {
    LONG code;
    const char* name;
};

// pcsclite.h order; SCARD_E_UNEXPECTED and SCARD_E_UNSUPPORTED_FEATURE share 0x8010001F there.
constexpr Entry entries[] = {
    {SCARD_S_SUCCESS, "SCARD_S_SUCCESS"},
    {SCARD_F_INTERNAL_ERROR, "SCARD_F_INTERNAL_ERROR"},
    {SCARD_E_CANCELLED, "SCARD_E_CANCELLED"},
    {SCARD_E_INVALID_HANDLE, "SCARD_E_INVALID_HANDLE"},
    {SCARD_E_INVALID_PARAMETER, "SCARD_E_INVALID_PARAMETER"},
    {SCARD_E_INVALID_TARGET, "SCARD_E_INVALID_TARGET"},
    {SCARD_E_NO_MEMORY, "SCARD_E_NO_MEMORY"},
    {SCARD_F_WAITED_TOO_LONG, "SCARD_F_WAITED_TOO_LONG"},
    {SCARD_E_INSUFFICIENT_BUFFER, "SCARD_E_INSUFFICIENT_BUFFER"},
    {SCARD_E_UNKNOWN_READER, "SCARD_E_UNKNOWN_READER"},
    {SCARD_E_TIMEOUT, "SCARD_E_TIMEOUT"},
    {SCARD_E_SHARING_VIOLATION, "SCARD_E_SHARING_VIOLATION"},
    {SCARD_E_NO_SMARTCARD, "SCARD_E_NO_SMARTCARD"},
    {SCARD_E_UNKNOWN_CARD, "SCARD_E_UNKNOWN_CARD"},
    {SCARD_E_CANT_DISPOSE, "SCARD_E_CANT_DISPOSE"},
    {SCARD_E_PROTO_MISMATCH, "SCARD_E_PROTO_MISMATCH"},
    {SCARD_E_NOT_READY, "SCARD_E_NOT_READY"},
    {SCARD_E_INVALID_VALUE, "SCARD_E_INVALID_VALUE"},
    {SCARD_E_SYSTEM_CANCELLED, "SCARD_E_SYSTEM_CANCELLED"},
    {SCARD_F_COMM_ERROR, "SCARD_F_COMM_ERROR"},
    {SCARD_F_UNKNOWN_ERROR, "SCARD_F_UNKNOWN_ERROR"},
    {SCARD_E_INVALID_ATR, "SCARD_E_INVALID_ATR"},
    {SCARD_E_NOT_TRANSACTED, "SCARD_E_NOT_TRANSACTED"},
    {SCARD_E_READER_UNAVAILABLE, "SCARD_E_READER_UNAVAILABLE"},
    {SCARD_P_SHUTDOWN, "SCARD_P_SHUTDOWN"},
    {SCARD_E_PCI_TOO_SMALL, "SCARD_E_PCI_TOO_SMALL"},
    {SCARD_E_READER_UNSUPPORTED, "SCARD_E_READER_UNSUPPORTED"},
    {SCARD_E_DUPLICATE_READER, "SCARD_E_DUPLICATE_READER"},
    {SCARD_E_CARD_UNSUPPORTED, "SCARD_E_CARD_UNSUPPORTED"},
    {SCARD_E_NO_SERVICE, "SCARD_E_NO_SERVICE"},
    {SCARD_E_SERVICE_STOPPED, "SCARD_E_SERVICE_STOPPED"},
    {SCARD_E_UNSUPPORTED_FEATURE, "SCARD_E_UNSUPPORTED_FEATURE"},
    {SCARD_E_ICC_INSTALLATION, "SCARD_E_ICC_INSTALLATION"},
    {SCARD_E_ICC_CREATEORDER, "SCARD_E_ICC_CREATEORDER"},
    {SCARD_E_DIR_NOT_FOUND, "SCARD_E_DIR_NOT_FOUND"},
    {SCARD_E_FILE_NOT_FOUND, "SCARD_E_FILE_NOT_FOUND"},
    {SCARD_E_NO_DIR, "SCARD_E_NO_DIR"},
    {SCARD_E_NO_FILE, "SCARD_E_NO_FILE"},
    {SCARD_E_NO_ACCESS, "SCARD_E_NO_ACCESS"},
    {SCARD_E_WRITE_TOO_MANY, "SCARD_E_WRITE_TOO_MANY"},
    {SCARD_E_BAD_SEEK, "SCARD_E_BAD_SEEK"},
    {SCARD_E_INVALID_CHV, "SCARD_E_INVALID_CHV"},
    {SCARD_E_UNKNOWN_RES_MNG, "SCARD_E_UNKNOWN_RES_MNG"},
    {SCARD_E_NO_SUCH_CERTIFICATE, "SCARD_E_NO_SUCH_CERTIFICATE"},
    {SCARD_E_CERTIFICATE_UNAVAILABLE, "SCARD_E_CERTIFICATE_UNAVAILABLE"},
    {SCARD_E_NO_READERS_AVAILABLE, "SCARD_E_NO_READERS_AVAILABLE"},
    {SCARD_E_COMM_DATA_LOST, "SCARD_E_COMM_DATA_LOST"},
    {SCARD_E_NO_KEY_CONTAINER, "SCARD_E_NO_KEY_CONTAINER"},
    {SCARD_E_SERVER_TOO_BUSY, "SCARD_E_SERVER_TOO_BUSY"},
    {SCARD_W_UNSUPPORTED_CARD, "SCARD_W_UNSUPPORTED_CARD"},
    {SCARD_W_UNRESPONSIVE_CARD, "SCARD_W_UNRESPONSIVE_CARD"},
    {SCARD_W_UNPOWERED_CARD, "SCARD_W_UNPOWERED_CARD"},
    {SCARD_W_RESET_CARD, "SCARD_W_RESET_CARD"},
    {SCARD_W_REMOVED_CARD, "SCARD_W_REMOVED_CARD"},
    {SCARD_W_SECURITY_VIOLATION, "SCARD_W_SECURITY_VIOLATION"},
    {SCARD_W_WRONG_CHV, "SCARD_W_WRONG_CHV"},
    {SCARD_W_CHV_BLOCKED, "SCARD_W_CHV_BLOCKED"},
    {SCARD_W_EOF, "SCARD_W_EOF"},
    {SCARD_W_CANCELLED_BY_USER, "SCARD_W_CANCELLED_BY_USER"},
    {SCARD_W_CARD_NOT_AUTHENTICATED, "SCARD_W_CARD_NOT_AUTHENTICATED"},
};

// Calls where "no service" / "no readers" means the environment lacks PC/SC (exit code 3).
bool is_setup_call(std::string_view call) {
    return call == "SCardEstablishContext" || call == "SCardListReaders" ||
           call == "SCardIsValidContext";
}

} // namespace

Classification classify(std::string_view call, long code) {
    switch (code) {
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
        if (is_setup_call(call))
            return {ErrorKind::Environment, TransportFailure::ServiceGone};
        return {ErrorKind::Transport, TransportFailure::ServiceGone};
    case SCARD_E_NO_READERS_AVAILABLE:
        return {ErrorKind::Environment, TransportFailure::ReaderGone};
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD:
        return {ErrorKind::Transport, TransportFailure::CardRemoved};
    case SCARD_W_RESET_CARD:
        return {ErrorKind::Transport, TransportFailure::CardReset};
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_UNKNOWN_READER:
        return {ErrorKind::Transport, TransportFailure::ReaderGone};
    case SCARD_E_TIMEOUT:
    case SCARD_F_WAITED_TOO_LONG:
        return {ErrorKind::Transport, TransportFailure::Timeout};
    // pcsc-lite answers SCARD_E_NOT_TRANSACTED when the driver's IFDHTransmitToICC/IFDHControl
    // failed (IFD_COMMUNICATION_ERROR...), not only for transactions.
    case SCARD_E_COMM_DATA_LOST:
    case SCARD_F_COMM_ERROR:
    case SCARD_E_NOT_TRANSACTED:
        return {ErrorKind::Transport, TransportFailure::Communication};
    case SCARD_E_PROTO_MISMATCH:
    case SCARD_E_INVALID_ATR:
        return {ErrorKind::Transport, TransportFailure::ProtocolMismatch};
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_W_UNSUPPORTED_CARD:
        return {ErrorKind::Transport, TransportFailure::Unresponsive};
    case SCARD_E_INSUFFICIENT_BUFFER:
    case SCARD_E_PCI_TOO_SMALL:
        return {ErrorKind::Transport, TransportFailure::InsufficientBuffer};
    default:
        return {ErrorKind::Other, TransportFailure::Other};
    }
}

std::string code_name(long code) {
    for (const auto& e : entries)
        if (e.code == code)
            return e.name;
    return fmt::format("0x{:08X}", static_cast<unsigned long>(code) & 0xFFFFFFFFUL);
}

std::string describe(long code) {
    return pcsc_stringify_error(static_cast<LONG>(code));
}

std::string message(std::string_view call, long code) {
    return fmt::format("{}: {} ({} 0x{:08X})", call, describe(code), code_name(code),
                       static_cast<unsigned long>(code) & 0xFFFFFFFFUL);
}

void throw_error(std::string_view call, long code) {
    const Classification c = classify(call, code);
    const std::string what = message(call, code);
    switch (c.kind) {
    case ErrorKind::Transport:
        throw io::TransportError(c.failure, std::string(call), code, what);
    case ErrorKind::Environment:
        throw EnvironmentFailure(std::string(call), code,
                                 what + (code == SCARD_E_NO_READERS_AVAILABLE
                                             ? ""
                                             : "; is pcscd running? (PCSCLITE_CSOCK_NAME selects "
                                               "a private one)"));
    case ErrorKind::Other:
        break;
    }
    throw PcscError(std::string(call), code, what);
}

std::vector<long> named_codes() {
    std::vector<long> codes;
    for (const auto& e : entries)
        if (e.code != SCARD_S_SUCCESS)
            codes.push_back(e.code);
    return codes;
}

} // namespace harness::pcsc
