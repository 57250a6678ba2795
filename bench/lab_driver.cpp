// The lab driver path per APDU: the raw C loop (bench/pcsc_loop.c, SCardTransmit) through
// pcscd → our reader driver → the lab process → a card that answers at once, in a reader model
// without added latency; against its baseline in the same run: the same loop, in the same
// process and through the same pcscd (the lab's, given a vpcd reader with --reader-conf), batches
// taking turns, through vsmartcard vpcd → a minimal vpcd card (bench/vpcd_min_card.c). Goal (issue
// 11): within 1.1×, with one connection per reader (the lab's connection count is checked: it must
// not grow with the calls). Needs root and vsmartcard-vpcd; exits 77 otherwise. Usage:
// bench_lab_driver [--tiny] [--rounds N] [--apdus N] [--no-connection-check]
// (--no-connection-check: for measuring an older build whose lab does not log its connections)
#include "backends/lab/lab_process.hpp"
#include "bench_support.hpp"

#include <regex>

using namespace harness;
namespace fs = std::filesystem;
using bench::Clock;

namespace {

int run(int argc, char** argv) {
    int rounds = 7;
    long apdus = 2000;
    long batches = 5;
    bool check_connections = true;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--tiny") {
            rounds = 1;
            apdus = 50;
            batches = 1;
        } else if (arg == "--rounds" && i + 1 < argc) {
            rounds = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--no-connection-check") {
            check_connections = false;
        } else if (arg == "--apdus" && i + 1 < argc) {
            apdus = std::max(1L, std::atol(argv[++i]));
        } else {
            fmt::print(stderr, "usage: bench_lab_driver [--tiny] [--rounds N] [--apdus N] "
                               "[--no-connection-check]\n");
            return 2;
        }
    }
    const fs::path cardharness = bench::cardharness_binary();
    const fs::path driver = bench::driver_library();
    const fs::path loop = bench::bench_program("pcsc_loop");
    const fs::path min_card = bench::bench_program("vpcd_min_card");
    bench::require_private_pcscd({cardharness, driver, loop, min_card, bench::vpcd_driver()});

    bench::TempDir tmp;
    const fs::path profiles = bench::bench_profiles(tmp.path());
    const fs::path lab_dir = tmp.path() / "lab";
    const std::map<std::string, std::string> env{{"CARDHARNESS_IFD_DRIVER", driver.string()},
                                                 {"CARDHARNESS_PROFILES_DIR", profiles.string()}};

    // Both paths in one pcscd, the lab's: its slot b01 (the zero-latency model with the zero-time
    // card) and a vpcd reader whose first slot holds the minimal card.
    const int port = bench::free_port_pair();
    const fs::path vpcd_conf = tmp.path() / "vpcd.conf";
    std::ofstream(vpcd_conf) << fmt::format(
        "FRIENDLYNAME \"Bench vpcd\"\nDEVICENAME /dev/null:{}\nLIBPATH {}\n", port,
        bench::vpcd_driver().string());
    bench::StartedLab started_lab(
        cardharness, lab_dir,
        {"--lab", profiles / "labs" / "bench.csv", "--reader-conf", vpcd_conf}, env);
    const std::string socket = started_lab.socket();
    const bench::Spawned card = bench::spawn({min_card, std::to_string(port)});
    struct CardStopper {
        pid_t pid;
        ~CardStopper() { bench::stop(pid); }
    } card_stopper{card.pid};

    const std::string lab_reader = "Lab Bench Zero Latency (b01)";
    const std::string vpcd_reader = "Bench vpcd";
    // One process, both readers, their batches taking turns: the same load for both.
    const auto measure = [&](long n, long b) -> std::optional<std::pair<double, double>> {
        const auto [rc, out] =
            bench::run({loop, "-r", lab_reader, "-r", vpcd_reader, "-n", std::to_string(n), "-b",
                        std::to_string(b), "-w", "20", bench::select_jpki},
                       {{"PCSCLITE_CSOCK_NAME", socket}}, true);
        if (rc != 0)
            return std::nullopt;
        return std::pair{bench::loop_median_us(out, lab_reader),
                         bench::loop_median_us(out, vpcd_reader)};
    };
    // The card reaches vpcd a moment after pcscd is up: wait until an APDU goes through.
    const auto ready_by = Clock::now() + std::chrono::seconds(15);
    while (!measure(1, 1))
        if (Clock::now() > ready_by)
            bench::fail("no card in the vpcd slot within 15 s");

    std::vector<double> lab, vpcd;
    for (int r = 0; r < rounds; ++r) {
        const auto m = measure(apdus, batches);
        if (!m)
            bench::fail("pcsc_loop failed");
        lab.push_back(m->first);
        vpcd.push_back(m->second);
    }
    started_lab.stop();

    // One connection per reader: the lab logs how many it accepted over its life.
    std::ifstream log(lab_dir / "lab.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    std::smatch m;
    long connections = -1;
    long requests = -1;
    if (std::regex_search(text, m, std::regex(R"(served (\d+) connections, (\d+) requests)"))) {
        connections = std::stol(m[1]);
        requests = std::stol(m[2]);
    } else if (check_connections) {
        bench::fail("the lab log does not say how many connections it served");
    }
    const long transmits = rounds * (apdus * batches + 20);

    const double ours = bench::median(lab);
    const double base = bench::median(vpcd);
    fmt::print("per APDU (median of {} rounds x {} batches x {} APDUs)\n", rounds, batches, apdus);
    fmt::print("  pcscd -> our driver -> lab -> zero-time card : {:8.2f} us\n", ours);
    fmt::print("  pcscd -> vpcd -> minimal vpcd card           : {:8.2f} us\n", base);
    fmt::print("  lab connections: {} for {} requests ({} transmits)\n", connections, requests,
               transmits);
    bench::result("lab driver path per APDU", ours, base, "us", "<= 1.10x", ours <= 1.10 * base);
    // A reader's driver keeps two connections (calls, card events); the commands add one each.
    if (check_connections && connections > 16)
        bench::fail(fmt::format("the lab accepted {} connections for one reader: the driver "
                                "does not keep its connection",
                                connections));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded([&] { return run(argc, argv); });
}
