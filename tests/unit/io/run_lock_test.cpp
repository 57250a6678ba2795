// One run at a time per lab or reader (io/run_lock) and the run owner a later process can judge
// (io/process): real flock(2) locks between real processes, a killed holder's lock freed by the
// kernel, and a dead or reused pid told apart from a live run.
#include "io/process.hpp"
#include "io/run_lock.hpp"

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/cardharness-lock-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

io::LockHolder me(const std::string& run) {
    return {io::current_process(), "2026-01-02T03:04:05Z", run};
}

// Runs `body` in a child process; returns its exit code.
template <typename F>
int in_child(F body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 0;
        try {
            code = body();
        } catch (...) {
            code = 99;
        }
        std::_Exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

BOOST_AUTO_TEST_CASE(this_process_is_alive_a_reaped_child_is_gone_another_host_unknown) {
    const auto self = io::current_process();
    BOOST_TEST(self.pid == static_cast<std::int64_t>(::getpid()));
    BOOST_TEST(!self.host.empty());
    BOOST_TEST(!self.process_start.empty());
    BOOST_TEST((io::liveness(self) == io::Liveness::Alive));

    const pid_t child = ::fork();
    if (child == 0)
        std::_Exit(0);
    ::waitpid(child, nullptr, 0);
    auto dead = self;
    dead.pid = child;
    BOOST_TEST((io::liveness(dead) == io::Liveness::Gone));

    // The same pid with another start time is a reused pid: the recorded run is gone.
    auto reused = self;
    reused.process_start += "0";
    BOOST_TEST((io::liveness(reused) == io::Liveness::Gone));

    auto elsewhere = self;
    elsewhere.host = self.host + ".elsewhere";
    BOOST_TEST((io::liveness(elsewhere) == io::Liveness::Unknown));
    BOOST_TEST(io::describe(self, "T").find("pid " + std::to_string(self.pid)) !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_second_holder_is_refused_naming_the_first) {
    TempDir dir;
    io::RunLocks locks;
    locks.acquire(dir.path, "reader:Lab Reader (r01) 00 00", "reader \"r01\"", me("run-one"));
    BOOST_TEST(locks.size() == 1U);
    // Another process: the same key is refused with the holder named; another key is free.
    const int same = in_child([&] {
        io::RunLocks other;
        try {
            other.acquire(dir.path, "reader:Lab Reader (r01) 00 00", "reader \"r01\"",
                          me("run-two"));
        } catch (const io::LockConflict& e) {
            const std::string what = e.what();
            const bool named =
                what.find("run run-one") != std::string::npos &&
                what.find("pid " + std::to_string(::getppid())) != std::string::npos &&
                what.find("2026-01-02T03:04:05Z") != std::string::npos &&
                what.find("reader \"r01\"") != std::string::npos &&
                e.holder().owner.pid == ::getppid();
            return named ? 3 : 4;
        }
        return 0;
    });
    BOOST_TEST(same == 3);
    const int other_key = in_child([&] {
        io::RunLocks other;
        other.acquire(dir.path, "reader:Lab Reader (r02) 00 00", "reader \"r02\"", me("run-two"));
        return static_cast<int>(other.size());
    });
    BOOST_TEST(other_key == 1);
    // All or nothing: a conflict on the second key releases the first.
    const int partial = in_child([&] {
        io::RunLocks other;
        other.acquire(dir.path, "reader:A", "reader A", me("run-two"));
        try {
            other.acquire(dir.path, "reader:Lab Reader (r01) 00 00", "reader \"r01\"",
                          me("run-two"));
        } catch (const io::LockConflict&) {
            return static_cast<int>(other.size());
        }
        return 7;
    });
    BOOST_TEST(partial == 0);
    locks.release();
    const int after = in_child([&] {
        io::RunLocks other;
        other.acquire(dir.path, "reader:Lab Reader (r01) 00 00", "reader \"r01\"", me("run-two"));
        return static_cast<int>(other.size());
    });
    BOOST_TEST(after == 1);
}

BOOST_AUTO_TEST_CASE(a_killed_holder_leaves_no_stale_lock) {
    TempDir dir;
    int ready[2];
    BOOST_REQUIRE(::pipe(ready) == 0);
    const pid_t holder = ::fork();
    if (holder == 0) {
        io::RunLocks locks;
        locks.acquire(dir.path, "lab", "the lab", me("doomed"));
        (void)!::write(ready[1], "x", 1);
        ::pause();
        std::_Exit(0);
    }
    char c = 0;
    BOOST_REQUIRE(::read(ready[0], &c, 1) == 1);
    {
        io::RunLocks mine;
        BOOST_CHECK_THROW(mine.acquire(dir.path, "lab", "the lab", me("second")), io::LockConflict);
    }
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    io::RunLocks mine;
    mine.acquire(dir.path, "lab", "the lab", me("third"));
    BOOST_TEST(mine.size() == 1U);
    ::close(ready[0]);
    ::close(ready[1]);
}

BOOST_AUTO_TEST_CASE(lock_file_names_are_readable_and_distinct) {
    const auto a = io::lock_file_name("reader:Lab Reader (r01) 00 00");
    const auto b = io::lock_file_name("reader:Lab Reader [r01] 00 00");
    BOOST_TEST(a != b);
    BOOST_TEST(a.find("Lab_Reader__r01__00_00") != std::string::npos);
    BOOST_TEST(a.find('/') == std::string::npos);
    BOOST_TEST(io::lock_file_name(std::string(500, 'x')).size() < 100U);
}
