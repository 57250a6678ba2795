// The vpcd client against a real local TCP listener that plays vpcd's side of the wire.
#include "backends/vpcd/vpcd_client.hpp"
#include "io/card_channel.hpp"
#include "pure/error.hpp"

#include <arpa/inet.h>
#include <boost/test/unit_test.hpp>
#include <future>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace harness;
using namespace std::chrono_literals;

namespace {

class TinyCard : public io::VirtualCard {
public:
    Bytes power_on() override {
        ++power_ons;
        return atr();
    }
    void power_off() override { ++power_offs; }
    Bytes reset(bool) override {
        ++resets;
        return atr();
    }
    Bytes atr() const override { return atr_bytes; }
    io::CardResponse transmit(ByteView command) override {
        Bytes c(command.begin(), command.end());
        if (c.size() >= 2 && c[1] == 0xEE)
            return {{}, {}}; // a broken card that answers nothing
        if (c.size() >= 2 && c[1] == 0xDD)
            throw io::TransportError(io::TransportFailure::Unresponsive, "transmit", 0, "off");
        if (c.size() >= 2 && c[1] == 0x2A)
            return {Bytes{0x90, 0x00}, 30ms}; // a slow card
        Bytes r(c.rbegin(), c.rend());
        r.push_back(0x90);
        r.push_back(0x00);
        return {r, {}};
    }
    std::string profile_name() const override { return "tiny"; }

    Bytes atr_bytes{0x3B, 0x80, 0x80, 0x01, 0x01};
    int power_ons = 0, power_offs = 0, resets = 0;
};

// A listening socket on 127.0.0.1 with a kernel-chosen port.
struct Listener {
    int fd = -1;
    std::uint16_t port = 0;
    Listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        BOOST_REQUIRE(::listen(fd, 4) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~Listener() { ::close(fd); }
    int accept_one() const {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1)
            return -1;
        return ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    }
};

void send_payload(int fd, const Bytes& payload) {
    const Bytes frame = vpcd::encode_frame(payload);
    BOOST_REQUIRE(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(frame.size()));
}

Bytes receive_payload(int fd) {
    vpcd::FrameDecoder decoder;
    std::uint8_t buffer[1024];
    for (;;) {
        if (auto payload = decoder.next())
            return *payload;
        pollfd p{fd, POLLIN, 0};
        BOOST_REQUIRE(::poll(&p, 1, 5000) == 1);
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        BOOST_REQUIRE(n > 0);
        decoder.feed(ByteView(buffer, static_cast<std::size_t>(n)));
    }
}

bool nothing_pending(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 100) == 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(parses_endpoints) {
    BOOST_TEST(vpcd::parse_endpoint("localhost:35963").host == "localhost");
    BOOST_TEST(vpcd::parse_endpoint("localhost:35963").port == 35963);
    BOOST_TEST(vpcd::parse_endpoint("35964").host == "127.0.0.1");
    BOOST_TEST(vpcd::parse_endpoint("35964").port == 35964);
    BOOST_TEST(vpcd::parse_endpoint("[::1]:40000").host == "::1");
    BOOST_TEST(vpcd::parse_endpoint("[::1]:40000").to_string() == "[::1]:40000");
    for (const char* bad : {"", "host:", ":123", "host:0", "host:65536", "host:12x", "host"})
        BOOST_CHECK_THROW(vpcd::parse_endpoint(bad), UsageError);
}

BOOST_AUTO_TEST_CASE(answers_controls_and_apdus_like_vicc) {
    TinyCard card;
    vpcd::ServeStats stats;
    BOOST_TEST(!vpcd::answer(card, vpcd::classify(Bytes{0x01}), stats).has_value());
    BOOST_TEST(card.power_ons == 1);
    BOOST_TEST(!vpcd::answer(card, vpcd::classify(Bytes{0x02}), stats).has_value());
    BOOST_TEST(card.resets == 1);
    BOOST_TEST(!vpcd::answer(card, vpcd::classify(Bytes{0x00}), stats).has_value());
    BOOST_TEST(card.power_offs == 1);
    BOOST_TEST(vpcd::answer(card, vpcd::classify(Bytes{0x04}), stats)->apdu == card.atr_bytes);
    BOOST_TEST(vpcd::answer(card, vpcd::classify(Bytes{0x00, 0x01}), stats)->apdu ==
               (Bytes{0x01, 0x00, 0x90, 0x00}));
    // Never a 0-length answer: it would hang the vpcd slot.
    BOOST_TEST(vpcd::answer(card, vpcd::classify(Bytes{0x00, 0xEE}), stats)->apdu ==
               (Bytes{0x6F, 0x00}));
    BOOST_TEST(stats.empty_card_answers == 1u);
    BOOST_TEST(vpcd::answer(card, vpcd::classify(Bytes{0x00, 0xDD}), stats)->apdu ==
               (Bytes{0x6F, 0x00}));
    BOOST_TEST(stats.card_errors == 1u);
    BOOST_TEST(stats.apdus == 3u);
    card.atr_bytes.clear();
    BOOST_CHECK_THROW(vpcd::answer(card, vpcd::classify(Bytes{0x04}), stats), Error);
}

BOOST_AUTO_TEST_CASE(serves_a_slot_reconnects_and_stops) {
    TinyCard card;
    Listener vpcd_side;
    vpcd::ClientOptions options;
    options.backoff_initial = 10ms;
    options.backoff_max = 50ms;
    vpcd::Client client(card, vpcd::Endpoint{"127.0.0.1", vpcd_side.port}, options);
    auto served = std::async(std::launch::async, [&] { return client.serve(); });

    int fd = vpcd_side.accept_one();
    BOOST_REQUIRE(fd >= 0);
    send_payload(fd, Bytes{0x01}); // power on: no answer
    BOOST_TEST(nothing_pending(fd));
    send_payload(fd, Bytes{0x04});
    BOOST_TEST(receive_payload(fd) == card.atr_bytes);
    send_payload(fd, Bytes{0x00, 0xA4, 0x04});
    BOOST_TEST(receive_payload(fd) == (Bytes{0x04, 0xA4, 0x00, 0x90, 0x00}));
    const Bytes big(300, 0x42);
    send_payload(fd, big);
    BOOST_TEST(receive_payload(fd).size() == 302u);
    const auto t0 = std::chrono::steady_clock::now();
    send_payload(fd, Bytes{0x80, 0x2A, 0x00, 0x80});
    BOOST_TEST(receive_payload(fd) == (Bytes{0x90, 0x00}));
    BOOST_TEST((std::chrono::steady_clock::now() - t0) >= 30ms); // processing time honoured
    ::close(fd); // pcscd went away: the client connects again

    fd = vpcd_side.accept_one();
    BOOST_REQUIRE(fd >= 0);
    send_payload(fd, Bytes{0x04});
    BOOST_TEST(receive_payload(fd) == card.atr_bytes);

    client.remove_card(); // the card is pulled: the connection closes
    std::uint8_t byte = 0;
    pollfd p{fd, POLLIN, 0};
    BOOST_REQUIRE(::poll(&p, 1, 5000) == 1);
    BOOST_TEST(::recv(fd, &byte, 1, 0) == 0);
    ::close(fd);
    client.insert_card();
    fd = vpcd_side.accept_one();
    BOOST_REQUIRE(fd >= 0);
    send_payload(fd, Bytes{0x04});
    BOOST_TEST(receive_payload(fd) == card.atr_bytes);

    client.stop();
    BOOST_REQUIRE(served.wait_for(5s) == std::future_status::ready);
    const auto stats = served.get();
    BOOST_TEST(stats.connections == 3u);
    BOOST_TEST(stats.apdus == 3u);
    ::close(fd);
}

BOOST_AUTO_TEST_CASE(waits_for_vpcd_then_gives_up_when_asked) {
    TinyCard card;
    std::uint16_t port = 0;
    {
        Listener probe; // take a free port, then close it: nobody listens there now
        port = probe.port;
    }
    vpcd::ClientOptions options;
    options.backoff_initial = 10ms;
    options.backoff_max = 20ms;
    options.connect_timeout = 200ms;
    vpcd::Client client(card, vpcd::Endpoint{"127.0.0.1", port}, options);
    BOOST_CHECK_THROW(client.serve(), EnvironmentError);
}

BOOST_AUTO_TEST_CASE(returns_after_disconnect_without_reconnect) {
    TinyCard card;
    Listener vpcd_side;
    vpcd::ClientOptions options;
    options.reconnect = false;
    vpcd::Client client(card, vpcd::Endpoint{"127.0.0.1", vpcd_side.port}, options);
    auto served = std::async(std::launch::async, [&] { return client.serve(); });
    const int fd = vpcd_side.accept_one();
    BOOST_REQUIRE(fd >= 0);
    send_payload(fd, Bytes{0x04});
    BOOST_TEST(receive_payload(fd) == card.atr_bytes);
    ::close(fd);
    BOOST_REQUIRE(served.wait_for(5s) == std::future_status::ready);
    BOOST_TEST(served.get().connections == 1u);
}
