// Redaction cost per step against the number of personal values a session has seen (issue 11):
// sessions that first read 10, 100 and 1000 distinct personal values (chunks of the JPKI
// authentication certificate, each one a secret the redactor must keep out of every later text)
// then run the same probe steps (READ BINARY of 256 bytes of a free EF: the response is hex-printed
// and scrubbed). Prints the per-step cost of the whole step (runner + in-process lab + card) and
// of the redactor alone, and each as a ratio against the 10-value session, measured in the same
// run, interleaved, best of the rounds, in CPU time of the thread. A flat cost is a ratio
// near 1.00. Usage: bench_redaction [--tiny] [probe steps, default 200] [rounds, default 7]
#include "services/emu/card.hpp"
#include "services/lab/emulated_reader.hpp"
#include "services/lab/lab_channel.hpp"
#include "services/lab/reader_model.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <memory>
#include <string>
#include <vector>

using namespace harness;

// CPU time of this thread: the machines here are shared (load far above the core count), and the
// work measured is CPU-bound, so wall time would mostly measure the neighbours.
struct Clock {
    using time_point = double; // µs
    static double now() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
    }
};

namespace {

const std::string header = "id,group,title_en,title_ja,action,args,expect_sw,expect_data,"
                           "requires,on_fail,timeout_ms\n";

// Selects the authentication certificate (personal: its subject) and reads `n` distinct chunks
// of it (offsets 0..511, 16 bytes and more).
std::string personal_reads(std::size_t n) {
    std::string csv = header + "a,p,App,アプリ,select_aid,aid=${aid.jpki},,,,continue,\n" +
                      "e,p,EF,ファイル,select_ef,fid=000A,,,,continue,\n";
    for (std::size_t i = 0; i < n; ++i)
        csv += fmt::format("r{},p,Read,読む,apdu,00 B0 {:02X} {:02X} {:02X},9000,,,continue,\n", i,
                           (i % 512) >> 8, i % 256, 16 + i / 512);
    return csv;
}

// Reads 256 bytes of the authentication CA certificate (free: printed and scrubbed) `m` times.
std::string probe_steps(std::size_t m) {
    std::string csv = header + "a,p,App,アプリ,select_aid,aid=${aid.jpki},,,,continue,\n" +
                      "e,p,EF,ファイル,select_ef,fid=000B,,,,continue,\n";
    for (std::size_t i = 0; i < m; ++i)
        csv += fmt::format("p{},p,Probe,計測,apdu,00 B0 00 00 00,9000,,,continue,\n", i);
    return csv;
}

struct Session {
    Session(const lab::ReaderModel& model, std::size_t personal)
        : reader(model, lab::Interface::Contact), personal_values(personal) {
        card = std::shared_ptr<io::VirtualCard>(emu::make_card("mynumber", emu::Options{}));
        reader.insert(card);
        channel = std::make_unique<lab::LabChannel>(reader);
        ctx.key.bytes = Bytes(32, 0x42);
        ctx.trust = suite::CardTrust::EmulatedTest;
        ctx.card_type = "mynumber";
        ctx.card_id = "cert-000000000000000000000000";
        ctx.interface = "contact";
        ctx.capabilities = {"contact", "t1"};
        ctx.pins.set(suite::PinName::Auth, "1234");
        ctx.pins.set(suite::PinName::Sign, "CARD2026");
        const auto reads = suite::load_suite_text(personal_reads(personal), "reads.csv", "reads");
        const auto r = suite::run_suite(reads, *channel, ctx);
        for (const auto& s : r.steps)
            if (s.verdict != model::StepVerdict::Pass) {
                fmt::print(stderr, "setup step {} did not pass: {}\n", s.step_id, s.reason_en);
                std::exit(1);
            }
    }

    lab::EmulatedReader reader;
    std::shared_ptr<io::VirtualCard> card;
    std::unique_ptr<lab::LabChannel> channel;
    suite::RunContext ctx;
    std::size_t personal_values;
};

// The least disturbed round (CPU time still includes cache and frequency effects of neighbours).
double best(const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
}

} // namespace

int main(int argc, char** argv) {
    bool tiny = false;
    std::vector<long> numbers;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--tiny") == 0)
            tiny = true;
        else
            numbers.push_back(std::atol(argv[i]));
    }
    const std::size_t steps = numbers.size() > 0 ? static_cast<std::size_t>(numbers[0])
                              : tiny             ? 5
                                                 : 200;
    const int rounds = numbers.size() > 1 ? static_cast<int>(numbers[1]) : tiny ? 1 : 7;
    const std::vector<std::size_t> sizes =
        tiny ? std::vector<std::size_t>{2, 5, 10} : std::vector<std::size_t>{10, 100, 1000};

    const auto models =
        lab::load_reader_model_dir(std::string(CARDHARNESS_SOURCE_DIR) + "/profiles/readers");
    const lab::ReaderModel* model = lab::find_model(models, "lab-ext-dual");
    if (!model) {
        fmt::print(stderr, "reader model lab-ext-dual not found\n");
        return 1;
    }
    std::vector<std::unique_ptr<Session>> sessions;
    for (const std::size_t n : sizes)
        sessions.push_back(std::make_unique<Session>(*model, n));
    const auto probe = suite::load_suite_text(probe_steps(steps), "probe.csv", "probe");

    // The redactor alone: one probe exchange (command + 258-byte response) and a reason text.
    const Bytes command{0x00, 0xB0, 0x00, 0x00, 0x00};
    Bytes response(256);
    for (std::size_t i = 0; i < response.size(); ++i)
        response[i] = static_cast<std::uint8_t>(i * 13 + 5);
    response.push_back(0x90);
    response.push_back(0x00);
    suite::Selection free_ef;
    suite::track_selection(free_ef,
                           Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01,
                                 0x00, 0x00, 0x00, 0x01},
                           Bytes{0x90, 0x00});
    suite::track_selection(free_ef, Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0B},
                           Bytes{0x90, 0x00});

    std::vector<std::vector<double>> step_us(sessions.size()), redact_us(sessions.size());
    for (int round = 0; round < rounds; ++round) {
        for (std::size_t j = 0; j < sessions.size(); ++j) {
            const std::size_t k = (j + static_cast<std::size_t>(round)) % sessions.size();
            Session& s = *sessions[k]; // rotated: no session is always measured first
            const auto start = Clock::now();
            const auto result = suite::run_suite(probe, *s.channel, s.ctx);
            const double elapsed = Clock::now() - start;
            if (result.steps.back().verdict != model::StepVerdict::Pass) {
                fmt::print(stderr, "probe failed: {}\n", result.steps.back().reason_en);
                return 1;
            }
            step_us[k].push_back(elapsed / static_cast<double>(probe.suite.steps.size()));

            suite::Redactor& redactor = s.ctx.the_redactor();
            const auto r0 = Clock::now();
            std::size_t chars = 0;
            for (std::size_t i = 0; i < steps; ++i) {
                const auto x = redactor.redact(command, response, free_ef);
                chars += x.response.size() +
                         redactor.scrub("APDU: SW 90 00 as expected (9000), 256 data bytes").size();
            }
            if (chars == 0)
                std::abort();
            redact_us[k].push_back((Clock::now() - r0) / static_cast<double>(steps));
        }
    }

    fmt::print("{:<16} {:>9} {:>13} {:>7} {:>16} {:>7}\n", "personal values", "secrets",
               "µs per step", "ratio", "redaction µs", "ratio");
    const double base_step = best(step_us[0]);
    const double base_redact = best(redact_us[0]);
    for (std::size_t k = 0; k < sessions.size(); ++k) {
        const double st = best(step_us[k]);
        const double rd = best(redact_us[k]);
        fmt::print("{:<16} {:>9} {:>13.1f} {:>6.2f}x {:>16.2f} {:>6.2f}x\n",
                   sessions[k]->personal_values, sessions[k]->ctx.the_redactor().secret_count(), st,
                   st / base_step, rd, rd / base_redact);
    }
    fmt::print("(baseline: the {}-value session, same run; a flat cost is a ratio near 1.00)\n",
               sizes.front());
    return 0;
}
