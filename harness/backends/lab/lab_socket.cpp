#include "backends/lab/lab_socket.hpp"

#include "backends/fd_io.hpp"
#include "pure/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace harness::labd {
namespace {

using fdio::Fd;

sockaddr_un address_of(const std::filesystem::path& socket) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = socket.string();
    if (path.size() >= sizeof(address.sun_path))
        throw UsageError(
            fmt::format("lab socket path is longer than {} bytes: {} (use a shorter --dir)",
                        sizeof(address.sun_path) - 1, path));
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

void set_timeouts(int fd, std::chrono::seconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool send_all(int fd, const Bytes& bytes) {
    return fdio::send_all(fd, bytes.data(), bytes.size());
}

using fdio::receive_all;

std::optional<Bytes> receive_frame(int fd) {
    std::uint8_t header[labwire::header_length];
    if (!receive_all(fd, header, sizeof header))
        return std::nullopt;
    const auto length = labwire::body_length(ByteView(header, sizeof header));
    if (!length)
        return std::nullopt;
    Bytes body(*length);
    if (!receive_all(fd, body.data(), body.size()))
        return std::nullopt;
    return body;
}

} // namespace

labwire::Reply call(const std::filesystem::path& socket, const labwire::Request& request,
                    std::chrono::seconds timeout) {
    const sockaddr_un address = address_of(socket);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        throw EnvironmentError(fmt::format("lab: socket(): {}", std::strerror(errno)));
    set_timeouts(fd.get(), timeout);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throw EnvironmentError(
            fmt::format("no lab answers at {} ({}); start one with `cardharness lab start`",
                        socket.string(), std::strerror(errno)));
    if (!send_all(fd.get(), labwire::frame(labwire::encode_body(request))))
        throw EnvironmentError("lab: the lab closed the connection");
    const auto body = receive_frame(fd.get());
    if (!body)
        throw EnvironmentError("lab: no answer from the lab process");
    std::string why;
    auto reply = labwire::decode_reply(*body, &why);
    if (!reply)
        throw EnvironmentError("lab: malformed answer: " + why);
    return *reply;
}

Server::Server(lab::Lab& lab, std::filesystem::path socket, lab::Logger log, Notify notify)
    : lab_(lab), socket_(std::move(socket)), log_(std::move(log)), notify_(std::move(notify)) {
    const sockaddr_un address = address_of(socket_);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw EnvironmentError(fmt::format("lab: pipe2(): {}", std::strerror(errno)));
    wake_read_ = pipe_fds[0];
    wake_write_ = pipe_fds[1];
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        const int error = errno;
        ::close(wake_read_);
        ::close(wake_write_);
        throw EnvironmentError(fmt::format("lab: socket(): {}", std::strerror(error)));
    }
    ::unlink(socket_.c_str());
    // Owner-only before anyone can connect (connect() needs write permission on the socket file;
    // listen() comes after the chmod). Whoever reaches this socket reaches the lab's cards.
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::chmod(socket_.c_str(), 0600) != 0 || ::listen(listen_fd_, 64) != 0) {
        const int error = errno;
        ::close(listen_fd_);
        ::close(wake_read_);
        ::close(wake_write_);
        throw EnvironmentError(
            fmt::format("lab: cannot listen on {}: {}", socket_.string(), std::strerror(error)));
    }
}

Server::~Server() {
    stop();
    {
        // Connection threads hold a reference to the lab: let them finish (they were woken).
        std::unique_lock lock(mutex_);
        done_.wait_for(lock, std::chrono::seconds(10), [&] { return active_ == 0; });
    }
    ::close(listen_fd_);
    ::unlink(socket_.c_str());
    ::close(wake_read_);
    ::close(wake_write_);
}

void Server::wake() {
    const char c = 'w';
    [[maybe_unused]] const auto n = ::write(wake_write_, &c, 1);
}

void Server::stop() {
    stopping_ = true;
    lab_.close();
    wake();
    std::lock_guard lock(mutex_);
    for (const int fd : open_)
        ::shutdown(fd, SHUT_RDWR); // the thread sees end of file and closes it
}

void Server::run() {
    while (!stopping_) {
        pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
        const int ready = ::poll(p, 2, -1);
        if (ready <= 0 || (p[0].revents & POLLIN) == 0)
            continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                ::close(fd);
                break;
            }
            open_.insert(fd);
            ++active_;
            ++accepted_;
        }
        try {
            std::thread([this, fd] {
                serve(fd);
                std::lock_guard lock(mutex_);
                open_.erase(fd);
                ::close(fd);
                --active_;
                done_.notify_all();
            }).detach();
        } catch (const std::system_error& e) {
            if (log_)
                log_(fmt::format("cannot start a connection thread: {}", e.what()));
            std::lock_guard lock(mutex_);
            open_.erase(fd);
            ::close(fd);
            --active_;
        }
    }
}

void Server::serve(int fd) {
    // No receive timeout: a reader's connection is idle for as long as pcscd does not call.
    // A send that cannot complete in 30 s means the peer is stuck; the connection is dropped.
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (!stopping_) {
        const auto body = receive_frame(fd);
        if (!body)
            return;
        std::string why;
        const auto request = labwire::decode_request(*body, &why);
        ++requests_;
        labwire::Reply reply;
        if (!request) {
            reply = {ifd::Code::BadRequest, bytes_of("malformed request: " + why)};
        } else if (request->op == labwire::Op::Insert && (request->arg & 1U) != 0 &&
                   !refuse_citizen_.empty()) {
            reply = {ifd::Code::BadRequest, bytes_of(refuse_citizen_)};
        } else if (request->op == labwire::Op::Stop) {
            if (log_)
                log_("stop requested");
            reply = {ifd::Code::Success, {}};
        } else {
            reply = lab_.handle(*request);
        }
        const bool sent = send_all(fd, labwire::frame(labwire::encode_body(reply)));
        if (request && request->op == labwire::Op::Stop) {
            stopping_ = true;
            wake();
        }
        if (request && notify_)
            notify_(request->op);
        if (!sent || !request)
            return;
    }
}

} // namespace harness::labd
