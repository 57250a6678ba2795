#pragma once
// One run at a time per lab or reader: exclusive flock(2) locks on files in a lock folder (the
// lab's folder, or the station state folder for hardware readers). The kernel releases a lock
// when its process dies, so a killed run never leaves a stale lock. Each lock file names its
// holder (host, pid, start time, run id) for the message the second run prints.
#include "model/run.hpp"
#include "pure/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace harness::io {

struct LockHolder {
    model::RunOwner owner;
    std::string started_at; // ISO 8601 UTC
    std::string run;        // run UUID, or what else holds the lock
};

// Another process holds a lock: exit code 3, and the message names the holder.
class LockConflict : public EnvironmentError {
public:
    LockConflict(std::string key, LockHolder holder, const std::string& what)
        : EnvironmentError(what), key_(std::move(key)), holder_(std::move(holder)) {}
    const std::string& key() const { return key_; }
    const LockHolder& holder() const { return holder_; }

private:
    std::string key_;
    LockHolder holder_;
};

// The file name of a lock key: readable characters kept, the rest '_', plus a short hash of the
// key so two keys never share a file ("reader-Lab_Reader__r01__00_00-1a2b3c4d.lock").
std::string lock_file_name(const std::string& key);

class RunLocks {
public:
    RunLocks() = default;
    // Takes every key's lock without waiting, in a fixed order. When one is held elsewhere,
    // releases those already taken and throws LockConflict naming the key and its holder
    // (`what` describes the key for the message, e.g. "reader \"Lab Reader (r01) 00 00\"").
    void acquire(const std::filesystem::path& dir, const std::string& key, const std::string& what,
                 const LockHolder& me);
    // Rewrites the holder record of every lock held (e.g. once the run has its UUID).
    void update_holder(const LockHolder& me);
    void release();
    ~RunLocks() { release(); }
    RunLocks(const RunLocks&) = delete;
    RunLocks& operator=(const RunLocks&) = delete;

    std::size_t size() const { return held_.size(); }

private:
    struct Held {
        std::filesystem::path file;
        int fd = -1;
    };
    std::vector<Held> held_;
};

// The holder recorded in a lock file (empty fields when it cannot be read).
LockHolder read_holder(const std::filesystem::path& file);

} // namespace harness::io
