#include "io/paths.hpp"

#include <cstdlib>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

// CARDHARNESS_SOURCE_DIR and CARDHARNESS_INSTALL_PREFIX are defined for this file only
// (harness/CMakeLists.txt), so every other object file is independent of where the tree lives.

namespace harness::io::paths {
namespace fs = std::filesystem;

namespace {

fs::path env_path(const char* name) {
    const char* value = std::getenv(name);
    return value && *value ? fs::path(value) : fs::path();
}

bool is_root() {
    return ::geteuid() == 0;
}

fs::path home() {
    if (auto h = env_path("HOME"); !h.empty())
        return h;
    return "/tmp";
}

} // namespace

bool running_from_checkout() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
        return true;
    const fs::path source = fs::path(CARDHARNESS_SOURCE_DIR).lexically_normal();
    const auto rel = exe.lexically_normal().lexically_relative(source);
    return !rel.empty() && *rel.begin() != "..";
}

fs::path profiles_dir() {
    if (auto p = env_path("CARDHARNESS_PROFILES_DIR"); !p.empty())
        return p;
    if (running_from_checkout())
        return fs::path(CARDHARNESS_SOURCE_DIR) / "profiles";
    return fs::path(CARDHARNESS_INSTALL_PREFIX) / "share" / "cardharness" / "profiles";
}

fs::path data_dir() {
    if (running_from_checkout())
        return fs::path(CARDHARNESS_SOURCE_DIR) / "results";
    if (is_root())
        return "/var/lib/cardharness";
    if (auto x = env_path("XDG_DATA_HOME"); !x.empty())
        return x / "cardharness";
    return home() / ".local" / "share" / "cardharness";
}

fs::path state_dir() {
    if (auto p = env_path("CARDHARNESS_STATE_DIR"); !p.empty())
        return p;
    if (is_root())
        return "/var/lib/cardharness/state";
    if (auto x = env_path("XDG_STATE_HOME"); !x.empty())
        return x / "cardharness";
    return home() / ".local" / "state" / "cardharness";
}

fs::path default_database() {
    return data_dir() / "harness.db";
}

fs::path default_lab_dir() {
    if (auto p = env_path("CARDHARNESS_LAB_DIR"); !p.empty())
        return p;
    return data_dir() / "lab";
}

fs::path default_pki_dir() {
    if (auto p = env_path("CARDHARNESS_PKI_DIR"); !p.empty())
        return p;
    return data_dir() / "pki";
}

fs::path install_lib_dir() {
    return fs::path(CARDHARNESS_INSTALL_PREFIX) / "lib" / "cardharness";
}

fs::path ensure_private_dir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        const mode_t old = ::umask(077);
        fs::create_directories(dir, ec);
        ::umask(old);
        if (ec)
            throw std::system_error(ec, "cannot create " + dir.string());
    }
    return dir;
}

} // namespace harness::io::paths
