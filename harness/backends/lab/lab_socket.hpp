#pragma once
// The lab process's Unix socket: a server answering the lab wire protocol (pure/lab_wire.hpp)
// with a services/lab Lab, and the client the `cardharness lab` commands use.
#include "pure/lab_wire.hpp"
#include "services/lab/lab.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>

namespace harness::labd {

// One request, one reply. Throws EnvironmentError when the lab does not answer.
labwire::Reply call(const std::filesystem::path& socket, const labwire::Request& request,
                    std::chrono::seconds timeout = std::chrono::seconds(10));

class Server {
public:
    // Binds and listens (replacing a stale socket file); throws EnvironmentError on failure.
    Server(lab::Lab& lab, std::filesystem::path socket, lab::Logger log = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Serves until a Stop request arrives or stop() is called (one thread per connection).
    void run();
    void stop() { stopping_ = true; }
    bool stopped() const { return stopping_; }
    const std::filesystem::path& socket() const { return socket_; }

private:
    void serve(int fd);

    lab::Lab& lab_;
    std::filesystem::path socket_;
    lab::Logger log_;
    int listen_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<int> active_{0};
};

} // namespace harness::labd
