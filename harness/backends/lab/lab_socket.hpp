#pragma once
// The lab process's Unix socket: a server answering the lab wire protocol (pure/lab_wire.hpp)
// with a services/lab Lab, and the one-shot client the `cardharness lab` commands use.
// Connections are persistent: the reader driver keeps one per reader for its calls and one per
// reader for IFDHPolling; each connection has one thread that answers its requests in order.
#include "pure/lab_wire.hpp"
#include "services/lab/lab.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>

namespace harness::labd {

// One request, one reply, on a connection of its own. Throws EnvironmentError when the lab
// does not answer.
labwire::Reply call(const std::filesystem::path& socket, const labwire::Request& request,
                    std::chrono::seconds timeout = std::chrono::seconds(10));

class Server {
public:
    // Called after each answered request (on the connection's thread) and once a Stop request
    // has been answered; the lab process uses it to wake its main loop.
    using Notify = std::function<void(labwire::Op op)>;

    // Binds and listens (replacing a stale socket file); the socket is owner-only (0600).
    // Throws EnvironmentError on failure.
    Server(lab::Lab& lab, std::filesystem::path socket, lab::Logger log = {}, Notify notify = {});
    ~Server(); // stop(), then waits (bounded) for the connection threads
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Serves until a Stop request arrives or stop() is called (one thread per connection).
    void run();
    // Ends run() and every connection: closes the lab (wakes waiting requests) and shuts the
    // connections down. Thread-safe, idempotent.
    void stop();
    // Refuse Insert requests for citizen cards (the lab serves the system pcscd, whose socket is
    // open to every local user). Call before run().
    void refuse_citizen_cards(std::string why) { refuse_citizen_ = std::move(why); }
    bool stopped() const { return stopping_; }
    const std::filesystem::path& socket() const { return socket_; }
    int connections() const { return active_; } // open connections right now
    // Since the start: connections accepted and requests answered (the driver keeps its
    // connections, so the first stays near 2 per reader however many calls pcscd makes).
    std::uint64_t accepted() const { return accepted_; }
    std::uint64_t requests() const { return requests_; }

private:
    void serve(int fd);
    void wake();

    lab::Lab& lab_;
    std::filesystem::path socket_;
    lab::Logger log_;
    Notify notify_;
    std::string refuse_citizen_; // non-empty: why citizen cards are refused
    int listen_fd_ = -1;
    int wake_read_ = -1;
    int wake_write_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<int> active_{0};
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::mutex mutex_; // guards open_ and signals done_
    std::condition_variable done_;
    std::set<int> open_;
};

} // namespace harness::labd
