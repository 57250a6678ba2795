#pragma once
// Reading a whole data file (CSV profiles, PIN files, suites, report JSON, descriptor dumps) with
// a size limit: every file a user hands in is refused with a clear error rather than read to the
// end of memory.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace harness::io {

inline constexpr std::size_t default_max_file_bytes = std::size_t{4} << 20; // 4 MiB

// The bytes of the file, as they are. Throws ConfigError
// "file:1:1: expected a readable <what> (not found | it is a folder | cannot open it |
// larger than N bytes)".
std::string read_text_file(const std::filesystem::path& file, std::string_view what,
                           std::size_t max_bytes = default_max_file_bytes);

} // namespace harness::io
