#pragma once
// Station state (io::paths::state_dir(), never inside results/): the station key and the memory of
// PINs that failed on a card. Both outlive every results database, so a CI job that makes a fresh
// database each night still sees them. Files are created owner-only (folder 0700, files 0600).
#include "pure/bytes.hpp"

#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness::io {

// 32 random bytes in <state dir>/station.key: the key of every anonymous card id and of every
// redaction HMAC. It never enters a database, a report or a log, so a marker or a card id cannot
// be reversed by searching (a My Number has only 10^12 values).
struct StationKey {
    Bytes bytes;
};

// Reads the key, creating it (atomically: two processes starting at once get the same key) when
// absent. Throws EnvironmentError naming the file when it cannot be read, written or is damaged.
StationKey load_station_key(const std::filesystem::path& state_dir);
std::filesystem::path station_key_file(const std::filesystem::path& state_dir);

// A PIN that was sent to a card and not accepted (or whose answer never came): by card id and PIN
// name, never the PIN value.
struct PinFailureRecord {
    std::string card_id;
    std::string pin;  // auth, sign, text, juki
    std::string when; // ISO 8601 UTC
    std::string what; // "SW 63C2", "no answer (timeout)": never card data
};

// The memory of failed PINs. A remembered failure stops every later attempt on that PIN of that
// card, in this run and every later one, until the user forgets the card
// (`cardharness pins forget --card ID`): a wrong PIN costs a citizen's card at most one try, ever.
class PinFailureMemory {
public:
    virtual ~PinFailureMemory() = default;
    // Read fresh on every call (another run may have just written). Throws EnvironmentError when
    // the memory cannot be read: the caller then treats the PIN as failed.
    virtual bool has_failed(const std::string& card_id, const std::string& pin) = 0;
    // Throws EnvironmentError when it cannot be kept.
    virtual void remember(const PinFailureRecord& record) = 0;
};

// <state dir>/failed-pins.csv (`card_id,pin,when,what`), read and rewritten under an exclusive
// flock so that concurrent runs (and threads) see each other's failures at once.
class FilePinFailureMemory : public PinFailureMemory {
public:
    explicit FilePinFailureMemory(std::filesystem::path state_dir);
    bool has_failed(const std::string& card_id, const std::string& pin) override;
    void remember(const PinFailureRecord& record) override;
    std::vector<PinFailureRecord> list();
    // Removes every failure remembered for the card; returns how many there were.
    std::size_t forget(const std::string& card_id);
    const std::filesystem::path& file() const { return file_; }

private:
    std::filesystem::path dir_, file_;
};

// In process only (unit tests, benchmarks): thread-safe.
class InProcessPinFailureMemory : public PinFailureMemory {
public:
    bool has_failed(const std::string& card_id, const std::string& pin) override;
    void remember(const PinFailureRecord& record) override;
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::set<std::pair<std::string, std::string>> failed_;
};

} // namespace harness::io
