#include "backends/lab/lab_process.hpp"

#include "pure/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace harness::labd {
namespace {

[[noreturn]] void child_fail(const char* what) {
    const int error = errno;
    const char* reason = std::strerror(error);
    (void)!::write(2, "cardharness lab: pcscd child: ", 30);
    (void)!::write(2, what, std::strlen(what));
    (void)!::write(2, ": ", 2);
    (void)!::write(2, reason, std::strlen(reason));
    (void)!::write(2, "\n", 1);
    ::_exit(127);
}

} // namespace

pid_t spawn_private_pcscd(const PcscdOptions& options) {
    ::mkdir("/run/pcscd", 0755); // the mount point must exist; harmless on the host
    std::filesystem::create_directories(options.run_dir);
    // Everything the child needs is prepared before fork (the lab process has threads).
    const std::string pcscd = options.pcscd.string();
    const std::string conf = options.conf_dir.string();
    const std::string run = options.run_dir.string();
    const std::string log = options.log.string();
    std::vector<std::string> args{pcscd, "-f", "-c", conf};
    if (options.debug)
        args.emplace_back("-d");
    else if (options.info)
        args.emplace_back("-i");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const bool hide =
        options.hide_usb_drivers && std::filesystem::is_directory("/usr/lib/pcsc/drivers");
    // [usblab hook] extra mounts and environment (`lab start --usb`), prepared before fork.
    std::vector<std::pair<std::string, std::string>> mounts;
    for (const auto& [source, target] : options.bind_mounts)
        mounts.emplace_back(source.string(), target.string());
    std::vector<std::string> env_text;
    for (char** e = environ; e && *e; ++e) {
        const std::string entry = *e;
        const bool replaced =
            std::any_of(options.environment.begin(), options.environment.end(),
                        [&](const auto& kv) { return entry.rfind(kv.first + "=", 0) == 0; });
        if (!replaced)
            env_text.push_back(entry);
    }
    for (const auto& [name, value] : options.environment)
        env_text.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& e : env_text)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0)
        throw EnvironmentError(fmt::format("lab: fork(): {}", std::strerror(errno)));
    if (pid > 0)
        return pid;
    // Child: only system calls from here on.
    ::setpgid(0, 0);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
    }
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0)
        ::dup2(in, 0);
    if (::unshare(CLONE_NEWNS) != 0)
        child_fail("unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        child_fail("mount --make-rprivate /");
    if (::mount(run.c_str(), "/run/pcscd", nullptr, MS_BIND, nullptr) != 0)
        child_fail("mount --bind <dir> /run/pcscd");
    if (hide &&
        ::mount("cardharness-no-usb", "/usr/lib/pcsc/drivers", "tmpfs", MS_RDONLY, "size=4k") != 0)
        child_fail("mount tmpfs over /usr/lib/pcsc/drivers");
    for (const auto& [source, target] : mounts)
        if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            child_fail("mount --rbind (usb lab)");
    ::execve(argv[0], argv.data(), envp.data());
    child_fail("exec pcscd");
}

bool become_daemon(const std::filesystem::path& log) {
    std::fflush(nullptr);
    const pid_t first = ::fork();
    if (first < 0)
        throw EnvironmentError(fmt::format("lab: fork(): {}", std::strerror(errno)));
    if (first > 0) {
        int status = 0;
        ::waitpid(first, &status, 0);
        return false;
    }
    ::setsid();
    const pid_t second = ::fork();
    if (second != 0)
        ::_exit(second < 0 ? 1 : 0);
    ::umask(022);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0)
        ::dup2(in, 0);
    if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
    }
    if (in > 2)
        ::close(in);
    if (out > 2)
        ::close(out);
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    return true;
}

bool process_alive(pid_t pid) {
    if (pid <= 0)
        return false;
    if (::kill(pid, 0) != 0)
        return errno == EPERM;
    // A zombie child of ours counts as gone.
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == 0 || errno == ECHILD;
}

bool terminate(pid_t pid, std::chrono::milliseconds grace) {
    if (!process_alive(pid))
        return true;
    ::kill(pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid || !process_alive(pid))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return !process_alive(pid);
}

std::optional<std::filesystem::path> find_executable(const std::string& name) {
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    path += ":/usr/sbin:/sbin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t end = path.find(':', start);
        const std::string dir =
            path.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!dir.empty()) {
            const auto candidate = std::filesystem::path(dir) / name;
            if (::access(candidate.c_str(), X_OK) == 0)
                return candidate;
        }
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return std::nullopt;
}

bool unshare_permitted() {
    const pid_t pid = ::fork();
    if (pid < 0)
        return false;
    if (pid == 0)
        ::_exit(::unshare(CLONE_NEWNS) == 0 ? 0 : 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace harness::labd
