// Cost of the virtual lab's reader model per APDU: the JPKI certificate-read sequence sent
// through an in-process LabChannel (reader model quirks, protocol handling, CCID message limits)
// as a ratio against sending the same APDUs straight to the emulated card, measured in the same
// run (machines here are shared and noisy). Usage: bench_lab_exchange [--tiny | rounds, default
// 2000]
#include "services/emu/card.hpp"
#include "services/lab/emulated_reader.hpp"
#include "services/lab/lab_channel.hpp"
#include "services/lab/reader_model.hpp"

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <memory>
#include <string_view>
#include <vector>

using namespace harness;
using Clock = std::chrono::steady_clock;

namespace {

// SELECT JPKI AP, SELECT EF 000A, header read, then the certificate in Le=256 chunks.
std::vector<Bytes> certificate_read() {
    std::vector<Bytes> out{
        {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01},
        {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A},
        {0x00, 0xB0, 0x00, 0x00, 0x04}};
    for (std::uint8_t hi = 0; hi < 5; ++hi)
        out.push_back({0x00, 0xB0, hi, static_cast<std::uint8_t>(hi == 0 ? 4 : 0), 0x00});
    return out;
}

template <typename Send>
double microseconds_per_apdu(int rounds, const std::vector<Bytes>& apdus, Send send) {
    std::size_t bytes = 0;
    const auto start = Clock::now();
    for (int r = 0; r < rounds; ++r)
        for (const auto& apdu : apdus)
            bytes += send(apdu).size();
    const auto elapsed = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (bytes == 0)
        std::abort(); // keeps the loop from being optimised away, and catches a dead card
    return elapsed / (rounds * static_cast<double>(apdus.size()));
}

} // namespace

int main(int argc, char** argv) {
    const bool tiny = argc > 1 && std::string_view(argv[1]) == "--tiny";
    const int rounds = tiny ? 3 : argc > 1 ? std::atoi(argv[1]) : 2000;
    const auto models =
        lab::load_reader_model_dir(std::string(CARDHARNESS_SOURCE_DIR) + "/profiles/readers");
    const auto apdus = certificate_read();
    std::shared_ptr<io::VirtualCard> card = emu::make_card("mynumber", emu::Options{});
    card->power_on();
    // Warm-up: the first exchanges load the certificates and keys.
    microseconds_per_apdu(10, apdus, [&](const Bytes& a) { return card->transmit(a).apdu; });

    fmt::print("{:<22} {:>14} {:>14} {:>8}\n", "reader model", "lab µs/APDU", "card µs/APDU",
               "ratio");
    for (const char* id : {"lab-tpdu-contact", "lab-ext-dual", "lab-short-261"}) {
        const lab::ReaderModel* model = lab::find_model(models, id);
        if (!model) {
            fmt::print(stderr, "reader model {} not found\n", id);
            return 1;
        }
        lab::EmulatedReader reader(*model, lab::Interface::Contact);
        reader.insert(card);
        lab::LabChannel channel(reader);
        // Baseline and candidate interleaved in the same run; best of three each.
        double base = 1e18;
        double lab = 1e18;
        for (int i = 0; i < 3; ++i) {
            base = std::min(base, microseconds_per_apdu(rounds, apdus, [&](const Bytes& a) {
                                return card->transmit(a).apdu;
                            }));
            lab = std::min(lab, microseconds_per_apdu(rounds, apdus, [&](const Bytes& a) {
                               try {
                                   return channel.transmit(a);
                               } catch (const io::TransportError&) {
                                   return Bytes{
                                       0}; // the short-APDU reader fails 258 bytes: its quirk
                               }
                           }));
        }
        fmt::print("{:<22} {:>14.2f} {:>14.2f} {:>7.2f}x\n", id, lab, base, lab / base);
        fmt::print("RESULT\tlab model {}\t{:.2f}\t{:.2f}\tus\t{:.2f}\t-\t-\n", id, lab, base,
                   lab / base);
        reader.remove();
    }
    return 0;
}
