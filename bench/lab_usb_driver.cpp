// Per-APDU cost of a lab reader through the system's CCID driver (`lab start --usb`: pcscd +
// libccid + libusb + umockdev + our CCID firmware) as a ratio against the same reader model
// through our own reader driver (`lab start`), measured in the same run, interleaved (machines
// here are shared and noisy). Zero-latency reader models and a card profile with zero processing
// time, so only the path is measured. Then where the time goes on the USB path: usbdevfs ioctls
// per APDU (each one a round trip through umockdev's preload socket), the handler's own time,
// CCID messages and T=1 blocks per APDU.
//
// Usage (root: each lab runs a private pcscd in a mount namespace):
//   bench_lab_usb_driver [APDUs per measurement, default 400] [rounds, default 5]
// A child mode measures one reader on the pcscd PCSCLITE_CSOCK_NAME names (libpcsclite keeps the
// first socket name it reads, so one process talks to one pcscd):
//   bench_lab_usb_driver --measure READER COUNT
#include "backends/pcsc/card.hpp"
#include "backends/pcsc/context.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace harness;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// SELECT the JPKI AP, SELECT EF 000A, then READ BINARY of its first 4 bytes, repeated: short
// commands and answers, the everyday traffic of a suite.
const std::array<Bytes, 3> apdus{
    Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01},
    Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A}, Bytes{0x00, 0xB0, 0x00, 0x00, 0x04}};

int measure(const std::string& reader, int count) {
    pcsc::Context context;
    pcsc::Card card(context, reader);
    for (int i = 0; i < 20; ++i) // warm-up: connection, first T=1 blocks, IFSD
        card.transmit(apdus[static_cast<std::size_t>(i) % apdus.size()]);
    const auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
        const Bytes r = card.transmit(apdus[static_cast<std::size_t>(i) % apdus.size()]);
        if (r.size() < 2 || r[r.size() - 2] != 0x90)
            std::abort();
    }
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    fmt::print("{:.3f}\n", us / count);
    return 0;
}

std::string run(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return out;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        out.append(buffer.data(), n);
    ::pclose(pipe);
    return out;
}

std::string quote(const std::string& s) {
    return "'" + s + "'";
}

struct Lab {
    std::string dir;
    std::string socket;
    bool usb = false;
};

nlohmann::json status(const std::string& self_dir, const Lab& lab) {
    const std::string out =
        run(quote(self_dir + "/../bin/cardharness") + " lab status --json --dir " + quote(lab.dir));
    return nlohmann::json::parse(out, nullptr, false);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--measure")
        return measure(argv[2], std::atoi(argv[3]));
    const int count = argc > 1 ? std::atoi(argv[1]) : 400;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
    if (::geteuid() != 0) {
        fmt::print(stderr, "bench_lab_usb_driver: needs root (private pcscd per lab)\n");
        return 77;
    }
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const std::string self_dir = fs::path(self).parent_path().string();
    const std::string cli = self_dir + "/../bin/cardharness";

    // Profiles: the shipped ones plus two zero-latency models and a zero-time card.
    const fs::path work = fs::temp_directory_path() / fmt::format("chbench.{}", ::getpid());
    fs::create_directories(work);
    const fs::path profiles = work / "profiles";
    fs::copy(fs::path(CARDHARNESS_SOURCE_DIR) / "profiles", profiles, fs::copy_options::recursive);
    std::ofstream(profiles / "readers" / "lab_bench.csv")
        << "id,manufacturer,product,vendor_id,product_id,bcd_device,serial,interfaces,exchange,"
           "max_message_length,protocols,pps,le_zero,chain_corrupt_above,wtx,timeout_ms,"
           "latency_us,flaky_every,status,notes\n"
           "bench-tpdu,Cardharness Virtual Lab,Lab Bench TPDU,0xF1AB,0xBE01,0x0100,BENCH-TPDU,"
           "contact,tpdu,271,t0+t1,driver,pass,,yes,10000,0,0,virtual,bench\n"
           "bench-ext,Cardharness Virtual Lab,Lab Bench Extended,0xF1AB,0xBE02,0x0100,BENCH-EXT,"
           "contact,extended_apdu,522,t0+t1,auto,pass,,yes,10000,0,0,virtual,bench\n";
    {
        std::ifstream in(profiles / "cards" / "cards.csv");
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        all += "mynumber-bench,mynumber,contact,3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 "
               "C0 3B,yes,fci,6B00,9000,,0,0,0,0,0,\"benchmark: no card time\"\n";
        std::ofstream(profiles / "cards" / "cards.csv") << all;
    }
    const fs::path lab_file = work / "bench_lab.csv";
    std::ofstream(lab_file) << "slot,reader_model,card,interface,citizen\n"
                               "b1,bench-tpdu,mynumber-bench,contact,no\n"
                               "b2,bench-ext,mynumber-bench,contact,no\n";
    ::setenv("CARDHARNESS_PROFILES_DIR", profiles.c_str(), 1);

    std::vector<Lab> labs{{(work / "ifd").string(), "", false},
                          {(work / "usb").string(), "", true}};
    for (auto& lab : labs) {
        const std::string out =
            run(quote(cli) + " lab start --lab " + quote(lab_file.string()) + " --dir " +
                quote(lab.dir) + (lab.usb ? " --usb" : "") + " 2>/dev/null");
        const std::string prefix = "export PCSCLITE_CSOCK_NAME=";
        const auto at = out.find(prefix);
        if (at == std::string::npos) {
            fmt::print(stderr, "bench_lab_usb_driver: lab start{} failed\n",
                       lab.usb ? " --usb" : "");
            for (auto& l : labs)
                run(quote(cli) + " lab stop --dir " + quote(l.dir) + " 2>/dev/null");
            return 3;
        }
        lab.socket = out.substr(at + prefix.size(), out.find('\n', at) - at - prefix.size());
    }

    const auto child = [&](const Lab& lab, const std::string& reader) {
        const std::string out = run("PCSCLITE_CSOCK_NAME=" + quote(lab.socket) + " " + quote(self) +
                                    " --measure " + quote(reader) + " " + std::to_string(count));
        return std::atof(out.c_str());
    };
    fmt::print("per APDU (SELECT, SELECT, READ BINARY 4; {} APDUs x {} rounds, medians)\n", count,
               rounds);
    fmt::print("{:<12} {:>16} {:>16} {:>7}   {}\n", "model", "our driver µs", "libccid µs", "ratio",
               "USB path per APDU: ioctls (empty reaps), handler µs, CCID messages, T=1 blocks");
    for (const char* slot : {"b1", "b2"}) {
        std::map<bool, std::string> names;
        for (const auto& lab : labs) {
            const auto s = status(self_dir, lab);
            for (const auto& x : s["slots"])
                if (x["slot"] == slot)
                    names[lab.usb] = x["pcsc_reader"].get<std::string>();
        }
        std::vector<double> ours, usb;
        const auto before = status(self_dir, labs[1]);
        for (int r = 0; r < rounds; ++r) {
            ours.push_back(child(labs[0], names[false]));
            usb.push_back(child(labs[1], names[true]));
        }
        const auto after = status(self_dir, labs[1]);
        const auto slot_of = [&](const nlohmann::json& s) {
            for (const auto& x : s["slots"])
                if (x["slot"] == slot)
                    return x;
            return nlohmann::json::object();
        };
        const auto b = slot_of(before), a = slot_of(after);
        const double n = static_cast<double>(rounds) * (count + 20);
        const auto per = [&](const char* group, const char* key) {
            return (a[group][key].get<double>() - b[group][key].get<double>()) / n;
        };
        const double o = median(ours), u = median(usb);
        fmt::print(
            "{:<12} {:>16.1f} {:>16.1f} {:>7.2f}   {:.1f} ({:.1f}), {:.1f}, {:.1f}, {:.1f}\n",
            slot == std::string("b1") ? "bench-tpdu" : "bench-ext", o, u, u / o,
            per("usb_device", "ioctls"), per("usb_device", "reaps_empty"),
            per("usb_device", "handler_us"),
            per("firmware", "bulk_out") + per("firmware", "bulk_in"), per("firmware", "t1_blocks"));
    }
    for (const auto& lab : labs)
        run(quote(cli) + " lab stop --dir " + quote(lab.dir) + " 2>/dev/null");
    std::error_code ec;
    fs::remove_all(work, ec);
    return 0;
}
