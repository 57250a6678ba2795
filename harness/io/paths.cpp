#include "io/paths.hpp"

#include <cstdlib>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

// CARDHARNESS_SOURCE_DIR, CARDHARNESS_BINARY_DIR and CARDHARNESS_INSTALL_PREFIX are defined for
// this file only (harness/CMakeLists.txt), so every other object file is independent of where the
// tree lives.

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

fs::path self_exe() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.lexically_normal();
}

bool below(const fs::path& file, const fs::path& dir) {
    const auto rel = file.lexically_relative(fs::path(dir).lexically_normal());
    return !rel.empty() && *rel.begin() != "..";
}

} // namespace

bool running_from_checkout() {
    if (const char* layout = std::getenv("CARDHARNESS_LAYOUT"); layout && *layout) {
        const std::string_view value(layout);
        if (value == "checkout")
            return true;
        if (value == "installed")
            return false;
    }
    const fs::path exe = self_exe();
    if (exe.empty())
        return true;
    return below(exe, CARDHARNESS_SOURCE_DIR) || below(exe, CARDHARNESS_BINARY_DIR);
}

fs::path install_prefix() {
    const fs::path exe = self_exe();
    if (!exe.empty() && exe.parent_path().filename() == "bin") {
        const fs::path prefix = exe.parent_path().parent_path();
        std::error_code ec;
        if (fs::is_directory(prefix / "share" / "cardharness", ec))
            return prefix;
    }
    return CARDHARNESS_INSTALL_PREFIX;
}

fs::path profiles_dir() {
    if (auto p = env_path("CARDHARNESS_PROFILES_DIR"); !p.empty())
        return p;
    if (running_from_checkout())
        return fs::path(CARDHARNESS_SOURCE_DIR) / "profiles";
    return install_prefix() / "share" / "cardharness" / "profiles";
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
    return install_prefix() / "lib" / "cardharness";
}

fs::path lab_driver() {
    constexpr const char* name = "libifdcardharness.so";
    if (auto p = env_path("CARDHARNESS_IFD_DRIVER"); !p.empty())
        return fs::absolute(p);
    if (running_from_checkout()) {
        // build/<preset>/bin/cardharness and build/<preset>/tools/* next to build/<preset>/lib.
        std::error_code ec;
        if (const fs::path exe = self_exe(); !exe.empty())
            if (auto beside = exe.parent_path().parent_path() / "lib" / name;
                fs::exists(beside, ec))
                return beside;
        if (auto built = fs::path(CARDHARNESS_BINARY_DIR) / "lib" / name; fs::exists(built, ec))
            return built;
    }
    return install_lib_dir() / name;
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
