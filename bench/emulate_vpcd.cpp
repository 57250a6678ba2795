// `cardharness emulate --vpcd` per APDU: the raw C loop (bench/pcsc_loop.c) through pcscd →
// vsmartcard vpcd → `cardharness emulate` serving a card that answers at once; against its
// baseline in the same run, on the other slot of the same vpcd reader, in the same pcsc_loop
// process with the batches taking turns: a minimal vpcd card (bench/vpcd_min_card.c). Goal (issue
// 11): within 2×. Needs root and vsmartcard-vpcd; exits 77 otherwise. Usage: bench_emulate_vpcd
// [--tiny] [--rounds N] [--apdus N]
#include "backends/lab/lab_process.hpp"
#include "bench_support.hpp"

using namespace harness;
namespace fs = std::filesystem;
using bench::Clock;

namespace {

int run(int argc, char** argv) {
    int rounds = 7;
    long apdus = 1000;
    long batches = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--tiny") {
            rounds = 1;
            apdus = 50;
            batches = 1;
        } else if (arg == "--rounds" && i + 1 < argc) {
            rounds = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--apdus" && i + 1 < argc) {
            apdus = std::max(1L, std::atol(argv[++i]));
        } else {
            fmt::print(stderr, "usage: bench_emulate_vpcd [--tiny] [--rounds N] [--apdus N]\n");
            return 2;
        }
    }
    const fs::path cardharness = bench::cardharness_binary();
    const fs::path loop = bench::bench_program("pcsc_loop");
    const fs::path min_card = bench::bench_program("vpcd_min_card");
    const fs::path pcscd =
        bench::require_private_pcscd({cardharness, loop, min_card, bench::vpcd_driver()});

    bench::TempDir tmp;
    const fs::path profiles = bench::bench_profiles(tmp.path());
    fs::create_directories(tmp.path() / "reader.conf.d");
    const int port = bench::free_port_pair();
    std::ofstream(tmp.path() / "reader.conf.d" / "vpcd.conf")
        << fmt::format("FRIENDLYNAME \"Bench vpcd\"\nDEVICENAME /dev/null:{}\nLIBPATH {}\n", port,
                       bench::vpcd_driver().string());
    labd::PcscdOptions po;
    po.pcscd = pcscd;
    po.conf_dir = tmp.path() / "reader.conf.d";
    po.run_dir = tmp.path() / "run";
    po.log = tmp.path() / "pcscd.log";
    const pid_t pcscd_pid = labd::spawn_private_pcscd(po);
    const std::string socket = labd::pcscd_socket(po.run_dir).string();
    const bench::Spawned emulate = bench::spawn({cardharness, "emulate", "--card", "bench-zero",
                                                 "--vpcd", fmt::format("127.0.0.1:{}", port), "-q"},
                                                {{"CARDHARNESS_PROFILES_DIR", profiles.string()}});
    const bench::Spawned card = bench::spawn({min_card, std::to_string(port + 1)});
    struct Stopper {
        pid_t emulate, card, pcscd;
        ~Stopper() {
            bench::stop(emulate);
            bench::stop(card);
            labd::terminate(pcscd);
        }
    } stopper{emulate.pid, card.pid, pcscd_pid};
    if (!bench::wait_socket(socket, std::chrono::seconds(10)))
        bench::fail("pcscd did not come up (see " + po.log.string() + ")");

    const std::string emulated = "Bench vpcd 00 00";
    const std::string minimal_card = "Bench vpcd 00 01";
    // One process, both slots, their batches taking turns: the same load for both.
    const auto measure = [&](long n, long b) -> std::optional<std::pair<double, double>> {
        const auto [rc, out] =
            bench::run({loop, "-r", emulated, "-r", minimal_card, "-n", std::to_string(n), "-b",
                        std::to_string(b), "-w", "20", bench::select_jpki},
                       {{"PCSCLITE_CSOCK_NAME", socket}}, true);
        if (rc != 0)
            return std::nullopt;
        return std::pair{bench::loop_median_us(out, emulated),
                         bench::loop_median_us(out, minimal_card)};
    };
    // The emulator may generate its test PKI first (seconds); both cards must answer.
    const auto ready_by = Clock::now() + std::chrono::seconds(120);
    while (!measure(1, 1))
        if (Clock::now() > ready_by)
            bench::fail("no card in both vpcd slots within 120 s");

    std::vector<double> ours, minimal;
    for (int r = 0; r < rounds; ++r) {
        const auto m = measure(apdus, batches);
        if (!m)
            bench::fail("pcsc_loop failed");
        ours.push_back(m->first);
        minimal.push_back(m->second);
    }
    const double candidate = bench::median(ours);
    const double baseline = bench::median(minimal);
    fmt::print("per APDU (median of {} rounds x {} batches x {} APDUs)\n", rounds, batches, apdus);
    fmt::print("  pcscd -> vpcd -> cardharness emulate : {:8.2f} us\n", candidate);
    fmt::print("  pcscd -> vpcd -> minimal vpcd card   : {:8.2f} us\n", baseline);
    bench::result("emulate --vpcd per APDU", candidate, baseline, "us", "<= 2.00x",
                  candidate <= 2.0 * baseline);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded([&] { return run(argc, argv); });
}
