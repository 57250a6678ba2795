#pragma once
// Every PC/SC return code becomes a typed error here, in one place, keeping the raw code, the
// call name and pcsc-lite's text (pcsc_stringify_error):
//   transport failures (card removed, reader gone, timeout...) -> io::TransportError
//   no pcscd / no readers at context or listing time           -> pcsc::EnvironmentFailure (exit 3)
//   anything else (invalid handle, sharing violation...)       -> pcsc::PcscError
#include "io/card_channel.hpp"
#include "pure/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::pcsc {

class PcscError : public Error {
public:
    PcscError(std::string call, long raw_code, const std::string& what)
        : Error(what), call_(std::move(call)), raw_code_(raw_code) {}
    const std::string& call() const { return call_; }
    long raw_code() const { return raw_code_; }

private:
    std::string call_;
    long raw_code_;
};

class EnvironmentFailure : public EnvironmentError {
public:
    EnvironmentFailure(std::string call, long raw_code, const std::string& what)
        : EnvironmentError(what), call_(std::move(call)), raw_code_(raw_code) {}
    const std::string& call() const { return call_; }
    long raw_code() const { return raw_code_; }

private:
    std::string call_;
    long raw_code_;
};

enum class ErrorKind { Transport, Environment, Other };

struct Classification {
    ErrorKind kind = ErrorKind::Other;
    io::TransportFailure failure = io::TransportFailure::Other; // meaningful for Transport
};

// How a failed `call` returning `code` is reported. Depends on the call only where the same code
// means "no service at all" (context, listing) versus "the service died under us" (transmit).
Classification classify(std::string_view call, long code);

// "SCARD_E_TIMEOUT", or "0x8010ABCD" for a code pcsc-lite does not name.
std::string code_name(long code);

// pcsc-lite's own text for the code.
std::string describe(long code);

// "SCardTransmit: Card was removed. (SCARD_W_REMOVED_CARD 0x80100069)".
std::string message(std::string_view call, long code);

// Throws the typed error for `code`; never returns.
[[noreturn]] void throw_error(std::string_view call, long code);

// Does nothing for SCARD_S_SUCCESS, else throw_error().
inline void check(std::string_view call, long code) {
    if (code != 0)
        throw_error(call, code);
}

// The codes this mapping names (every SCARD_* in pcsclite.h), for tests and documentation.
std::vector<long> named_codes();

} // namespace harness::pcsc
