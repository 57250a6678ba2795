#pragma once
// Shared by the benchmarks that drive real processes (pcscd, the lab, vpcd, the raw C loop):
// finding the built programs, spawning them, temporary folders, medians, and the one result line
// `./dev.sh bench` collects:
//   RESULT<TAB>name<TAB>candidate<TAB>baseline<TAB>unit<TAB>ratio<TAB>goal<TAB>met
// (met: yes / no / - when the benchmark has no goal of its own). See bench/README.md.
#include "backends/lab/lab_process.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <random>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline constexpr int skipped = 77; // ctest SKIP_RETURN_CODE

inline int results_printed = 0; // RESULT lines so far

// Thrown (not exit()) so that the destructors stop what the benchmark started.
struct Skip {
    std::string why;
};
struct Failure {
    std::string why;
};

[[noreturn]] inline void skip(const std::string& why) {
    throw Skip{why};
}

[[noreturn]] inline void fail(const std::string& why) {
    throw Failure{why};
}

// main() of a benchmark: exit 0, 1 (failed), 2 (usage: the body returns it), 77 (skipped).
template <typename Body>
int guarded(Body body) {
    try {
        const int rc = body();
        if (rc == 0 && results_printed == 0) {
            fmt::print(stderr, "FAIL: the benchmark printed no result\n");
            return 1;
        }
        return rc;
    } catch (const Skip& s) {
        fmt::print("SKIPPED: {}\n", s.why);
        return skipped;
    } catch (const Failure& f) {
        fmt::print(stderr, "FAIL: {}\n", f.why);
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "FAIL: {}\n", e.what());
        return 1;
    }
}

inline double median(std::vector<double> values) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

inline double milliseconds_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The line ./dev.sh bench turns into its table. goal_met: nullopt when there is no goal.
inline void result(const std::string& name, double candidate, double baseline,
                   const std::string& unit, const std::string& goal, std::optional<bool> goal_met) {
    const double ratio = baseline > 0 ? candidate / baseline : 0;
    fmt::print("RESULT\t{}\t{:.2f}\t{:.2f}\t{}\t{:.2f}\t{}\t{}\n", name, candidate, baseline, unit,
               ratio, goal.empty() ? "-" : goal, goal_met ? (*goal_met ? "yes" : "no") : "-");
    std::fflush(stdout);
    ++results_printed;
}

// The build tree this benchmark runs from: <build>/bench/<this program>.
inline fs::path build_dir() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::current_path() : self.parent_path().parent_path();
}

// $CARDHARNESS, else <build>/bin/cardharness.
inline fs::path cardharness_binary() {
    if (const char* env = std::getenv("CARDHARNESS"); env && *env)
        return env;
    return build_dir() / "bin" / "cardharness";
}

inline fs::path driver_library() {
    if (const char* env = std::getenv("CARDHARNESS_IFD_DRIVER"); env && *env)
        return env;
    return build_dir() / "lib" / "libifdcardharness.so";
}

inline fs::path bench_program(const std::string& name) {
    return build_dir() / "bench" / name;
}

inline fs::path vpcd_driver() {
    if (const char* env = std::getenv("CARDHARNESS_VPCD_DRIVER"); env && *env)
        return env;
    return "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
}

// Exit 77 unless we are root and every path exists.
inline void require_root_and(const std::vector<fs::path>& paths) {
    if (::geteuid() != 0)
        skip("needs root (a private pcscd in a mount namespace)");
    for (const auto& p : paths)
        if (!fs::exists(p))
            skip(p.string() + " not found (build it, or install the package)");
}

// What a benchmark with a private pcscd needs: root, the given files, pcscd and a mount
// namespace. Skips (exit 77) when any is missing; returns pcscd's path.
inline fs::path require_private_pcscd(const std::vector<fs::path>& paths) {
    require_root_and(paths);
    const auto pcscd = harness::labd::find_executable("pcscd");
    if (!pcscd)
        skip("pcscd not found");
    if (!harness::labd::unshare_permitted())
        skip("unshare(CLONE_NEWNS) is not permitted here");
    return *pcscd;
}

// A temporary folder (short: Unix socket paths are limited), removed at the end.
class TempDir {
public:
    TempDir() {
        char templ[] = "/tmp/chbench.XXXXXX";
        if (!::mkdtemp(templ))
            fail(fmt::format("mkdtemp: {}", std::strerror(errno)));
        path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        if (!std::getenv("CARDHARNESS_KEEP_BENCH_DIRS"))
            fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

struct Spawned {
    pid_t pid = -1;
    int out = -1; // the child's stdout (a pipe), when captured
};

// Starts argv (no shell) with extra environment variables; stdout captured or to /dev/null,
// stderr inherited unless quiet.
inline Spawned spawn(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env = {}, bool capture = false,
                     bool quiet = false) {
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        const auto eq = entry.find('=');
        if (eq != std::string::npos && env.count(entry.substr(0, eq)))
            continue;
        environment.push_back(entry);
    }
    for (const auto& [k, v] : env)
        environment.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : environment)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args(argv);
    std::vector<char*> argp;
    for (auto& a : args)
        argp.push_back(a.data());
    argp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    int pipe_fds[2] = {-1, -1};
    if (capture) {
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
            fail("pipe2");
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    } else {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    }
    if (quiet)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    Spawned s;
    const int rc = ::posix_spawn(&s.pid, argp[0], &actions, nullptr, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (capture)
        ::close(pipe_fds[1]);
    if (rc != 0)
        fail(fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
    s.out = pipe_fds[0];
    return s;
}

// Waits for the child; returns its exit code (-1 killed) and what it printed (when captured).
inline std::pair<int, std::string> finish(Spawned s) {
    std::string out;
    if (s.out >= 0) {
        char buffer[4096];
        ssize_t n = 0;
        while ((n = ::read(s.out, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0)
                out.append(buffer, static_cast<std::size_t>(n));
        ::close(s.out);
    }
    int status = 0;
    while (::waitpid(s.pid, &status, 0) < 0 && errno == EINTR) {
    }
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline std::pair<int, std::string> run(const std::vector<std::string>& argv,
                                       const std::map<std::string, std::string>& env = {},
                                       bool quiet = false) {
    return finish(spawn(argv, env, true, quiet));
}

inline void stop(pid_t pid) {
    if (pid <= 0)
        return;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
}

// `cardharness lab start --dir DIR <args>` (bench::fail when it does not come up), stopped by
// stop() or at the end of the scope; socket() is its pcscd's PCSCLITE_CSOCK_NAME.
class StartedLab {
public:
    StartedLab(fs::path cardharness, fs::path dir, const std::vector<std::string>& args,
               std::map<std::string, std::string> env)
        : cardharness_(std::move(cardharness)), dir_(std::move(dir)), env_(std::move(env)) {
        std::vector<std::string> argv{cardharness_.string(), "lab", "start", "--dir",
                                      dir_.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto [rc, out] = run(argv, env_, true);
        const std::string prefix = "export PCSCLITE_CSOCK_NAME=";
        const auto at = out.find(prefix);
        if (rc != 0 || at == std::string::npos)
            fail(fmt::format("lab start exited {} (log {}/lab.log)", rc, dir_.string()));
        socket_ = out.substr(at + prefix.size());
        socket_ = socket_.substr(0, socket_.find('\n'));
    }
    StartedLab(const StartedLab&) = delete;
    StartedLab& operator=(const StartedLab&) = delete;
    ~StartedLab() { stop(); }
    const std::string& socket() const { return socket_; }
    void stop() {
        if (!stopped_)
            run({cardharness_.string(), "lab", "stop", "--dir", dir_.string()}, env_, true);
        stopped_ = true;
    }

private:
    fs::path cardharness_, dir_;
    std::map<std::string, std::string> env_;
    std::string socket_;
    bool stopped_ = false;
};

// pcsc_loop's median_us for the reader whose name contains `reader`; fails the benchmark when
// pcsc_loop printed none.
inline double loop_median_us(const std::string& out, const std::string& reader) {
    std::size_t start = 0;
    while (start < out.size()) {
        const std::size_t end = std::min(out.find('\n', start), out.size());
        const std::string line = out.substr(start, end - start);
        start = end + 1;
        const auto name = line.find("reader=\"");
        const auto at = line.find("median_us=");
        if (name == std::string::npos || at == std::string::npos)
            continue;
        const auto close = line.find('"', name + 8);
        if (line.substr(name + 8, close - name - 8).find(reader) != std::string::npos)
            return std::atof(line.c_str() + at + 10);
    }
    fail("pcsc_loop printed no median for " + reader + ": " + out);
}

// Waits until a Unix socket accepts a connection (true) or the timeout passes.
inline bool wait_socket(const fs::path& path, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    while (Clock::now() < deadline) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok)
            return true;
        ::usleep(500);
    }
    return false;
}

// Two free TCP ports P, P+1 on 127.0.0.1 (a vpcd reader.conf entry opens two slots).
// Random per process: benchmarks that ctest runs side by side (bench.lab_driver and
// bench.emulate_vpcd both start a vpcd) must not try the same ports (an unseeded std::rand() gave
// every process the same first pair, and the later binds raced).
inline int free_port_pair() {
    std::mt19937 pick(std::random_device{}());
    std::uniform_int_distribution<int> pair(0, 19999);
    for (int attempt = 0; attempt < 200; ++attempt) {
        const int port = 20000 + 2 * pair(pick);
        bool ok = true;
        for (int p : {port, port + 1}) {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(static_cast<std::uint16_t>(p));
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            ok = ok && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
            ::close(fd);
        }
        if (ok)
            return port;
    }
    fail("no free port pair");
}

// A profiles folder that is the source tree's plus two rows for benchmarks: a lab reader model
// without added latency (lab-bench-zero) and a My Number card that answers at once (bench-zero),
// and a lab file (labs/bench.csv) with one slot b01 holding that card in that reader; its
// suites/ is a folder of its own (a benchmark may add suites). The source tree's profiles stay
// as they are.
inline fs::path bench_profiles(const fs::path& dir) {
    const fs::path source = fs::path(CARDHARNESS_SOURCE_DIR) / "profiles";
    const fs::path out = dir / "profiles";
    fs::create_directories(out);
    for (const auto& entry : fs::directory_iterator(source)) {
        const std::string name = entry.path().filename().string();
        if (name == "readers" || name == "cards" || name == "labs" || name == "suites")
            continue;
        fs::create_symlink(entry.path(), out / name);
    }
    for (const char* sub : {"readers", "cards", "labs", "suites"}) {
        fs::create_directories(out / sub);
        for (const auto& entry : fs::directory_iterator(source / sub))
            if (entry.path().filename() != "cards.csv")
                fs::create_symlink(entry.path(), out / sub / entry.path().filename());
    }
    fs::copy_file(source / "cards" / "cards.csv", out / "cards" / "cards.csv");
    std::ofstream(out / "cards" / "cards.csv", std::ios::app)
        << "bench-zero,mynumber,contact,3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 "
           "3B,yes,fci,6B00,9000,,0,0,0,0,0,\"benchmarks only: a My Number card that answers at "
           "once\"\n";
    std::ofstream(out / "readers" / "lab_bench.csv")
        << "id,manufacturer,product,vendor_id,product_id,bcd_device,serial,interfaces,exchange,"
           "max_message_length,protocols,pps,le_zero,chain_corrupt_above,wtx,timeout_ms,"
           "latency_us,flaky_every,status,notes\n"
           "lab-bench-zero,Cardharness Virtual Lab,Lab Bench Zero Latency,0xF1AB,0x0B00,0x0100,"
           "LAB0B00-0001,contact,extended_apdu,65544,t0+t1,auto,pass,,yes,10000,0,0,virtual,"
           "\"benchmarks only: no added latency\"\n";
    std::ofstream(out / "labs" / "bench.csv") << "slot,reader_model,card,interface,citizen\n"
                                                 "b01,lab-bench-zero,bench-zero,contact,no\n";
    return out;
}

// SELECT of the JPKI application: a short command every My Number card answers 90 00.
inline const char* select_jpki = "00A4040C0AD392F000260100000001";

} // namespace bench
