#include "backends/lab/lab_socket.hpp"

#include "backends/fd_io.hpp"
#include "pure/error.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/core.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
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

Server::Server(lab::Lab& lab, std::filesystem::path socket, lab::Logger log)
    : lab_(lab), socket_(std::move(socket)), log_(std::move(log)) {
    const sockaddr_un address = address_of(socket_);
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0)
        throw EnvironmentError(fmt::format("lab: socket(): {}", std::strerror(errno)));
    ::unlink(socket_.c_str());
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
        const int error = errno;
        ::close(listen_fd_);
        throw EnvironmentError(
            fmt::format("lab: cannot listen on {}: {}", socket_.string(), std::strerror(error)));
    }
    ::chmod(socket_.c_str(), 0660);
}

Server::~Server() {
    if (listen_fd_ >= 0)
        ::close(listen_fd_);
    ::unlink(socket_.c_str());
    // Connection threads hold a reference to the lab: let them finish (bounded by their timeouts).
    for (int i = 0; i < 200 && active_ > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void Server::run() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, 200);
        if (ready <= 0)
            continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        ++active_;
        std::thread([this, fd] {
            serve(fd);
            ::close(fd);
            --active_;
        }).detach();
    }
}

void Server::serve(int fd) {
    set_timeouts(fd, std::chrono::seconds(30));
    const auto body = receive_frame(fd);
    if (!body)
        return;
    std::string why;
    const auto request = labwire::decode_request(*body, &why);
    labwire::Reply reply;
    if (!request) {
        reply = {ifd::Code::BadRequest, bytes_of("malformed request: " + why)};
    } else if (request->op == labwire::Op::Stop) {
        if (log_)
            log_("stop requested");
        stopping_ = true;
        reply = {ifd::Code::Success, {}};
    } else {
        reply = lab_.handle(*request);
    }
    send_all(fd, labwire::frame(labwire::encode_body(reply)));
}

} // namespace harness::labd
