#include "io/process.hpp"

#include <cerrno>
#include <csignal>
#include <fmt/core.h>
#include <fstream>
#include <sstream>
#include <sys/types.h>
#include <unistd.h>

namespace harness::io {
namespace {

std::string host_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0)
        return {};
    return host;
}

std::string boot_id() {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id;
}

// Field 22 of /proc/PID/stat (starttime, clock ticks after boot); empty when unreadable. The
// command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
std::string start_ticks(std::int64_t pid) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(in, line))
        return {};
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return {};
    std::istringstream fields(line.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22; ++i)
        if (!(fields >> field))
            return {};
    return field;
}

std::string process_start(std::int64_t pid) {
    const std::string ticks = start_ticks(pid);
    if (ticks.empty())
        return {};
    return boot_id() + "/" + ticks;
}

} // namespace

model::RunOwner current_process() {
    model::RunOwner owner;
    owner.host = host_name();
    owner.pid = static_cast<std::int64_t>(::getpid());
    owner.process_start = process_start(owner.pid);
    return owner;
}

Liveness liveness(const model::RunOwner& owner) {
    if (owner.pid <= 0 || owner.host.empty() || owner.host != host_name())
        return Liveness::Unknown;
    if (::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH)
        return Liveness::Gone;
    if (owner.process_start.empty())
        return Liveness::Alive; // recorded without a start time: the pid is all we know
    const std::string now = process_start(owner.pid);
    if (now.empty())
        return ::kill(static_cast<pid_t>(owner.pid), 0) == 0 || errno == EPERM ? Liveness::Alive
                                                                               : Liveness::Gone;
    return now == owner.process_start ? Liveness::Alive : Liveness::Gone;
}

std::string describe(const model::RunOwner& owner, const std::string& started_at) {
    std::string out =
        fmt::format("host {}, pid {}", owner.host.empty() ? "?" : owner.host, owner.pid);
    if (!started_at.empty())
        out += ", started " + started_at;
    return out;
}

} // namespace harness::io
