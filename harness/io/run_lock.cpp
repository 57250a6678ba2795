#include "io/run_lock.hpp"

#include "io/paths.hpp"
#include "io/process.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <fstream>
#include <sys/file.h>
#include <system_error>
#include <unistd.h>

namespace harness::io {
namespace fs = std::filesystem;

namespace {

std::uint32_t fnv1a(const std::string& text) {
    std::uint32_t h = 2166136261U;
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619U;
    }
    return h;
}

std::string holder_text(const LockHolder& h) {
    return fmt::format("host={}\npid={}\nprocess_start={}\nstarted_at={}\nrun={}\n", h.owner.host,
                       h.owner.pid, h.owner.process_start, h.started_at, h.run);
}

void write_holder(int fd, const LockHolder& h) {
    const std::string text = holder_text(h);
    if (::ftruncate(fd, 0) != 0)
        return;
    // The record is a courtesy for the message of a second run: a failed write loses nothing.
    (void)!::pwrite(fd, text.data(), text.size(), 0);
}

} // namespace

std::string lock_file_name(const std::string& key) {
    std::string name;
    for (const char c : key) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.';
        name += keep ? c : '_';
    }
    if (name.size() > 80)
        name.resize(80);
    return fmt::format("{}-{:08x}.lock", name, fnv1a(key));
}

LockHolder read_holder(const fs::path& file) {
    LockHolder h;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            continue;
        const std::string key = line.substr(0, eq);
        const std::string value = line.substr(eq + 1);
        if (key == "host")
            h.owner.host = value;
        else if (key == "pid")
            try {
                h.owner.pid = std::stoll(value);
            } catch (const std::exception&) {
            }
        else if (key == "process_start")
            h.owner.process_start = value;
        else if (key == "started_at")
            h.started_at = value;
        else if (key == "run")
            h.run = value;
    }
    return h;
}

void RunLocks::acquire(const fs::path& dir, const std::string& key, const std::string& what,
                       const LockHolder& me) {
    try {
        paths::ensure_private_dir(dir);
    } catch (const std::system_error& e) {
        throw EnvironmentError(fmt::format("run lock folder: {}", e.what()));
    }
    const fs::path file = dir / lock_file_name(key);
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        throw EnvironmentError(
            fmt::format("{}: cannot open the run lock: {}", file.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(fd);
        if (error != EWOULDBLOCK)
            throw EnvironmentError(
                fmt::format("{}: cannot lock: {}", file.string(), std::strerror(error)));
        const LockHolder holder = read_holder(file);
        const std::string who =
            holder.owner.pid > 0 ? fmt::format("run {} ({})", holder.run.empty() ? "?" : holder.run,
                                               describe(holder.owner, holder.started_at))
                                 : std::string("another process (no holder recorded yet)");
        release();
        throw LockConflict(key, holder,
                           fmt::format("{} is in use by {}; one run at a time per lab or reader "
                                       "(lock {})",
                                       what, who, file.string()));
    }
    write_holder(fd, me);
    held_.push_back({file, fd});
}

void RunLocks::update_holder(const LockHolder& me) {
    for (const auto& h : held_)
        write_holder(h.fd, me);
}

void RunLocks::release() {
    for (auto& h : held_) {
        if (h.fd >= 0) {
            // Emptied before unlocking: a record left behind would name a finished run.
            if (::ftruncate(h.fd, 0) != 0) {
            }
            ::flock(h.fd, LOCK_UN);
            ::close(h.fd);
        }
    }
    held_.clear();
}

} // namespace harness::io
