#pragma once
// RAII PC/SC context (SCardEstablishContext / SCardReleaseContext) and reader queries.
// Which pcscd it talks to is libpcsclite's business: it honours PCSCLITE_CSOCK_NAME by itself
// (tests point it at a private pcscd); nothing here reads, sets or overrides that variable.
#include "backends/pcsc/pcsc_error.hpp" // the errors every call here throws
#include "model/pcsc_reader.hpp"
#include "pure/bytes.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::pcsc {

struct ReaderStatus {
    std::string reader;
    model::PcscReaderState state;
    Bytes atr;
};

// SCARD_STATE_* bits (pcsclite.h) to flags; the high 16 bits are pcsc-lite's event counter.
model::PcscReaderState decode_state(std::uint32_t event_state);

// Waits until pcscd no longer knows the reader (true: unplugged) or the timeout ends (false), on
// the SCARDCONTEXT `context`; false too when pcscd cannot be asked.
bool reader_gone_within(long context, const std::string& reader, std::chrono::milliseconds timeout);

class Context {
public:
    Context(); // SCARD_SCOPE_SYSTEM; throws EnvironmentFailure when pcscd is not reachable
    ~Context();
    Context(Context&& other) noexcept;
    Context& operator=(Context&& other) noexcept;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    long handle() const { return handle_; }
    bool valid() const; // SCardIsValidContext

    // Reader names; empty when pcscd has none (SCARD_E_NO_READERS_AVAILABLE is not an error here).
    std::vector<std::string> list_readers() const;

    // The reader's state now (SCardGetStatusChange, timeout 0).
    ReaderStatus status_of(const std::string& reader) const;

    // Blocks until the reader's state differs from `known.raw` (pass a previous status, whose raw
    // includes the event counter), or the timeout ends: nullopt then.
    std::optional<ReaderStatus> wait_for_change(const ReaderStatus& known,
                                                std::chrono::milliseconds timeout) const;

    // Waits until a card is present (true) or the timeout ends (false).
    bool wait_for_card(const std::string& reader, std::chrono::milliseconds timeout) const;
    // Waits until the reader is empty (true) or the timeout ends (false).
    bool wait_for_removal(const std::string& reader, std::chrono::milliseconds timeout) const;
    // Waits until pcscd no longer knows the reader (unplugged: true) or the timeout ends (false).
    bool wait_for_reader_gone(const std::string& reader, std::chrono::milliseconds timeout) const;

    // Waits for a reader to be added or removed ("\\?PnP?\Notification"); false on timeout.
    bool wait_for_reader_change(std::chrono::milliseconds timeout) const;

    // Ends a blocking wait in another thread (SCardCancel; thread-safe).
    void cancel() const;

private:
    long handle_ = 0;
    bool owns_ = false;
};

} // namespace harness::pcsc
