#include "services/identify/salt_file.hpp"

#include "pure/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness::identify {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

// Reads the whole file (at most salt_size + 1 bytes: enough to tell a wrong size).
Bytes read_salt(const std::filesystem::path& file, int fd) {
    Bytes bytes(salt_size + 1);
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw EnvironmentError(
                fmt::format("cannot read salt file {}: {}", file.string(), errno_text()));
        if (n == 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    return bytes;
}

void write_all(const std::filesystem::path& file, int fd, ByteView bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw EnvironmentError(
                fmt::format("cannot write salt file {}: {}", file.string(), errno_text()));
        done += static_cast<std::size_t>(n);
    }
}

struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};

} // namespace

std::filesystem::path salt_file_for(const std::filesystem::path& db_path) {
    auto file = db_path;
    file += ".salt";
    return file;
}

FileSaltStore::FileSaltStore(std::filesystem::path db_path) : file_(salt_file_for(db_path)) {}

// Writes a fresh salt to a private temporary file, then link()s it into place: link fails when
// the salt exists already, so two first runs never end up with different salts.
void FileSaltStore::create_once() {
    auto tmp = file_;
    tmp += fmt::format(".tmp.{}", ::getpid());
    Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (out.fd < 0)
        throw EnvironmentError(
            fmt::format("cannot create salt file {}: {}", tmp.string(), errno_text()));
    Bytes fresh(salt_size);
    if (RAND_bytes(fresh.data(), static_cast<int>(fresh.size())) != 1)
        throw EnvironmentError("OpenSSL could not produce random bytes for the salt");
    write_all(tmp, out.fd, fresh);
    const bool synced = ::fsync(out.fd) == 0;
    const int link_result = synced ? ::link(tmp.c_str(), file_.c_str()) : -1;
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (!synced || (link_result != 0 && link_errno != EEXIST))
        throw EnvironmentError(fmt::format("cannot create salt file {}: {}", file_.string(),
                                           std::strerror(link_errno)));
}

io::Salt FileSaltStore::salt() {
    if (file_.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(file_.parent_path(), ec);
        if (ec)
            throw EnvironmentError(fmt::format("cannot create folder {} for the salt file: {}",
                                               file_.parent_path().string(), ec.message()));
    }
    if (!std::filesystem::exists(file_))
        create_once();

    Fd existing{::open(file_.c_str(), O_RDONLY | O_CLOEXEC)};
    if (existing.fd < 0)
        throw EnvironmentError(
            fmt::format("cannot open salt file {}: {}", file_.string(), errno_text()));
    Bytes bytes = read_salt(file_, existing.fd);
    if (bytes.size() != salt_size)
        throw ConfigError(
            fmt::format("{}:1:1: expected exactly {} bytes of salt, found {}{}", file_.string(),
                        salt_size, bytes.size() > salt_size ? "more" : "",
                        bytes.size() > salt_size ? "" : std::to_string(bytes.size())));
    return io::Salt{std::move(bytes)};
}

} // namespace harness::identify
