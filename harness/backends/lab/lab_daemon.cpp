#include "backends/lab/lab_daemon.hpp"

#include "backends/fd_io.hpp"
#include "backends/lab/lab_socket.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace harness::labd {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using fdio::Fd;

std::string now_text() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return fmt::format("{}.{:03}", buffer, ms);
}

void log_line(const std::string& line) {
    fmt::print(stderr, "{} {}\n", now_text(), line);
    std::fflush(stderr);
}

// Writes a file owner-only (0600), atomically when `atomic`.
void write_private(const fs::path& file, const std::string& text, bool atomic = true) {
    const fs::path target = atomic ? fs::path(file.string() + ".tmp") : file;
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw EnvironmentError(
            fmt::format("cannot write {}: {}", target.string(), std::strerror(errno)));
    Fd owner(fd);
    ::fchmod(fd, 0600);
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw EnvironmentError(
                fmt::format("cannot write {}: {}", target.string(), std::strerror(errno)));
        written += static_cast<std::size_t>(n);
    }
    if (atomic)
        fs::rename(target, file);
}

// pcscd has bound and is listening (connect() succeeds; pcscd sees a client that leaves).
bool socket_accepts(const fs::path& socket) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = socket.string();
    if (path.size() >= sizeof(address.sun_path))
        return false;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return fd.get() >= 0 &&
           ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

void drain(int fd) {
    char buffer[512];
    while (::read(fd, buffer, sizeof buffer) > 0) {
    }
}

// What woke the lab's main loop.
struct Events {
    bool signal = false;
    bool wake = false; // the socket server answered something (or a Stop)
    bool watch = false;
    bool pcscd_gone = false;
    bool owner_gone = false;
    bool timeout = false;
};

class Waiter {
public:
    Waiter(int signals, int wake, int watch, int pcscd, int owner)
        : fds_{signals, wake, watch, pcscd, owner} {}
    void set_pcscd(int fd) { fds_[3] = fd; }
    void set_watch(int fd) { fds_[2] = fd; }

    Events wait(int timeout_ms) {
        pollfd p[5];
        for (int i = 0; i < 5; ++i)
            p[i] = {fds_[i], POLLIN, 0};
        Events e;
        const int r = ::poll(p, 5, timeout_ms);
        if (r == 0) {
            e.timeout = true;
            return e;
        }
        if (r < 0)
            return e; // EINTR: the caller looks again
        e.signal = p[0].revents != 0;
        e.wake = p[1].revents != 0;
        e.watch = p[2].revents != 0;
        e.pcscd_gone = p[3].revents != 0;
        e.owner_gone = p[4].revents != 0;
        if (e.wake)
            drain(fds_[1]);
        if (e.watch)
            drain(fds_[2]);
        return e;
    }

private:
    int fds_[5]; // a negative fd is ignored by poll()
};

std::string signal_name(int signals_fd) {
    signalfd_siginfo info{};
    if (::read(signals_fd, &info, sizeof info) != sizeof info)
        return "a signal";
    return info.ssi_signo == SIGINT ? "SIGINT" : info.ssi_signo == SIGTERM ? "SIGTERM" : "a signal";
}

void stop_pcscd(pid_t pid, int pidfd) {
    if (pid <= 0)
        return;
    ::kill(pid, SIGTERM); // pcscd 1.9.9 exits at once on SIGTERM ("Direct suicide")
    if (pidfd >= 0 && !wait_pidfd(pidfd, std::chrono::milliseconds(3000)))
        ::kill(pid, SIGKILL);
    terminate(pid, std::chrono::milliseconds(2000)); // reaps our child; SIGKILL if still there
}

void stop_system_pcscd() {
    std::ifstream pid_file("/run/pcscd/pcscd.pid");
    pid_t pid = 0;
    if (pid_file >> pid && pid > 0 && process_name(pid) == "pcscd")
        terminate(pid);
}

} // namespace

namespace {
bool is_core_state_key(const std::string& key) {
    static const char* const core[] = {"pid",         "pid_start",    "ready",  "pcscd_pid",
                                       "pcscd_start", "system_pcscd", "socket", "lab_socket",
                                       "owner_pid",   "owner_start"};
    return std::find(std::begin(core), std::end(core), key) != std::end(core);
}
} // namespace

std::optional<LabState> read_state(const fs::path& file) {
    std::ifstream in(file);
    if (!in)
        return std::nullopt;
    try {
        const Json j = Json::parse(in);
        if (!j.is_object() || !j.contains("pid"))
            return std::nullopt;
        LabState s;
        s.pid = j.value("pid", -1);
        s.pid_start = j.value("pid_start", std::uint64_t{0});
        s.pcscd_pid = j.value("pcscd_pid", -1);
        s.pcscd_start = j.value("pcscd_start", std::uint64_t{0});
        s.system_pcscd = j.value("system_pcscd", false);
        s.socket = j.value("socket", "");
        s.lab_socket = j.value("lab_socket", "");
        s.ready = j.value("ready", false);
        if (j.contains("owner_pid") && j["owner_pid"].is_number_integer())
            s.owner_pid = j["owner_pid"].get<pid_t>();
        s.owner_start = j.value("owner_start", std::uint64_t{0});
        for (const auto& [key, value] : j.items())
            if (!is_core_state_key(key))
                s.extra[key] = value;
        return s;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

void write_state(const fs::path& file, const LabState& s) {
    Json j{{"pid", s.pid},
           {"pid_start", s.pid_start},
           {"ready", s.ready},
           {"pcscd_pid", s.pcscd_pid},
           {"pcscd_start", s.pcscd_start},
           {"system_pcscd", s.system_pcscd},
           {"socket", s.socket},
           {"lab_socket", s.lab_socket}};
    if (s.owner_pid) {
        j["owner_pid"] = *s.owner_pid;
        j["owner_start"] = s.owner_start;
    }
    for (const auto& [key, value] : s.extra.items())
        if (!is_core_state_key(key))
            j[key] = value;
    write_private(file, j.dump(2) + "\n");
}

std::string reader_conf(const lab::Lab& lab, const fs::path& lab_socket, const fs::path& driver) {
    std::string out =
        "# Written by `cardharness lab start`: one reader per lab slot, on our driver.\n";
    for (const auto& slot : lab.slot_ids())
        out += fmt::format("FRIENDLYNAME \"{}\"\nDEVICENAME {}:{}\nLIBPATH {}\n\n",
                           lab.friendly_name(slot), lab_socket.string(), slot, driver.string());
    return out;
}

int run_lab(const LabSpec& spec, const LabHooks& hooks) {
    const LabFolder& f = spec.folder;
    LabState state;
    state.pid = ::getpid();
    state.pid_start = process_start_time(state.pid).value_or(0);
    state.system_pcscd = spec.system_pcscd;
    state.lab_socket = f.socket().string();
    if (hooks.owner) {
        state.owner_pid = hooks.owner->pid;
        state.owner_start = hooks.owner->start;
    }
    bool notified = false;
    const auto notify = [&](const std::string& error) {
        if (!notified && hooks.on_ready) {
            notified = true;
            hooks.on_ready(error);
        }
    };

    // SIGTERM/SIGINT arrive on a signalfd; blocked before any thread exists, so in all of them.
    sigset_t stop_signals;
    ::sigemptyset(&stop_signals);
    ::sigaddset(&stop_signals, SIGTERM);
    ::sigaddset(&stop_signals, SIGINT);
    ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    Fd signals(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
    Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    Fd pcscd_fd;
    Fd watch;
    pid_t pcscd_pid = -1;
    try {
        if (signals.get() < 0 || wake.get() < 0)
            throw EnvironmentError(fmt::format("lab: signalfd/eventfd: {}", std::strerror(errno)));
        log_line(fmt::format("lab starting: {} slots, dir {}{}", spec.slots.size(), f.dir.string(),
                             hooks.owner ? fmt::format(", owner pid {}", hooks.owner->pid) : ""));
        lab::Lab lab(spec.models, spec.slots, spec.factory, spec.probe, log_line);
        lab.set_real_time(true);
        // `lab start --usb`: the readers as USB devices (plugged before pcscd starts).
        const std::unique_ptr<LabExtension> extension =
            spec.extension ? spec.extension(lab, f.dir, log_line) : nullptr;
        // The main loop wants to hear of every request during start-up (pcscd opening the
        // readers) and of Stop afterwards; not of every APDU.
        std::atomic<bool> started{false};
        Server server(lab, f.socket(), log_line, [fd = wake.get(), &started](labwire::Op op) {
            if (started && op != labwire::Op::Stop)
                return;
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);
        });
        if (spec.system_pcscd)
            server.refuse_citizen_cards(citizen_needs_private_pcscd);
        std::thread serving([&] { server.run(); });
        struct Joiner {
            Server& server;
            std::thread& thread;
            ~Joiner() {
                server.stop();
                if (thread.joinable())
                    thread.join();
            }
        } joiner{server, serving};

        const std::string conf =
            extension ? extension->reader_conf() : reader_conf(lab, f.socket(), spec.driver);
        fs::path pcsc_socket;
        if (spec.system_pcscd) {
            write_private(system_reader_conf, conf);
            ::chmod(system_reader_conf, 0644); // pcscd's own configuration folder
            pcsc_socket = "/run/pcscd/pcscd.comm";
            // The system pcscd reads reader.conf.d only when it starts: restart it.
            stop_system_pcscd();
            if (run_command({spec.pcscd.string()}, f.pcscd_log()) != 0)
                throw EnvironmentError("could not start the system pcscd");
        } else {
            make_private_dir(f.conf_dir());
            // pcscd loads every file of its -c folder: only ours, none left from an older run.
            for (const auto& entry : fs::directory_iterator(f.conf_dir()))
                fs::remove_all(entry.path());
            write_private(f.conf_dir() / "cardharness-lab.conf", conf);
            for (std::size_t i = 0; i < spec.extra_reader_confs.size(); ++i) {
                std::ifstream in(spec.extra_reader_confs[i]);
                const std::string text((std::istreambuf_iterator<char>(in)), {});
                write_private(f.conf_dir() / fmt::format("extra-{}.conf", i + 1), text);
            }
            make_private_dir(f.run_dir());
            std::error_code ec;
            fs::remove(pcscd_socket(f.run_dir()), ec);
            fs::remove(f.run_dir() / "pcscd.pid", ec);
            // pcscd creates its socket after it loaded every reader: inotify says when.
            watch = Fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
            if (watch.get() >= 0)
                ::inotify_add_watch(watch.get(), f.run_dir().c_str(), IN_CREATE | IN_MOVED_TO);
            PcscdOptions po;
            po.pcscd = spec.pcscd;
            po.conf_dir = f.conf_dir();
            po.run_dir = f.run_dir();
            po.log = f.pcscd_log();
            po.debug = spec.pcscd_debug;
            if (extension)
                extension->configure(po);
            pcscd_pid = spawn_private_pcscd(po);
            pcscd_fd = Fd(open_pidfd(pcscd_pid));
            pcsc_socket = pcscd_socket(f.run_dir());
            log_line(fmt::format("private pcscd started (pid {})", pcscd_pid));
        }
        state.pcscd_pid = pcscd_pid;
        state.pcscd_start = process_start_time(pcscd_pid).value_or(0);
        state.socket = pcsc_socket.string();
        if (extension)
            state.extra = extension->state();
        write_state(f.state(), state);

        Waiter waiter(signals.get(), wake.get(), watch.get(), pcscd_fd.get(), hooks.owner_pidfd);
        const auto deadline = std::chrono::steady_clock::now() + spec.start_timeout;
        bool accepts = false;
        for (;;) {
            const bool socket_there = accepts || fs::exists(pcsc_socket);
            accepts = accepts || (socket_there && socket_accepts(pcsc_socket));
            if (accepts && (extension ? extension->ready() : lab.all_slots_opened()))
                break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - std::chrono::steady_clock::now())
                                  .count();
            if (left <= 0)
                throw EnvironmentError(
                    extension
                        ? fmt::format("{} within {} s (see {})", extension->not_ready(),
                                      spec.start_timeout.count(), f.pcscd_log().string())
                        : fmt::format("pcscd did not open every lab reader within {} s (see {})",
                                      spec.start_timeout.count(), f.pcscd_log().string()));
            // Without inotify (or the system pcscd's socket, bound but not yet listening), look
            // again shortly; otherwise the next event wakes us.
            const bool blind =
                watch.get() < 0 || (socket_there && !accepts) || extension != nullptr;
            const Events e = waiter.wait(
                static_cast<int>(blind ? std::min<long long>(left, extension ? 20 : 2) : left));
            if (e.signal)
                throw EnvironmentError("stopped by " + signal_name(signals.get()) +
                                       " during start-up");
            if (e.pcscd_gone)
                throw EnvironmentError("pcscd exited during start-up (see " +
                                       f.pcscd_log().string() + ")");
            if (e.owner_gone)
                throw EnvironmentError("the lab's owner process ended during start-up");
            if (server.stopped())
                throw EnvironmentError("stopped during start-up");
        }
        if (!spec.system_pcscd) {
            // pcscd makes /run/pcscd 0755 and its socket 0666; the lab folder (0700) already
            // shuts other users out, and these make each of them owner-only too.
            ::chmod(f.run_dir().c_str(), 0700);
            ::chmod(pcsc_socket.c_str(), 0600);
            ::chmod((f.run_dir() / "pcscd.pid").c_str(), 0600);
        }
        started = true;
        state.ready = true;
        write_state(f.state(), state);
        log_line("lab ready: pcscd lists every lab reader");
        notify("");

        // Until `lab stop` (a Stop request), SIGTERM/SIGINT, pcscd's end or the owner's end.
        std::string why;
        while (why.empty()) {
            const Events e = waiter.wait(-1);
            if (e.signal)
                why = signal_name(signals.get());
            else if (server.stopped())
                why = "stop requested";
            else if (e.pcscd_gone)
                why = "pcscd exited";
            else if (e.owner_gone)
                why = fmt::format("its owner (pid {}) ended", hooks.owner ? hooks.owner->pid : -1);
        }
        log_line(fmt::format("lab stopping: {} (served {} connections, {} requests)", why,
                             server.accepted(), server.requests()));
        stop_pcscd(pcscd_pid, pcscd_fd.get());
        if (spec.system_pcscd) {
            std::error_code ec;
            fs::remove(system_reader_conf, ec);
            stop_system_pcscd(); // a socket-activated pcscd restarts without our readers
        }
        server.stop();
        std::error_code ec;
        fs::remove(f.state(), ec);
        log_line("lab stopped");
        return 0;
    } catch (const std::exception& e) {
        log_line(fmt::format("lab failed: {}", e.what()));
        stop_pcscd(pcscd_pid, pcscd_fd.get());
        if (spec.system_pcscd) {
            std::error_code ec;
            fs::remove(system_reader_conf, ec);
        }
        std::error_code ec;
        fs::remove(f.state(), ec);
        notify(e.what());
        return 1;
    }
}

} // namespace harness::labd
