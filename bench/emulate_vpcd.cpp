// `cardharness emulate --vpcd` per APDU: the raw C loop (bench/pcsc_loop.c) through pcscd →
// vsmartcard vpcd → `cardharness emulate` serving a card that answers at once; against its
// baseline in the same run, interleaved, on the other slot of the same vpcd reader: a minimal vpcd
// card (bench/vpcd_min_card.c). Goal (issue 11): within 2×. Needs root and vsmartcard-vpcd;
// exits 77 otherwise.
// Usage: bench_emulate_vpcd [--tiny] [--rounds N] [--apdus N]
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
    bench::require_root_and({cardharness, loop, min_card, bench::vpcd_driver()});
    const auto pcscd = labd::find_executable("pcscd");
    if (!pcscd)
        bench::skip("pcscd not found");
    if (!labd::unshare_permitted())
        bench::skip("unshare(CLONE_NEWNS) is not permitted here");

    bench::TempDir tmp;
    const fs::path profiles = bench::bench_profiles(tmp.path());
    fs::create_directories(tmp.path() / "reader.conf.d");
    const int port = bench::free_port_pair();
    std::ofstream(tmp.path() / "reader.conf.d" / "vpcd.conf")
        << fmt::format("FRIENDLYNAME \"Bench vpcd\"\nDEVICENAME /dev/null:{}\nLIBPATH {}\n", port,
                       bench::vpcd_driver().string());
    labd::PcscdOptions po;
    po.pcscd = *pcscd;
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

    const auto measure = [&](const std::string& reader, long n, long b) {
        const auto [rc, out] = bench::run({loop, "-r", reader, "-n", std::to_string(n), "-b",
                                           std::to_string(b), "-w", "20", bench::select_jpki},
                                          {{"PCSCLITE_CSOCK_NAME", socket}}, true);
        if (rc != 0)
            return -1.0;
        return bench::loop_median_us(out, reader);
    };
    // The emulator may generate its test PKI first (seconds); both cards must answer.
    const auto ready_by = bench::Clock::now() + std::chrono::seconds(120);
    for (const char* reader : {"Bench vpcd 00 00", "Bench vpcd 00 01"})
        while (measure(reader, 1, 1) < 0)
            if (bench::Clock::now() > ready_by)
                bench::fail(std::string("no card in ") + reader);

    std::vector<double> ours, minimal;
    for (int r = 0; r < rounds; ++r) {
        const double base = measure("Bench vpcd 00 01", apdus, batches);
        const double emulated = measure("Bench vpcd 00 00", apdus, batches);
        if (base < 0 || emulated < 0)
            bench::fail("pcsc_loop failed");
        minimal.push_back(base);
        ours.push_back(emulated);
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
