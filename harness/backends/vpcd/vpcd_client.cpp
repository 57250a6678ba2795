#include "backends/vpcd/vpcd_client.hpp"

#include "backends/fd_io.hpp"
#include "io/card_channel.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace harness::vpcd {

namespace {

constexpr char wake_stop = 'S';
constexpr char wake_remove = 'R';
constexpr char wake_insert = 'I';

using fdio::Fd;

bool write_all(int fd, ByteView bytes) {
    return fdio::send_all(fd, bytes.data(), bytes.size());
}

} // namespace

std::string Endpoint::to_string() const {
    if (host.find(':') != std::string::npos)
        return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

Endpoint parse_endpoint(std::string_view text) {
    Endpoint endpoint;
    std::string_view port_text = text;
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        std::string_view host = text.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        if (host.empty())
            throw UsageError(fmt::format("vpcd address '{}': expected HOST:PORT", text));
        endpoint.host = std::string(host);
        port_text = text.substr(colon + 1);
    }
    unsigned value = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, value);
    if (port_text.empty() || ec != std::errc{} || ptr != end || value == 0 || value > 65535)
        throw UsageError(
            fmt::format("vpcd address '{}': expected a port number 1-65535 after the host", text));
    endpoint.port = static_cast<std::uint16_t>(value);
    return endpoint;
}

std::optional<io::CardResponse> answer(io::VirtualCard& card, const Message& message,
                                       ServeStats& stats) {
    switch (message.kind) {
    case MessageKind::PowerOff:
        ++stats.controls;
        card.power_off();
        return std::nullopt;
    case MessageKind::PowerOn:
        ++stats.controls;
        card.power_on();
        return std::nullopt;
    case MessageKind::Reset:
        ++stats.controls;
        card.reset(false);
        return std::nullopt;
    case MessageKind::GetAtr: {
        ++stats.controls;
        io::CardResponse atr{card.atr(), {}};
        if (atr.apdu.empty())
            throw Error(fmt::format("virtual card '{}' has an empty ATR; vpcd needs one",
                                    card.profile_name()));
        return atr;
    }
    case MessageKind::Apdu: {
        ++stats.apdus;
        io::CardResponse response;
        try {
            response = card.transmit(message.payload);
        } catch (const io::TransportError&) {
            // The card cannot answer (e.g. not powered); vpcd has no way to carry an error and
            // an empty answer hangs the slot, so it gets "no precise diagnosis" instead.
            ++stats.card_errors;
            response.apdu = {0x6F, 0x00};
        }
        if (response.apdu.empty()) {
            ++stats.empty_card_answers;
            response.apdu = {0x6F, 0x00}; // ISO 7816-4 §5.1.3: no precise diagnosis
        }
        return response;
    }
    case MessageKind::UnknownControl:
    case MessageKind::Empty:
        ++stats.controls;
        return std::nullopt;
    }
    return std::nullopt;
}

Client::Client(io::VirtualCard& card, Endpoint endpoint, ClientOptions options)
    : card_(card), endpoint_(std::move(endpoint)), options_(std::move(options)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw EnvironmentError(fmt::format("vpcd client: pipe2 failed: {}", std::strerror(errno)));
    wake_read_ = fds[0];
    wake_write_ = fds[1];
}

Client::~Client() {
    ::close(wake_read_);
    ::close(wake_write_);
}

void Client::stop() noexcept {
    const char c = wake_stop;
    [[maybe_unused]] const auto n = ::write(wake_write_, &c, 1);
}

void Client::remove_card() noexcept {
    const char c = wake_remove;
    [[maybe_unused]] const auto n = ::write(wake_write_, &c, 1);
}

void Client::insert_card() noexcept {
    const char c = wake_insert;
    [[maybe_unused]] const auto n = ::write(wake_write_, &c, 1);
}

void Client::say(std::string_view line) const {
    if (options_.log)
        options_.log(line);
}

Client::Wake Client::drain_wake_pipe() {
    Wake last = Wake::None;
    char buffer[64];
    for (;;) {
        const ssize_t n = ::read(wake_read_, buffer, sizeof buffer);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i) {
            switch (buffer[i]) {
            case wake_stop:
                stopping_ = true;
                last = Wake::Stop;
                break;
            case wake_remove:
                removed_ = true;
                if (last != Wake::Stop)
                    last = Wake::Remove;
                break;
            case wake_insert:
                removed_ = false;
                if (last != Wake::Stop)
                    last = Wake::Insert;
                break;
            default:
                break;
            }
        }
    }
    return last;
}

Client::Wake Client::sleep_interruptible(std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{wake_read_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0)));
        if (r > 0)
            return drain_wake_pipe();
        if (r == 0 && std::chrono::steady_clock::now() >= deadline)
            return Wake::None;
        if (r < 0 && errno != EINTR)
            return Wake::None;
        // EINTR (a signal handler may just have written to the pipe) or an early wake: poll again.
    }
}

int Client::connect_once() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(endpoint_.port);
    const int gai = ::getaddrinfo(endpoint_.host.c_str(), port.c_str(), &hints, &found);
    if (gai != 0)
        throw EnvironmentError(fmt::format("vpcd client: cannot resolve '{}': {}", endpoint_.host,
                                           ::gai_strerror(gai)));
    int fd = -1;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd >= 0) {
        // Each APDU is one small write answered by one small read: Nagle would add ~40 ms each.
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    return fd;
}

void Client::serve_connection(int fd, ServeStats& stats) {
    FrameDecoder decoder;
    std::uint8_t buffer[4096];
    for (;;) {
        pollfd p[2] = {{fd, POLLIN, 0}, {wake_read_, POLLIN, 0}};
        const int r = ::poll(p, 2, -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[1].revents != 0) {
            drain_wake_pipe();
            if (stopping_ || removed_)
                return;
        }
        if (p[0].revents == 0)
            continue;
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; // vpcd closed the slot (pcscd stopped) or the socket failed
        // vpcd writes the 2-byte length and the APDU separately, with Nagle on: its second write
        // waits for our ACK of the first. Linux leaves quick-ACK mode again on its own, so it is
        // set after every receive; otherwise the delayed ACK (40 ms) stalls every APDU.
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        decoder.feed(ByteView(buffer, static_cast<std::size_t>(n)));
        while (auto payload = decoder.next()) {
            const std::uint64_t empty_before = stats.empty_card_answers;
            const auto reply = answer(card_, classify(*payload), stats);
            if (!reply)
                continue;
            if (stats.empty_card_answers != empty_before)
                say("card gave an empty response; answered 6F 00 instead");
            if (options_.honour_processing_time && reply->processing_time.count() > 0) {
                const auto ms =
                    std::chrono::duration_cast<std::chrono::milliseconds>(reply->processing_time);
                if (ms.count() > 0) {
                    sleep_interruptible(ms);
                    if (stopping_ || removed_)
                        return;
                } else {
                    std::this_thread::sleep_for(reply->processing_time);
                }
            }
            if (!write_all(fd, encode_frame(reply->apdu)))
                return;
        }
    }
}

ServeStats Client::serve() {
    ServeStats stats;
    auto backoff = options_.backoff_initial;
    auto waiting_since = std::chrono::steady_clock::now();
    bool announced_wait = false;
    drain_wake_pipe();
    while (!stopping_) {
        if (removed_) {
            const Wake w = sleep_interruptible(std::chrono::milliseconds(1000));
            (void)w;
            waiting_since = std::chrono::steady_clock::now();
            continue;
        }
        const int raw = connect_once();
        if (raw < 0) {
            if (!announced_wait) {
                say(fmt::format("waiting for vpcd at {}", endpoint_.to_string()));
                announced_wait = true;
            }
            if (options_.connect_timeout &&
                std::chrono::steady_clock::now() - waiting_since > *options_.connect_timeout)
                throw EnvironmentError(
                    fmt::format("vpcd at {} did not accept a connection within {} ms",
                                endpoint_.to_string(), options_.connect_timeout->count()));
            sleep_interruptible(backoff);
            backoff = std::min(backoff * 2, options_.backoff_max);
            continue;
        }
        Fd fd(raw);
        ++stats.connections;
        backoff = options_.backoff_initial;
        announced_wait = false;
        connected_ = true;
        say(fmt::format("connected to vpcd at {} (card inserted)", endpoint_.to_string()));
        try {
            serve_connection(fd.get(), stats);
        } catch (...) {
            connected_ = false;
            throw;
        }
        connected_ = false;
        say(stopping_  ? "stopping (card removed)"
            : removed_ ? "card removed on request"
                       : fmt::format("vpcd at {} closed the connection", endpoint_.to_string()));
        if (!options_.reconnect && !removed_)
            break;
        waiting_since = std::chrono::steady_clock::now();
    }
    return stats;
}

} // namespace harness::vpcd
