// Fills a results database with copies of real runs, through the store's own API (so the copies
// have every column the store writes, whatever its schema version): for push tests and the
// push benchmark. Usage:
//   store_copies SRC_DB DST_DB RUNS [--repeat K] [--seed S]
// Copy i is run (i mod n) of SRC_DB (oldest first) with a fresh UUID derived from the seed and i,
// a start time i seconds after 2025-03-01, and each session's suites repeated K times (default
// 1: K times the steps, same sessions).
// DST_DB is created when missing; copies are added to what it holds. Prints the step count.
#include "model/run.hpp"
#include "services/store/store.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

using namespace harness;

std::string copy_uuid(unsigned long seed, unsigned long i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08lx-0000-4000-8000-%012lx", seed & 0xffffffffUL, i);
    return buf;
}

std::string copy_time(unsigned long i) {
    const unsigned long day = 1 + i / 86400, rest = i % 86400;
    char buf[32];
    std::snprintf(buf, sizeof buf, "2025-03-%02luT%02lu:%02lu:%02luZ", day, rest / 3600,
                  (rest / 60) % 60, rest % 60);
    return buf;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: store_copies SRC_DB DST_DB RUNS [--repeat K] [--seed S]\n");
        return 2;
    }
    try {
        const std::string src_path = argv[1];
        const std::string dst_path = argv[2];
        const unsigned long runs = std::stoul(argv[3]);
        unsigned long repeat = 1;
        unsigned long seed = 1;
        for (int a = 4; a + 1 < argc; a += 2) {
            const std::string opt = argv[a];
            if (opt == "--repeat")
                repeat = std::stoul(argv[a + 1]);
            else if (opt == "--seed")
                seed = std::stoul(argv[a + 1]);
            else
                throw std::invalid_argument("unknown option " + opt);
        }
        if (repeat < 1 || repeat > 10000 || runs > 1000000)
            throw std::invalid_argument("--repeat 1..10000, RUNS up to 1000000");
        store::Store src(src_path);
        auto summaries = src.list_runs(); // newest first
        if (summaries.empty())
            throw std::invalid_argument(src_path + " holds no run");
        std::vector<model::Run> originals;
        for (auto it = summaries.rbegin(); it != summaries.rend(); ++it)
            originals.push_back(*src.load_run(it->uuid));
        store::Store dst(dst_path);
        std::size_t steps = 0;
        for (unsigned long i = 0; i < runs; ++i) {
            model::Run run = originals[i % originals.size()];
            const auto status = run.status;
            run.uuid = copy_uuid(seed, i);
            run.started_at = copy_time(i);
            run.ended_at = copy_time(i + 1);
            run.status = model::RunStatus::Running;
            dst.begin_run(run);
            for (auto session : run.sessions) {
                const auto suites = session.suites;
                for (unsigned long k = 1; k < repeat; ++k)
                    session.suites.insert(session.suites.end(), suites.begin(), suites.end());
                dst.add_session(run.uuid, session);
                for (const auto& suite : session.suites)
                    steps += suite.steps.size();
            }
            dst.finish_run(run.uuid, status, run.cause, run.ended_at, run.verdicts);
        }
        std::printf("%zu\n", steps);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store_copies: %s\n", e.what());
        return 1;
    }
}
