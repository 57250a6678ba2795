#include "backends/lab/lab_process.hpp"

#include "pure/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <fstream>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

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
    make_private_dir(options.run_dir);
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
    // The USB driver bundles (libccid's ifd-ccid.bundle, ...) are hidden one by one; serial
    // drivers beside them (vpcd, an installed copy of ours) stay visible.
    std::vector<std::string> bundles;
    std::error_code ec;
    if (options.hide_usb_drivers)
        for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/pcsc/drivers", ec))
            if (entry.path().extension() == ".bundle" && entry.is_directory(ec))
                bundles.push_back(entry.path().string());
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

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw EnvironmentError(fmt::format("lab: fork(): {}", std::strerror(errno)));
    if (pid > 0)
        return pid;
    // Child: only system calls from here on.
    ::setpgid(0, 0);
    // pcscd ends with the thread that started it, also when that one is killed with SIGKILL.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
        ::_exit(0); // the lab died before prctl(): do not leave an orphan pcscd
    // The lab blocks SIGTERM/SIGINT (it reads them from a signalfd) and ignores SIGPIPE/SIGHUP;
    // masks and ignored signals survive exec: give pcscd the defaults.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const int sig : {SIGPIPE, SIGHUP, SIGTERM, SIGINT})
        ::signal(sig, SIG_DFL);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
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
    for (const auto& bundle : bundles)
        if (::mount("cardharness-no-usb", bundle.c_str(), "tmpfs", MS_RDONLY, "size=4k") != 0)
            child_fail("mount tmpfs over a USB driver bundle");
    for (const auto& [source, target] : mounts)
        if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            child_fail("mount --rbind (usb lab)");
    ::execve(argv[0], argv.data(), envp.data());
    child_fail("exec pcscd");
}

bool become_daemon(const std::filesystem::path& log, const std::vector<int>& keep) {
    std::fflush(nullptr);
    const pid_t first = ::fork();
    if (first < 0)
        throw EnvironmentError(fmt::format("lab: fork(): {}", std::strerror(errno)));
    if (first > 0) {
        int status = 0;
        while (::waitpid(first, &status, 0) < 0 && errno == EINTR) {
        }
        return false;
    }
    ::setsid();
    const pid_t second = ::fork();
    if (second != 0)
        ::_exit(second < 0 ? 1 : 0);
    ::umask(077);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in >= 0)
        ::dup2(in, 0);
    if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
    }
    // Nothing of the caller's (a database, sockets) stays open in the lab, except `keep`.
    std::vector<int> kept(keep);
    std::sort(kept.begin(), kept.end());
    unsigned first_open = 3;
    for (const int fd : kept) {
        if (fd < 3)
            continue;
        if (static_cast<unsigned>(fd) > first_open)
            ::close_range(first_open, static_cast<unsigned>(fd) - 1, 0);
        first_open = static_cast<unsigned>(fd) + 1;
    }
    ::close_range(first_open, ~0U, 0);
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    return true;
}

std::optional<std::uint64_t> process_start_time(pid_t pid) {
    if (pid <= 0)
        return std::nullopt;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(in, text))
        return std::nullopt;
    // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22)
            return std::strtoull(field.c_str(), nullptr, 10);
    return std::nullopt;
}

ProcessId process_id(pid_t pid) {
    return ProcessId{pid, process_start_time(pid).value_or(0)};
}

namespace {

char process_state(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(in, text))
        return 0;
    const auto close = text.rfind(')');
    return close == std::string::npos || close + 2 >= text.size() ? 0 : text[close + 2];
}

} // namespace

bool process_alive(pid_t pid) {
    if (pid <= 0)
        return false;
    const char state = process_state(pid);
    if (state == 0)
        return false;
    if (state == 'Z' || state == 'X') {
        int status = 0;
        ::waitpid(pid, &status, WNOHANG); // ours: reap it; not ours: ECHILD, init's business
        return false;
    }
    return true;
}

bool is_running(const ProcessId& id) {
    if (!process_alive(id.pid))
        return false;
    return id.start == 0 || process_start_time(id.pid) == id.start;
}

std::string process_name(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(in, name);
    return name;
}

namespace {

// glibc 2.36's <sys/pidfd.h> lacks extern "C": call the kernel directly.
int send_signal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

} // namespace

int open_pidfd(pid_t pid) {
    if (pid <= 0)
        return -1;
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0)
        ::fcntl(fd, F_SETFD, FD_CLOEXEC); // pidfds are close-on-exec already; be explicit
    return fd;
}

bool wait_pidfd(int pidfd, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{pidfd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
        if (r > 0)
            return true;
        if (r == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

bool terminate(pid_t pid, std::chrono::milliseconds grace) {
    if (!process_alive(pid))
        return true;
    const int pidfd = open_pidfd(pid);
    if (pidfd < 0)
        return !process_alive(pid);
    send_signal(pidfd, SIGTERM);
    if (!wait_pidfd(pidfd, grace)) {
        send_signal(pidfd, SIGKILL);
        wait_pidfd(pidfd, std::chrono::milliseconds(5000));
    }
    ::close(pidfd);
    int status = 0;
    ::waitpid(pid, &status, WNOHANG); // reap it when it is our child
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

void make_private_dir(const std::filesystem::path& dir) {
    if (!dir.parent_path().empty())
        std::filesystem::create_directories(dir.parent_path());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw EnvironmentError(
            fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno)));
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0)
        throw EnvironmentError(
            fmt::format("cannot stat {}: {}", dir.string(), std::strerror(errno)));
    if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
        throw EnvironmentError(fmt::format("{} is {}, not a folder: refusing to keep the lab there",
                                           dir.string(),
                                           S_ISLNK(st.st_mode) ? "a symbolic link" : "a file"));
    if (st.st_uid != ::geteuid())
        throw EnvironmentError(
            fmt::format("{} belongs to uid {}, not to us (uid {}): refusing to keep the lab there "
                        "(its owner could reach the lab's cards); use another --dir",
                        dir.string(), st.st_uid, ::geteuid()));
    if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0)
        throw EnvironmentError(
            fmt::format("cannot make {} owner-only: {}", dir.string(), std::strerror(errno)));
}

int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    if (argv.empty())
        return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigset_t defaults;
    ::sigemptyset(&none);
    ::sigemptyset(&defaults);
    for (const int sig : {SIGPIPE, SIGHUP, SIGTERM, SIGINT})
        ::sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    std::vector<std::string> copy(argv);
    for (auto& a : copy)
        args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0)
        return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace harness::labd
