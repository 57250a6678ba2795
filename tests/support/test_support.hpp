#pragma once
// Helpers shared by unit tests.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace harness::test {

inline constexpr int skip_exit_code = 77; // ctest SKIP_RETURN_CODE

// Ends the whole test program as "skipped" (ctest shows it as such), with the reason.
[[noreturn]] inline void skip(const std::string& why) {
    std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
    std::fflush(nullptr);
    std::_Exit(skip_exit_code);
}

inline std::filesystem::path source_dir() {
    return CARDHARNESS_SOURCE_DIR;
}

// ../shared next to the project; absent in a user's clone.
inline std::filesystem::path shared_dir() {
    return CARDHARNESS_SHARED_DIR;
}

inline std::filesystem::path require_shared(const std::string& sub) {
    auto p = shared_dir() / sub;
    if (!std::filesystem::exists(p))
        skip("shared reference data not found at " + p.string() + " (only in developer/CI trees)");
    return p;
}

} // namespace harness::test
