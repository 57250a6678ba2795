// `cardharness run --lab --all` (our driver's lab, the default --jobs) against the least it can
// take, measured in the same run: the longest chain of sessions on one reader (the sum of that
// reader's session durations, from the steps' start times and durations in the run's database)
// plus a `lab start` + `lab stop` of the same lab (two processes, timed in the same round). Goal
// (issue 11): the run's wall time within 1.3x of that. It also asserts what the steps' start
// times show: the lab's readers ran at once (at least two sessions overlapped), and exits 1
// otherwise. Needs root; exits 77 otherwise.
// Usage: bench_lab_run [--tiny] [--rounds N] [--suite ID]
// (--tiny: one round, suite `identify` only; --suite: restrict the run to that suite)
#include "backends/lab/lab_process.hpp"
#include "bench_support.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

using namespace harness;
namespace fs = std::filesystem;
using bench::Clock;

namespace {

struct SessionSpan {
    std::string reader;
    std::int64_t begin = 0; // µs since the run's start
    std::int64_t end = 0;
};

// The run's sessions as its steps' start times place them. Fails when a step has none.
std::vector<SessionSpan> session_spans(const fs::path& db_path) {
    SQLite::Database db(db_path.string(), SQLite::OPEN_READONLY);
    const std::int64_t untimed = db.execAndGet("SELECT COUNT(*) FROM steps WHERE started_us IS "
                                               "NULL")
                                     .getInt64();
    if (untimed != 0)
        bench::fail(fmt::format("{} steps of the run store no start time", untimed));
    SQLite::Statement q(db, "SELECT rd.pcsc_name, MIN(st.started_us), "
                            "MAX(st.started_us + st.duration_us) FROM sessions s "
                            "JOIN readers rd ON rd.id = s.reader_id "
                            "JOIN steps st ON st.session_id = s.id GROUP BY s.id");
    std::vector<SessionSpan> out;
    while (q.executeStep())
        out.push_back(
            {q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getInt64()});
    if (out.empty())
        bench::fail("the run stored no session with steps");
    return out;
}

// The most sessions running at one instant.
int peak_overlap(const std::vector<SessionSpan>& spans) {
    std::vector<std::pair<std::int64_t, int>> edges;
    for (const auto& s : spans) {
        edges.emplace_back(s.begin, 1);
        edges.emplace_back(std::max(s.end, s.begin + 1), -1);
    }
    std::sort(edges.begin(), edges.end());
    int now = 0, peak = 0;
    for (const auto& e : edges)
        peak = std::max(peak, now += e.second);
    return peak;
}

struct Round {
    double run_ms = 0;
    double chain_ms = 0;     // the longest chain of sessions on one reader
    double lab_ms = 0;       // lab start + lab stop
    std::size_t readers = 0; // readers with sessions
    std::size_t sessions = 0;
    int peak = 0;
    double first_start_ms = 0; // when the first session began, after the run's start
};

int run(int argc, char** argv) {
    int rounds = 5;
    std::string suite;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--tiny") {
            rounds = 1;
            suite = "identify";
        } else if (arg == "--rounds" && i + 1 < argc) {
            rounds = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--suite" && i + 1 < argc) {
            suite = argv[++i];
        } else {
            fmt::print(stderr, "usage: bench_lab_run [--tiny] [--rounds N] [--suite ID]\n");
            return 2;
        }
    }
    const fs::path cardharness = bench::cardharness_binary();
    const fs::path driver = bench::driver_library();
    bench::require_private_pcscd({cardharness, driver});

    bench::TempDir tmp;
    const fs::path lab_dir = tmp.path() / "lab";
    const std::map<std::string, std::string> env{
        {"CARDHARNESS_IFD_DRIVER", driver.string()},
        {"CARDHARNESS_STATE_DIR", (tmp.path() / "state").string()}};

    const auto lab_start_stop = [&] {
        const auto started = Clock::now();
        const auto [start_rc, out] =
            bench::run({cardharness, "lab", "start", "--dir", lab_dir}, env, true);
        if (start_rc != 0)
            bench::fail(
                fmt::format("lab start exited {} (see {}/lab.log)", start_rc, lab_dir.string()));
        const auto [stop_rc, ignored] =
            bench::run({cardharness, "lab", "stop", "--dir", lab_dir}, env, true);
        if (stop_rc != 0)
            bench::fail(fmt::format("lab stop exited {}", stop_rc));
        return bench::milliseconds_since(started);
    };
    const auto lab_run = [&](int index) {
        Round r;
        const fs::path db = tmp.path() / fmt::format("run{}.db", index);
        std::vector<std::string> args{cardharness, "run",  "--lab", "--lab-dir", lab_dir,
                                      "--all",     "--db", db,      "--quiet"};
        if (!suite.empty()) {
            args.emplace_back("--suite");
            args.push_back(suite);
        }
        const auto started = Clock::now();
        const auto [rc, out] = bench::run(args, env, true);
        r.run_ms = bench::milliseconds_since(started);
        // 0: every verdict compatible; 1: some reader is not (the lab has such models).
        if (rc != 0 && rc != 1)
            bench::fail(fmt::format("run --lab --all exited {}: {}", rc, out));
        const auto spans = session_spans(db);
        std::map<std::string, std::int64_t> chain;
        std::int64_t first = spans.front().begin;
        for (const auto& s : spans) {
            chain[s.reader] += s.end - s.begin;
            first = std::min(first, s.begin);
        }
        std::int64_t longest = 0;
        for (const auto& [reader, us] : chain)
            longest = std::max(longest, us);
        r.chain_ms = static_cast<double>(longest) / 1000.0;
        r.readers = chain.size();
        r.sessions = spans.size();
        r.peak = peak_overlap(spans);
        r.first_start_ms = static_cast<double>(first) / 1000.0;
        return r;
    };

    // Warm-up (not counted): the first start may generate the emulators' test PKI.
    lab_start_stop();

    std::vector<double> run_ms, base_ms, chain_ms, lab_ms, ratios;
    Round last;
    for (int i = 0; i < rounds; ++i) {
        const double lab = lab_start_stop();
        last = lab_run(i);
        last.lab_ms = lab;
        if (last.readers > 1 && last.peak < 2)
            bench::fail(fmt::format("the lab's {} readers did not run at once: at most {} of "
                                    "their {} sessions overlapped (steps' start times)",
                                    last.readers, last.peak, last.sessions));
        run_ms.push_back(last.run_ms);
        chain_ms.push_back(last.chain_ms);
        lab_ms.push_back(lab);
        base_ms.push_back(last.chain_ms + lab);
        ratios.push_back(last.run_ms / (last.chain_ms + lab));
    }
    if (last.readers < 2)
        bench::fail("the lab run tested fewer than two readers: nothing to overlap");
    const double wall = bench::median(run_ms);
    const double base = bench::median(base_ms);
    fmt::print("run --lab --all{}: {} readers, {} sessions, at most {} at once; the first began "
               "{:.0f} ms after the run's start ({} rounds, medians)\n",
               suite.empty() ? "" : " --suite " + suite, last.readers, last.sessions, last.peak,
               last.first_start_ms, rounds);
    fmt::print("  wall time                                : {:9.1f} ms\n", wall);
    fmt::print("  longest chain of sessions on one reader  : {:9.1f} ms\n",
               bench::median(chain_ms));
    fmt::print("  lab start + stop                         : {:9.1f} ms\n", bench::median(lab_ms));
    fmt::print("  ratio per round: ");
    for (double r : ratios)
        fmt::print(" {:.2f}", r);
    fmt::print("\n");
    bench::result("run --lab --all wall time", wall, base, "ms", "<= 1.30x chain + lab",
                  wall <= 1.30 * base);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded([&] { return run(argc, argv); });
}
