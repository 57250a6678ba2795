#pragma once
// FileSaltStore: the salt kept in a file beside the database ("<db path>.salt", 32 random bytes,
// mode 0600, created on first use) until the SQLite store keeps it itself.
#include "io/salt.hpp"

#include <filesystem>

namespace harness::identify {

inline constexpr std::size_t salt_size = 32;

class FileSaltStore : public io::SaltStore {
public:
    explicit FileSaltStore(std::filesystem::path db_path);
    // Reads the salt file, or creates it (and its folder) with fresh random bytes. Throws
    // EnvironmentError when it cannot be read or written, ConfigError when it is not 32 bytes.
    io::Salt salt() override;
    const std::filesystem::path& file() const { return file_; }

private:
    void create_once();
    std::filesystem::path file_;
};

// "<db path>.salt"
std::filesystem::path salt_file_for(const std::filesystem::path& db_path);

} // namespace harness::identify
