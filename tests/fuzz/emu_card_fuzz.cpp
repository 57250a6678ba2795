// Fuzzes the emulated cards (My Number, Juki, transport) with command sequences, as pcscd and the
// lab hand them whatever a client sends: every command gets an answer with a status word (never
// an exception or a crash), and no PIN counter leaves 0..its maximum. Input: one byte picking the
// card, then commands as <length byte><bytes>; length 0xFF is a warm reset, 0xFE a power cycle.
#include "fuzz_check.hpp"
#include "services/emu/card.hpp"

#include <array>
#include <memory>

namespace {

harness::emu::Card& card(std::size_t which) {
    static const std::array<std::unique_ptr<harness::emu::Card>, 3> cards = {
        harness::emu::make_card("transport"), harness::emu::make_card("mynumber"),
        harness::emu::make_card("juki")};
    return *cards[which % cards.size()];
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    auto& c = card(data[0]);
    c.reset_state();
    c.power_on();
    const auto full = c.state();
    std::size_t at = 1;
    while (at < size) {
        const std::size_t length = data[at++];
        if (length == 0xFF) {
            c.reset(false);
            continue;
        }
        if (length == 0xFE) {
            c.power_off();
            c.power_on();
            continue;
        }
        const std::size_t n = std::min(length, size - at);
        const auto response = c.transmit(harness::ByteView(data + at, n));
        FUZZ_CHECK(response.apdu.size() >= 2);
        at += n;
    }
    for (const auto& [pin, tries] : c.state().tries_left) {
        FUZZ_CHECK(tries >= 0);
        FUZZ_CHECK(full.tries_left.count(pin) == 1 && tries <= full.tries_left.at(pin));
    }
    return 0;
}
