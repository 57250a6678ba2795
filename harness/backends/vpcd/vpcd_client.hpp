#pragma once
// Serves an io::VirtualCard to one vpcd slot over TCP (vsmartcard vpcd in its default mode
// listens on PORT; we connect to it, as vicc does). Closing the socket is card removal.
#include "io/virtual_card.hpp"
#include "pure/vpcd_wire.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace harness::vpcd {

struct Endpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 35963; // vpcd's default first slot
    std::string to_string() const;
};

// "HOST:PORT", "[v6addr]:PORT" or "PORT" (host 127.0.0.1). Throws harness::UsageError.
Endpoint parse_endpoint(std::string_view text);

struct ServeStats {
    std::uint64_t connections = 0;
    std::uint64_t apdus = 0;
    std::uint64_t controls = 0;
    std::uint64_t empty_card_answers = 0; // card answered nothing; replaced by 6F 00
    std::uint64_t card_errors = 0;        // card threw io::TransportError; answered 6F 00 too
};

// The answer to one vpcd message (with the card's processing time), or nullopt when none is due
// (power on/off, reset). Never empty: an empty card response, or a card that throws
// io::TransportError (not powered), becomes 6F 00 (counted in stats); an empty ATR throws
// harness::Error.
std::optional<io::CardResponse> answer(io::VirtualCard& card, const Message& message,
                                       ServeStats& stats);

struct ClientOptions {
    std::chrono::milliseconds backoff_initial{50};
    std::chrono::milliseconds backoff_max{1000};
    // Give up (EnvironmentError) when no connection succeeded for this long; nullopt: keep trying.
    std::optional<std::chrono::milliseconds> connect_timeout;
    // After vpcd closes the connection (pcscd stopped), connect again; otherwise serve() returns.
    bool reconnect = true;
    // Delay answers by the card's processing_time (emulates slow cards, e.g. RSA-2048 signing).
    bool honour_processing_time = true;
    std::function<void(std::string_view)> log; // progress lines, no APDU contents
};

class Client {
public:
    Client(io::VirtualCard& card, Endpoint endpoint, ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Blocks until stop(), or (reconnect == false) until vpcd closes the connection.
    ServeStats serve();

    // Thread-safe and async-signal-safe (one write() to a pipe).
    void stop() noexcept;
    // Card removal: close the connection and stay away until insert_card(). Thread-safe.
    void remove_card() noexcept;
    void insert_card() noexcept;

    bool connected() const { return connected_.load(); }
    const Endpoint& endpoint() const { return endpoint_; }

private:
    enum class Wake { None, Stop, Remove, Insert };
    Wake drain_wake_pipe();
    int connect_once();
    void serve_connection(int fd, ServeStats& stats);
    // Sleeps up to `duration` unless woken; returns the wake command (None on timeout).
    Wake sleep_interruptible(std::chrono::milliseconds duration);
    void say(std::string_view line) const;

    io::VirtualCard& card_;
    Endpoint endpoint_;
    ClientOptions options_;
    int wake_read_ = -1;
    int wake_write_ = -1;
    bool stopping_ = false;
    bool removed_ = false;
    std::atomic<bool> connected_{false};
};

} // namespace harness::vpcd
