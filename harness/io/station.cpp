#include "io/station.hpp"

#include "io/paths.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <sstream>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness::io {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t key_bytes = 32;
constexpr const char* failed_pins_header = "card_id,pin,when,what";

std::string errno_text() {
    return std::strerror(errno);
}

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

Bytes read_all(int fd, const fs::path& file) {
    Bytes out;
    std::uint8_t buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw EnvironmentError(fmt::format("cannot read {}: {}", file.string(), errno_text()));
        }
        if (n == 0)
            return out;
        out.insert(out.end(), buffer, buffer + n);
    }
}

void write_all(int fd, const void* data, std::size_t size, const fs::path& file) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw EnvironmentError(fmt::format("cannot write {}: {}", file.string(), errno_text()));
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

// Group or other access on a file of ours is taken away (an older version, or a copy).
void tighten(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0 && st.st_uid == ::geteuid())
        ::fchmod(fd, 0600);
}

void ensure_dir(const fs::path& dir) {
    try {
        paths::ensure_private_dir(dir);
    } catch (const std::exception& e) {
        throw EnvironmentError(fmt::format("cannot create the station state folder {}: {} (set "
                                           "CARDHARNESS_STATE_DIR to a writable folder)",
                                           dir.string(), e.what()));
    }
}

// Card ids and PIN names are written into a CSV: only [a-z0-9-], at most 64 characters.
void check_token(const std::string& value, const char* what) {
    const bool ok =
        !value.empty() && value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
    if (!ok)
        throw UsageError(fmt::format("not a valid {}: \"{}\"", what, value));
}

std::string clean_text(std::string text) {
    for (char& c : text)
        if (c == ',' || c == '\n' || c == '\r' || c == '"')
            c = ' ';
    return text;
}

std::vector<PinFailureRecord> parse_records(const std::string& text) {
    std::vector<PinFailureRecord> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line == failed_pins_header)
            continue;
        PinFailureRecord r;
        std::istringstream fields(line);
        std::getline(fields, r.card_id, ',');
        std::getline(fields, r.pin, ',');
        std::getline(fields, r.when, ',');
        std::getline(fields, r.what);
        if (!r.card_id.empty() && !r.pin.empty())
            out.push_back(std::move(r));
    }
    return out;
}

// Opens <file> read-write (created 0600) and holds an exclusive flock while alive.
class LockedFile {
public:
    explicit LockedFile(const fs::path& file)
        : file_(file), fd_(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
        if (fd_.get() < 0)
            throw EnvironmentError(fmt::format("cannot open {}: {}", file.string(), errno_text()));
        while (::flock(fd_.get(), LOCK_EX) != 0)
            if (errno != EINTR)
                throw EnvironmentError(
                    fmt::format("cannot lock {}: {}", file.string(), errno_text()));
        tighten(fd_.get());
    }
    std::vector<PinFailureRecord> read() {
        if (::lseek(fd_.get(), 0, SEEK_SET) < 0)
            throw EnvironmentError(fmt::format("cannot read {}: {}", file_.string(), errno_text()));
        const Bytes bytes = read_all(fd_.get(), file_);
        return parse_records(std::string(bytes.begin(), bytes.end()));
    }
    void write(const std::vector<PinFailureRecord>& records) {
        std::string text = std::string(failed_pins_header) + "\n";
        for (const auto& r : records)
            text += fmt::format("{},{},{},{}\n", r.card_id, r.pin, clean_text(r.when),
                                clean_text(r.what));
        if (::lseek(fd_.get(), 0, SEEK_SET) < 0 || ::ftruncate(fd_.get(), 0) != 0)
            throw EnvironmentError(
                fmt::format("cannot write {}: {}", file_.string(), errno_text()));
        write_all(fd_.get(), text.data(), text.size(), file_);
        if (::fsync(fd_.get()) != 0)
            throw EnvironmentError(
                fmt::format("cannot write {}: {}", file_.string(), errno_text()));
    }

private:
    fs::path file_;
    FileDescriptor fd_;
};

} // namespace

fs::path station_key_file(const fs::path& state_dir) {
    return state_dir / "station.key";
}

StationKey load_station_key(const fs::path& state_dir) {
    ensure_dir(state_dir);
    const fs::path file = station_key_file(state_dir);
    for (int attempt = 0; attempt < 3; ++attempt) {
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            FileDescriptor guard(fd);
            tighten(fd);
            StationKey key{read_all(fd, file)};
            if (key.bytes.size() != key_bytes)
                throw EnvironmentError(fmt::format(
                    "the station key {} is damaged ({} bytes, expected {}); move it away to make "
                    "a new one (card ids and redaction markers will then change)",
                    file.string(), key.bytes.size(), key_bytes));
            return key;
        }
        if (errno != ENOENT)
            throw EnvironmentError(
                fmt::format("cannot read the station key {}: {}", file.string(), errno_text()));
        // Written to a private temporary file, then linked into place: a reader never sees a
        // partial key and two processes creating it at once end up with the same one.
        Bytes fresh(key_bytes);
        std::size_t got = 0;
        while (got < fresh.size()) {
            const ssize_t n = ::getrandom(fresh.data() + got, fresh.size() - got, 0);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                throw EnvironmentError("no randomness for the station key (getrandom failed)");
            }
            got += static_cast<std::size_t>(n);
        }
        const fs::path tmp = state_dir / fmt::format(".station.key.{}.{}", ::getpid(), attempt);
        {
            const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (out < 0)
                throw EnvironmentError(fmt::format("cannot create the station key in {}: {}",
                                                   state_dir.string(), errno_text()));
            FileDescriptor guard(out);
            write_all(out, fresh.data(), fresh.size(), tmp);
            if (::fsync(out) != 0)
                throw EnvironmentError(
                    fmt::format("cannot write {}: {}", tmp.string(), errno_text()));
        }
        const int linked = ::link(tmp.c_str(), file.c_str());
        const int link_errno = errno;
        ::unlink(tmp.c_str());
        std::fill(fresh.begin(), fresh.end(), 0);
        if (linked != 0 && link_errno != EEXIST)
            throw EnvironmentError(fmt::format("cannot create the station key {}: {}",
                                               file.string(), std::strerror(link_errno)));
        // Linked, or another process won the race: read what is there now.
    }
    throw EnvironmentError("cannot create the station key " + file.string());
}

FilePinFailureMemory::FilePinFailureMemory(fs::path state_dir)
    : dir_(std::move(state_dir)), file_(dir_ / "failed-pins.csv") {}

bool FilePinFailureMemory::has_failed(const std::string& card_id, const std::string& pin) {
    if (!fs::exists(file_))
        return false;
    LockedFile locked(file_);
    for (const auto& r : locked.read())
        if (r.card_id == card_id && r.pin == pin)
            return true;
    return false;
}

void FilePinFailureMemory::remember(const PinFailureRecord& record) {
    check_token(record.card_id, "card id");
    check_token(record.pin, "PIN name");
    ensure_dir(dir_);
    LockedFile locked(file_);
    auto records = locked.read();
    for (const auto& r : records)
        if (r.card_id == record.card_id && r.pin == record.pin)
            return;
    records.push_back(record);
    locked.write(records);
}

std::vector<PinFailureRecord> FilePinFailureMemory::list() {
    if (!fs::exists(file_))
        return {};
    LockedFile locked(file_);
    return locked.read();
}

std::size_t FilePinFailureMemory::forget(const std::string& card_id) {
    if (!fs::exists(file_))
        return 0;
    LockedFile locked(file_);
    auto records = locked.read();
    const auto before = records.size();
    std::erase_if(records, [&](const PinFailureRecord& r) { return r.card_id == card_id; });
    if (records.size() != before)
        locked.write(records);
    return before - records.size();
}

bool InProcessPinFailureMemory::has_failed(const std::string& card_id, const std::string& pin) {
    std::lock_guard lock(mutex_);
    return failed_.count({card_id, pin}) != 0;
}

void InProcessPinFailureMemory::remember(const PinFailureRecord& record) {
    std::lock_guard lock(mutex_);
    failed_.insert({record.card_id, record.pin});
}

std::size_t InProcessPinFailureMemory::size() const {
    std::lock_guard lock(mutex_);
    return failed_.size();
}

} // namespace harness::io
