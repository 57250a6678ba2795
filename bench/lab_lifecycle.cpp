// `cardharness lab start` + `cardharness lab stop` (the default lab, every reader through our
// driver) against its baseline measured in the same run, interleaved: a bare private pcscd
// started with the same reader.conf (its readers answered by the same lab, served from this
// process) until it lists every reader, then stopped with SIGTERM. Goal (issue 11): start + stop
// under 0.3 s. Needs root; exits 77 otherwise.
// Usage: bench_lab_lifecycle [--tiny] [--rounds N]
#include "backends/lab/lab_daemon.hpp"
#include "backends/lab/lab_process.hpp"
#include "backends/lab/lab_socket.hpp"
#include "bench_support.hpp"
#include "cli/lab_spec.hpp"
#include "services/lab/lab.hpp"

#include <memory>
#include <thread>

using namespace harness;
namespace fs = std::filesystem;
using bench::Clock;

namespace {

struct Timing {
    double start_ms = 0;
    double stop_ms = 0;
};

// The baseline: what pcscd itself costs with the lab's reader.conf.
Timing bare_pcscd(const labd::LabSpec& spec, const fs::path& dir) {
    // A fresh lab per round (not timed): it must see pcscd open every reader anew.
    lab::Lab lab(spec.models, spec.slots, spec.factory, spec.probe);
    lab.set_real_time(true);
    const fs::path socket = dir / "lab.sock";
    fs::create_directories(dir);
    labd::Server server(lab, socket);
    std::thread serving([&] { server.run(); });
    fs::create_directories(dir / "reader.conf.d");
    std::ofstream(dir / "reader.conf.d" / "cardharness-lab.conf")
        << labd::reader_conf(lab, socket, spec.driver);
    labd::PcscdOptions po;
    po.pcscd = spec.pcscd;
    po.conf_dir = dir / "reader.conf.d";
    po.run_dir = dir / "run";
    po.log = dir / "pcscd.log";
    std::error_code ec;
    fs::remove(labd::pcscd_socket(po.run_dir), ec);

    Timing t;
    const auto started = Clock::now();
    const pid_t pid = labd::spawn_private_pcscd(po);
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (!(bench::wait_socket(labd::pcscd_socket(po.run_dir), std::chrono::milliseconds(1)) &&
             lab.all_slots_opened())) {
        if (Clock::now() > deadline)
            bench::fail("the bare pcscd did not open every reader within 30 s (see " +
                        po.log.string() + ")");
    }
    t.start_ms = bench::milliseconds_since(started);
    const auto stopping = Clock::now();
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    t.stop_ms = bench::milliseconds_since(stopping);
    server.stop();
    serving.join();
    return t;
}

// The candidate: the commands, as a user runs them.
Timing lab_commands(const fs::path& cardharness, const fs::path& dir,
                    const std::map<std::string, std::string>& env) {
    Timing t;
    const auto started = Clock::now();
    const auto [start_rc, out] = bench::run({cardharness, "lab", "start", "--dir", dir}, env, true);
    t.start_ms = bench::milliseconds_since(started);
    if (start_rc != 0 || out.find("PCSCLITE_CSOCK_NAME=") == std::string::npos)
        bench::fail(fmt::format("lab start exited {} (see {}/lab.log)", start_rc, dir.string()));
    const auto stopping = Clock::now();
    const auto [stop_rc, ignored] =
        bench::run({cardharness, "lab", "stop", "--dir", dir}, env, true);
    t.stop_ms = bench::milliseconds_since(stopping);
    if (stop_rc != 0)
        bench::fail(fmt::format("lab stop exited {}", stop_rc));
    return t;
}

} // namespace

namespace {

int run(int argc, char** argv) {
    int rounds = 10;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--tiny")
            rounds = 1;
        else if (arg == "--rounds" && i + 1 < argc)
            rounds = std::max(1, std::atoi(argv[++i]));
        else {
            fmt::print(stderr, "usage: bench_lab_lifecycle [--tiny] [--rounds N]\n");
            return 2;
        }
    }
    const fs::path cardharness = bench::cardharness_binary();
    const fs::path driver = bench::driver_library();
    bench::require_private_pcscd({cardharness, driver});
    ::setenv("CARDHARNESS_IFD_DRIVER", driver.c_str(), 1);
    const std::map<std::string, std::string> env{{"CARDHARNESS_IFD_DRIVER", driver.string()}};

    bench::TempDir tmp;
    const fs::path lab_dir = tmp.path() / "lab";
    const fs::path base_dir = tmp.path() / "base";
    cli::LabSpecRequest request;
    request.dir = base_dir.string();
    const labd::LabSpec spec = cli::make_lab_spec(request);

    // Warm-up (not counted): the first start may generate the emulators' test PKI.
    lab_commands(cardharness, lab_dir, env);
    bare_pcscd(spec, base_dir);

    std::vector<double> lab_start, lab_stop, lab_total, base_start, base_stop, base_total;
    for (int r = 0; r < rounds; ++r) {
        const Timing base = bare_pcscd(spec, base_dir);
        const Timing lab = lab_commands(cardharness, lab_dir, env);
        base_start.push_back(base.start_ms);
        base_stop.push_back(base.stop_ms);
        base_total.push_back(base.start_ms + base.stop_ms);
        lab_start.push_back(lab.start_ms);
        lab_stop.push_back(lab.stop_ms);
        lab_total.push_back(lab.start_ms + lab.stop_ms);
    }
    const double total = bench::median(lab_total);
    fmt::print("lab with {} readers, {} rounds (medians)\n", spec.slots.size(), rounds);
    fmt::print("{:<22} {:>10} {:>10} {:>10}\n", "", "start ms", "stop ms", "total ms");
    fmt::print("{:<22} {:>10.1f} {:>10.1f} {:>10.1f}\n", "cardharness lab",
               bench::median(lab_start), bench::median(lab_stop), total);
    fmt::print("{:<22} {:>10.1f} {:>10.1f} {:>10.1f}\n", "bare private pcscd",
               bench::median(base_start), bench::median(base_stop), bench::median(base_total));
    bench::result("lab start", bench::median(lab_start), bench::median(base_start), "ms", "", {});
    bench::result("lab stop", bench::median(lab_stop), bench::median(base_stop), "ms", "", {});
    bench::result("lab start + stop", total, bench::median(base_total), "ms", "< 300 ms total",
                  total < 300);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded([&] { return run(argc, argv); });
}
