#include "backends/host/host.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace harness::host {
namespace {

namespace fs = std::filesystem;

// Runs a program (no shell) and returns its exit status and standard output; stderr is dropped.
// nullopt when it could not be started.
std::optional<std::pair<int, std::string>> run(std::vector<std::string> args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return std::nullopt;
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return std::nullopt;
    }
    if (pid == 0) {
        ::dup2(pipe_fds[1], 1);
        const int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            ::dup2(null, 0);
            ::dup2(null, 2);
        }
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    std::string out;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n > 0)
            out.append(buffer, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR)
            break;
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
        return std::nullopt;
    return std::make_pair(WEXITSTATUS(status), out);
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
        s.pop_back();
    return s;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// "Uid:\t0\t0\t0\t0" → the second field (effective id).
std::optional<std::uint32_t> effective_id(const std::string& status, std::string_view key) {
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) != 0)
            continue;
        std::istringstream fields(line.substr(key.size()));
        std::uint32_t real = 0, effective = 0;
        if (fields >> real >> effective)
            return effective;
    }
    return std::nullopt;
}

std::vector<std::uint32_t> groups_of(const std::string& status) {
    std::istringstream in(status);
    std::string line;
    std::vector<std::uint32_t> groups;
    while (std::getline(in, line)) {
        if (line.rfind("Groups:", 0) != 0)
            continue;
        std::istringstream fields(line.substr(7));
        std::uint32_t g = 0;
        while (fields >> g)
            groups.push_back(g);
    }
    return groups;
}

std::optional<Process> read_process(int pid) {
    const fs::path dir = fs::path("/proc") / std::to_string(pid);
    Process p;
    p.pid = pid;
    std::ifstream comm(dir / "comm");
    if (!comm || !std::getline(comm, p.name))
        return std::nullopt;
    std::error_code ec;
    const auto exe = fs::read_symlink(dir / "exe", ec);
    if (!ec)
        p.exe = exe.string();
    const std::string cmdline = read_text(dir / "cmdline");
    std::size_t start = 0;
    while (start < cmdline.size()) {
        const auto end = cmdline.find('\0', start);
        p.args.push_back(cmdline.substr(start, end - start));
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    const std::string status = read_text(dir / "status");
    p.uid = effective_id(status, "Uid:").value_or(0);
    p.gid = effective_id(status, "Gid:").value_or(0);
    p.groups = groups_of(status);
    const auto ours = fs::read_symlink("/proc/self/ns/mnt", ec);
    std::error_code theirs_ec;
    const auto theirs = fs::read_symlink(dir / "ns" / "mnt", theirs_ec);
    p.own_mount_namespace = !ec && !theirs_ec && ours != theirs;
    return p;
}

std::vector<int> all_pids() {
    std::vector<int> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit))
            pids.push_back(std::atoi(name.c_str()));
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

std::string group_name(std::uint32_t gid) {
    if (const group* g = ::getgrgid(gid))
        return g->gr_name;
    return std::to_string(gid);
}

} // namespace

std::optional<std::string> installed_package_version(const std::string& package) {
    const auto result = run({"dpkg-query", "-W", "-f=${db:Status-Abbrev}\t${Version}", package});
    if (!result || result->first != 0)
        return std::nullopt;
    // "ii \t1.5.2-1": desired = install, status = installed.
    const std::string& out = result->second;
    const auto tab = out.find('\t');
    if (tab == std::string::npos || out.substr(0, 2) != "ii")
        return std::nullopt;
    auto version = trim(out.substr(tab + 1));
    if (version.empty())
        return std::nullopt;
    return version;
}

std::vector<Process> processes_named(std::string_view name) {
    std::vector<Process> out;
    for (const int pid : all_pids())
        if (auto p = read_process(pid); p && p->name == name)
            out.push_back(std::move(*p));
    return out;
}

PcscSocket pcsc_socket() {
    if (const char* env = std::getenv("PCSCLITE_CSOCK_NAME"); env && *env)
        return {env, true};
    return {"/run/pcscd/pcscd.comm", false};
}

const char* to_string(SocketState state) {
    switch (state) {
    case SocketState::Missing:
        return "missing";
    case SocketState::NotASocket:
        return "not_a_socket";
    case SocketState::Refused:
        return "refused";
    case SocketState::Denied:
        return "denied";
    case SocketState::Accepts:
        return "accepts";
    case SocketState::Failed:
        return "failed";
    }
    return "failed";
}

SocketProbe probe_unix_socket(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return {errno == ENOENT || errno == ENOTDIR ? SocketState::Missing : SocketState::Failed,
                std::strerror(errno)};
    if (!S_ISSOCK(st.st_mode))
        return {SocketState::NotASocket, "not a socket"};
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string text = path.string();
    if (text.size() >= sizeof address.sun_path)
        return {SocketState::Failed, "path too long for a Unix socket"};
    std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return {SocketState::Failed, std::strerror(errno)};
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int error = errno;
    ::close(fd);
    if (rc == 0)
        return {SocketState::Accepts, ""};
    if (error == ECONNREFUSED)
        return {SocketState::Refused, std::strerror(error)};
    if (error == EACCES || error == EPERM)
        return {SocketState::Denied, std::strerror(error)};
    return {SocketState::Failed, std::strerror(error)};
}

bool systemd_running() {
    std::error_code ec;
    return fs::is_directory("/run/systemd/system", ec);
}

std::optional<std::string> systemd_unit_state(const std::string& unit) {
    if (!systemd_running())
        return std::nullopt;
    const auto result = run({"systemctl", "is-active", unit});
    if (!result)
        return std::nullopt;
    const auto state = trim(result->second);
    return state.empty() ? std::optional<std::string>("unknown") : state;
}

DeviceNode device_node(const fs::path& path) {
    DeviceNode node;
    node.path = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return node;
    node.exists = true;
    node.mode = st.st_mode & 07777;
    node.uid = st.st_uid;
    node.gid = st.st_gid;
    node.owner = user_name(st.st_uid);
    node.group = group_name(st.st_gid);
    return node;
}

fs::path usb_device_node(std::uint8_t bus, std::uint8_t address) {
    return fmt::format("/dev/bus/usb/{:03}/{:03}", bus, address);
}

std::vector<Process> processes_holding(const fs::path& path) {
    std::vector<Process> out;
    const int self = ::getpid();
    for (const int pid : all_pids()) {
        if (pid == self)
            continue;
        std::error_code ec;
        for (const auto& fd :
             fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "fd", ec)) {
            std::error_code link_ec;
            if (fs::read_symlink(fd.path(), link_ec) == path && !link_ec) {
                if (auto p = read_process(pid))
                    out.push_back(std::move(*p));
                break;
            }
        }
    }
    return out;
}

std::string user_name(std::uint32_t uid) {
    if (const passwd* p = ::getpwuid(uid))
        return p->pw_name;
    return std::to_string(uid);
}

} // namespace harness::host
