// Parse throughput of apdu::parse, apdu::parse_response and tlv::parse_one, as a ratio against
// copying the same bytes with memcpy in the same run (machines here are shared and noisy).
// Usage: bench_apdu_parse [--tiny | seconds per measurement, default 0.2]
#include "pure/apdu.hpp"
#include "pure/tlv.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <string_view>
#include <vector>

using namespace harness;

namespace {

using Clock = std::chrono::steady_clock;

Bytes filler(std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::uint8_t>(i * 31 + 7);
    return out;
}

// The commands a JPKI session sends, plus the extended forms of the transport suite.
std::vector<Bytes> command_workload() {
    const Bytes aid{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
    std::vector<Bytes> out;
    out.push_back(apdu::encode(apdu::select_aid(aid)));
    out.push_back(apdu::encode(apdu::select_ef(0x000A)));
    out.push_back(apdu::encode(apdu::read_binary(0, 4)));
    out.push_back(apdu::encode(apdu::read_binary(4, 256)));
    out.push_back(apdu::encode(apdu::case1(0x00, 0x20, 0x00, 0x80)));
    out.push_back(apdu::encode(apdu::case4(0x80, 0x2A, 0x00, 0x80, filler(51), 256)));
    out.push_back(apdu::encode(apdu::read_binary(0, 65536)));
    out.push_back(apdu::encode(apdu::case4(0x00, 0xD6, 0x00, 0x00, filler(300), 300)));
    return out;
}

std::vector<Bytes> response_workload() {
    std::vector<Bytes> out;
    for (std::size_t n : {0U, 4U, 256U, 256U, 128U}) {
        Bytes r = filler(n);
        r.push_back(0x90);
        r.push_back(0x00);
        out.push_back(std::move(r));
    }
    out.push_back(Bytes{0x63, 0xC3});
    out.push_back(Bytes{0x6A, 0x82});
    return out;
}

Bytes certificate_workload() {
    auto der = [](std::uint32_t tag, const Bytes& value) { return tlv::encode(tag, value); };
    auto cat = [](std::initializer_list<Bytes> parts) {
        Bytes out;
        for (const Bytes& p : parts)
            out.insert(out.end(), p.begin(), p.end());
        return out;
    };
    const Bytes alg = der(0x30, cat({der(0x06, filler(9)), Bytes{0x05, 0x00}}));
    const Bytes name =
        der(0x30, cat({der(0x31, der(0x30, cat({der(0x06, filler(3)), der(0x13, filler(2))}))),
                       der(0x31, der(0x30, cat({der(0x06, filler(3)), der(0x0C, filler(14))})))}));
    const Bytes tbs =
        der(0x30, cat({der(0xA0, der(0x02, Bytes{0x02})), der(0x02, filler(8)), alg, name,
                       der(0x30, cat({der(0x17, filler(13)), der(0x17, filler(13))})), name,
                       der(0x30, cat({alg, der(0x03, filler(271))})),
                       der(0xA3, der(0x30, cat({der(0x30, cat({der(0x06, filler(3)),
                                                               der(0x04, filler(560))}))})))}));
    return der(0x30, cat({tbs, alg, der(0x03, filler(257))}));
}

// Runs body repeatedly for about `seconds`, five times; returns the best nanoseconds per call.
double best_ns_per_call(double seconds, const std::function<std::size_t()>& body,
                        std::size_t& sink) {
    std::size_t calls = 1;
    while (true) { // calibrate
        const auto start = Clock::now();
        for (std::size_t i = 0; i < calls; ++i)
            sink += body();
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        if (elapsed > seconds / 10 || calls > (1U << 30))
            break;
        calls *= 2;
    }
    calls *= 10;
    double best = 1e300;
    for (int round = 0; round < 5; ++round) {
        const auto start = Clock::now();
        for (std::size_t i = 0; i < calls; ++i)
            sink += body();
        const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
        best = std::min(best, ns / static_cast<double>(calls));
    }
    return best;
}

std::size_t total_size(const std::vector<Bytes>& items) {
    std::size_t n = 0;
    for (const Bytes& b : items)
        n += b.size();
    return n;
}

} // namespace

int main(int argc, char** argv) {
    const bool tiny = argc > 1 && std::string_view(argv[1]) == "--tiny";
    const double seconds = tiny ? 0.001 : argc > 1 ? std::atof(argv[1]) : 0.2;
    if (!(seconds > 0)) {
        fmt::print(stderr, "usage: bench_apdu_parse [seconds per measurement > 0]\n");
        return 2;
    }
    std::size_t sink = 0;
    Bytes scratch(70000);
    auto copy_all = [&](const std::vector<Bytes>& items) {
        return [list = &items, &scratch] {
            std::size_t n = 0;
            for (const Bytes& b : *list) {
                std::memcpy(scratch.data(), b.data(), b.size());
                n += scratch[b.size() / 2];
            }
            return n;
        };
    };

    const std::vector<Bytes> commands = command_workload();
    const std::vector<Bytes> responses = response_workload();
    const std::vector<Bytes> certificate{certificate_workload()};

    struct Row {
        const char* name;
        const std::vector<Bytes>* items;
        std::function<std::size_t()> parse;
    };
    const Row rows[] = {
        {"apdu::parse (commands)", &commands,
         [&] {
             std::size_t n = 0;
             for (const Bytes& b : commands) {
                 const auto r = apdu::parse(b);
                 n += r.command ? r.command->data.size() + 1 : 0;
             }
             return n;
         }},
        {"apdu::parse_response", &responses,
         [&] {
             std::size_t n = 0;
             for (const Bytes& b : responses) {
                 const auto r = apdu::parse_response(b);
                 n += r.response ? r.response->data.size() + r.response->sw2 : 0;
             }
             return n;
         }},
        {"tlv::parse_one (1.3 KB cert)", &certificate,
         [&] {
             const auto r = tlv::parse_one(certificate[0]);
             return r.nodes.size() + r.findings.size();
         }},
    };

    fmt::print("{:<30} {:>10} {:>12} {:>12} {:>14}\n", "workload", "bytes", "parse ns", "memcpy ns",
               "parse/memcpy");
    for (const Row& row : rows) {
        const double base = best_ns_per_call(seconds, copy_all(*row.items), sink);
        const double parse = best_ns_per_call(seconds, row.parse, sink);
        fmt::print("{:<30} {:>10} {:>12.1f} {:>12.1f} {:>13.1f}x\n", row.name,
                   total_size(*row.items), parse, base, parse / base);
        fmt::print("RESULT\t{}\t{:.2f}\t{:.2f}\tns\t{:.2f}\t-\t-\n", row.name, parse, base,
                   parse / base);
    }
    fmt::print("(checksum {})\n", sink % 1000);
    return 0;
}
