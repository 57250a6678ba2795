#include "backends/pcsc/context.hpp"

#include "backends/pcsc/pcsc_error.hpp"

#include <PCSC/winscard.h>
#include <algorithm>
#include <type_traits>

namespace harness::pcsc {

static_assert(std::is_same_v<SCARDCONTEXT, long>, "pcsc-lite SCARDCONTEXT is a LONG");

namespace {

DWORD to_dword_ms(std::chrono::milliseconds timeout) {
    if (timeout.count() < 0)
        return INFINITE;
    return static_cast<DWORD>(
        std::min<std::chrono::milliseconds::rep>(timeout.count(), 0x7FFFFFFF));
}

ReaderStatus to_status(const SCARD_READERSTATE& rs) {
    ReaderStatus s;
    s.reader = rs.szReader;
    s.state = decode_state(static_cast<std::uint32_t>(rs.dwEventState));
    const std::size_t n = std::min<std::size_t>(rs.cbAtr, sizeof rs.rgbAtr);
    s.atr.assign(rs.rgbAtr, rs.rgbAtr + n);
    return s;
}

} // namespace

model::PcscReaderState decode_state(std::uint32_t event_state) {
    model::PcscReaderState s;
    s.raw = event_state;
    s.event_count = event_state >> 16;
    s.present = (event_state & SCARD_STATE_PRESENT) != 0;
    s.empty = (event_state & SCARD_STATE_EMPTY) != 0;
    s.exclusive = (event_state & SCARD_STATE_EXCLUSIVE) != 0;
    s.in_use = (event_state & SCARD_STATE_INUSE) != 0;
    s.mute = (event_state & SCARD_STATE_MUTE) != 0;
    s.unpowered = (event_state & SCARD_STATE_UNPOWERED) != 0;
    s.unavailable = (event_state & SCARD_STATE_UNAVAILABLE) != 0;
    s.unknown = (event_state & SCARD_STATE_UNKNOWN) != 0;
    return s;
}

Context::Context() {
    SCARDCONTEXT h = 0;
    check("SCardEstablishContext", SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &h));
    handle_ = h;
    owns_ = true;
}

Context::~Context() {
    if (owns_)
        SCardReleaseContext(handle_);
}

Context::Context(Context&& other) noexcept : handle_(other.handle_), owns_(other.owns_) {
    other.owns_ = false;
}

Context& Context::operator=(Context&& other) noexcept {
    if (this != &other) {
        if (owns_)
            SCardReleaseContext(handle_);
        handle_ = other.handle_;
        owns_ = other.owns_;
        other.owns_ = false;
    }
    return *this;
}

bool Context::valid() const {
    return owns_ && SCardIsValidContext(handle_) == SCARD_S_SUCCESS;
}

std::vector<std::string> Context::list_readers() const {
    // The list can grow between the size query and the read: retry on a short buffer.
    for (int attempt = 0; attempt < 5; ++attempt) {
        DWORD size = 0;
        LONG rv = SCardListReaders(handle_, nullptr, nullptr, &size);
        if (rv == SCARD_E_NO_READERS_AVAILABLE)
            return {};
        check("SCardListReaders", rv);
        std::string buffer(size, '\0');
        rv = SCardListReaders(handle_, nullptr, buffer.data(), &size);
        if (rv == SCARD_E_NO_READERS_AVAILABLE)
            return {};
        if (rv == SCARD_E_INSUFFICIENT_BUFFER)
            continue;
        check("SCardListReaders", rv);
        std::vector<std::string> names;
        std::size_t start = 0;
        while (start < buffer.size() && buffer[start] != '\0') {
            const std::size_t end = buffer.find('\0', start);
            names.push_back(buffer.substr(start, end - start));
            start = end + 1;
        }
        return names;
    }
    throw_error("SCardListReaders", SCARD_E_INSUFFICIENT_BUFFER);
}

ReaderStatus Context::status_of(const std::string& reader) const {
    SCARD_READERSTATE rs{};
    rs.szReader = reader.c_str();
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    check("SCardGetStatusChange", SCardGetStatusChange(handle_, 0, &rs, 1));
    return to_status(rs);
}

std::optional<ReaderStatus> Context::wait_for_change(const ReaderStatus& known,
                                                     std::chrono::milliseconds timeout) const {
    SCARD_READERSTATE rs{};
    rs.szReader = known.reader.c_str();
    rs.dwCurrentState = known.state.raw & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    const LONG rv = SCardGetStatusChange(handle_, to_dword_ms(timeout), &rs, 1);
    if (rv == SCARD_E_TIMEOUT)
        return std::nullopt;
    check("SCardGetStatusChange", rv);
    return to_status(rs);
}

bool Context::wait_for_card(const std::string& reader, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    ReaderStatus s = status_of(reader);
    while (!s.state.present) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        auto next = wait_for_change(s, left);
        if (!next)
            return false;
        s = std::move(*next);
    }
    return true;
}

bool Context::wait_for_removal(const std::string& reader, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    ReaderStatus s = status_of(reader);
    while (s.state.present) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        auto next = wait_for_change(s, left);
        if (!next)
            return false;
        s = std::move(*next);
    }
    return true;
}

bool reader_gone_within(long context, const std::string& reader,
                        std::chrono::milliseconds timeout) {
    SCARD_READERSTATE rs{};
    rs.szReader = reader.c_str();
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    DWORD wait_ms = 0; // the state now, then its changes until the deadline
    for (;;) {
        const LONG rv = SCardGetStatusChange(context, wait_ms, &rs, 1);
        // pcsc-lite 1.9 answers SCARD_E_UNKNOWN_READER; SCARD_STATE_UNKNOWN is the PC/SC way.
        if (rv == SCARD_E_UNKNOWN_READER ||
            (rv == SCARD_S_SUCCESS && (rs.dwEventState & SCARD_STATE_UNKNOWN) != 0))
            return true;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if ((rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) || left.count() <= 0)
            return false;
        rs.dwCurrentState = rs.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
        wait_ms = to_dword_ms(left);
    }
}

bool Context::wait_for_reader_gone(const std::string& reader,
                                   std::chrono::milliseconds timeout) const {
    return reader_gone_within(handle_, reader, timeout);
}

bool Context::wait_for_reader_change(std::chrono::milliseconds timeout) const {
    SCARD_READERSTATE rs{};
    rs.szReader = "\\\\?PnP?\\Notification";
    rs.dwCurrentState = static_cast<DWORD>(list_readers().size()) << 16;
    const LONG rv = SCardGetStatusChange(handle_, to_dword_ms(timeout), &rs, 1);
    if (rv == SCARD_E_TIMEOUT)
        return false;
    check("SCardGetStatusChange", rv);
    return true;
}

void Context::cancel() const {
    SCardCancel(handle_);
}

} // namespace harness::pcsc
