// The emulated reader firmware, driven the way the CCID driver (libccid) drives a USB reader:
// CCID messages in, replies out, on a virtual clock (nothing sleeps).
#include "pure/ccid_message.hpp"
#include "pure/t1_block.hpp"
#include "services/lab/ccid_firmware.hpp"
#include "support/test_support.hpp"
#include "unit/services/lab/test_card.hpp"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <ostream>
#include <thread>

using namespace harness;
using namespace harness::lab;
using namespace std::chrono_literals;
using ccid::CommandStatus;
using ccid::IccStatus;
using Clock = CcidFirmware::Clock;

namespace harness::ccid {
std::ostream& operator<<(std::ostream& os, IccStatus s) {
    return os << to_string(s);
}
std::ostream& operator<<(std::ostream& os, CommandStatus s) {
    return os << to_string(s);
}
} // namespace harness::ccid

namespace {

const std::vector<ReaderModel>& models() {
    static const auto all = load_reader_model_dir(test::source_dir() / "profiles" / "readers");
    return all;
}

const ReaderModel& model(const std::string& id) {
    const ReaderModel* m = find_model(models(), id);
    BOOST_TEST_REQUIRE(m != nullptr, id);
    return *m;
}

const Bytes t0_atr{0x3B, 0x02, 0x14, 0x50}; // no TD1: T=0 only (ISO 7816-3 §8.2.3)

Bytes sign_command() {
    Bytes c{0x80, 0x2A, 0x00, 0x80, 0x33};
    c.resize(5 + 51, 0x30);
    c.push_back(0x00);
    return c;
}

// 00 D6 00 00 with extended Lc and n data bytes (the test card echoes the data).
Bytes echo_extended(std::size_t n) {
    Bytes c{0x00,
            0xD6,
            0x00,
            0x00,
            0x00,
            static_cast<std::uint8_t>(n >> 8),
            static_cast<std::uint8_t>(n)};
    for (std::size_t i = 0; i < n; ++i)
        c.push_back(static_cast<std::uint8_t>(i * 7));
    return c;
}

// The host side of the USB link: bSeq counting, and a virtual clock that jumps to the firmware's
// next due time (what umockdev's URB completion does in real time).
struct Host {
    explicit Host(CcidFirmware& f) : fw(f) {}

    CcidFirmware& fw;
    Clock::time_point now = Clock::time_point{} + 1000h;
    std::uint8_t seq = 0;
    std::vector<ccid::Reply> extensions; // time-extension replies (tests clear it)

    ccid::Reply receive() {
        for (int guard = 0; guard < 100000; ++guard) {
            const auto due = fw.next_due();
            BOOST_TEST_REQUIRE(due.has_value());
            if (*due > now)
                now = *due;
            const auto bytes = fw.take_bulk_in(now);
            BOOST_TEST_REQUIRE(bytes.has_value());
            const auto parsed = ccid::parse_reply(*bytes);
            BOOST_TEST_REQUIRE(parsed.reply.has_value());
            if (parsed.reply->command_status() == CommandStatus::TimeExtension) {
                extensions.push_back(*parsed.reply);
                continue;
            }
            return *parsed.reply;
        }
        BOOST_FAIL("no final reply");
        return {};
    }

    ccid::Reply exchange(const ccid::Command& c) {
        fw.bulk_out(ccid::encode(c), now);
        const ccid::Reply r = receive();
        BOOST_TEST(r.seq == c.seq); // bSeq echo
        BOOST_TEST(r.slot == c.slot);
        return r;
    }

    ccid::Command command(ccid::MessageType type, Bytes data = {}, std::uint8_t slot = 0) {
        ccid::Command c;
        c.type = type;
        c.slot = slot;
        c.seq = seq++;
        c.data = std::move(data);
        return c;
    }

    ccid::Reply power_on(std::uint8_t slot = 0) {
        return exchange(command(ccid::MessageType::IccPowerOn, {}, slot));
    }
    ccid::Reply slot_status(std::uint8_t slot = 0) {
        return exchange(command(ccid::MessageType::GetSlotStatus, {}, slot));
    }
    ccid::Reply xfr(Bytes data, std::uint16_t level = 0, std::uint8_t bwi = 0) {
        ccid::Command c = command(ccid::MessageType::XfrBlock, std::move(data));
        c.level_parameter = level;
        c.bwi = bwi;
        return exchange(c);
    }
    ccid::Reply set_parameters(std::uint8_t protocol, Bytes structure) {
        ccid::Command c = command(ccid::MessageType::SetParameters, std::move(structure));
        c.protocol = protocol;
        return exchange(c);
    }

    // libccid's CmdXfrBlockAPDU_extended: chain the command in parts of `block` bytes (an empty
    // DataBlock answers each non-final part), then ask for each further response part with an
    // empty XfrBlock of wLevelParameter 0x0010.
    Bytes transmit_extended(const Bytes& apdu, std::size_t block,
                            std::vector<std::uint8_t>* chains_out = nullptr,
                            ccid::Reply* failure = nullptr) {
        std::size_t sent = 0;
        ccid::Reply r;
        while (true) {
            const std::size_t n = std::min(block, apdu.size() - sent);
            const bool first = sent == 0;
            const bool last = sent + n == apdu.size();
            const std::uint16_t level = first && last ? ccid::chain::begin_and_end
                                        : first       ? ccid::chain::begin_continue
                                        : last        ? ccid::chain::continue_end
                                                      : ccid::chain::continue_continue;
            r = xfr(Bytes(apdu.begin() + static_cast<std::ptrdiff_t>(sent),
                          apdu.begin() + static_cast<std::ptrdiff_t>(sent + n)),
                    level);
            sent += n;
            if (last)
                break;
            BOOST_TEST_REQUIRE((r.command_status() == CommandStatus::Ok));
            BOOST_TEST(r.data.empty());
            BOOST_TEST(r.specific == ccid::chain::empty_continue);
        }
        Bytes response;
        while (true) {
            if (r.command_status() != CommandStatus::Ok) {
                if (failure)
                    *failure = r;
                return {};
            }
            if (chains_out)
                chains_out->push_back(r.specific);
            response.insert(response.end(), r.data.begin(), r.data.end());
            if (r.specific == ccid::chain::begin_and_end || r.specific == ccid::chain::continue_end)
                return response;
            r = xfr({}, ccid::chain::empty_continue);
        }
    }
};

// A libccid-like T=1 host (proto-t1.c): chains with IFSC, answers S(WTX) with bBWI = multiplier.
struct T1Host {
    T1Host(Host& h, std::size_t card_ifsc) : host(h), ifsc(card_ifsc) {}

    Host& host;
    std::size_t ifsc;
    t1::Edc edc = t1::Edc::Lrc;
    bool ns = false;
    bool nr = false;
    int wtx_seen = 0;
    int blocks_sent = 0;
    std::optional<ccid::Reply> failure;

    std::optional<t1::Block> send(const t1::Block& b, std::uint8_t bwi = 0) {
        ++blocks_sent;
        ccid::Reply r = host.xfr(t1::encode(b, edc), 0, bwi);
        while (true) {
            if (r.command_status() != CommandStatus::Ok) {
                failure = r;
                return std::nullopt;
            }
            const auto parsed = t1::parse(r.data, edc);
            BOOST_TEST_REQUIRE(parsed.block.has_value());
            BOOST_TEST(parsed.edc_ok);
            if (parsed.block->type() == t1::BlockType::S && !parsed.block->s_response() &&
                parsed.block->s_function() == t1::SFunction::Wtx) {
                ++wtx_seen;
                const std::uint8_t m = parsed.block->inf.at(0);
                ++blocks_sent;
                r = host.xfr(
                    t1::encode(t1::s_block(t1::SFunction::Wtx, true, ByteView(&m, 1)), edc), 0, m);
                continue;
            }
            return parsed.block;
        }
    }

    std::optional<Bytes> transceive(const Bytes& apdu) {
        std::size_t off = 0;
        std::optional<t1::Block> reply;
        while (true) {
            const std::size_t n = std::min(ifsc, apdu.size() - off);
            const bool more = off + n < apdu.size();
            reply = send(t1::i_block(ns, more, ByteView(apdu).subspan(off, n)));
            if (!reply)
                return std::nullopt;
            ns = !ns;
            off += n;
            if (!more)
                break;
            BOOST_TEST_REQUIRE((reply->type() == t1::BlockType::R));
            BOOST_TEST(reply->receive_seq() == ns);
        }
        Bytes response;
        while (true) {
            BOOST_TEST_REQUIRE((reply->type() == t1::BlockType::I));
            BOOST_TEST(reply->send_seq() == nr);
            nr = !nr;
            response.insert(response.end(), reply->inf.begin(), reply->inf.end());
            if (!reply->more())
                return response;
            reply = send(t1::r_block(nr));
            if (!reply)
                return std::nullopt;
        }
    }
};

ccid::Command power_on_command(std::uint8_t seq) {
    ccid::Command c;
    c.type = ccid::MessageType::IccPowerOn;
    c.seq = seq;
    return c;
}

Bytes expected_echo(const Bytes& command) {
    Bytes out(command.begin() + 7, command.end());
    out.push_back(0x90);
    out.push_back(0x00);
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(firmware_from_a_model_wears_its_descriptor_and_quirks) {
    for (const auto& m : models()) {
        const FirmwareConfig c = firmware_config(m);
        BOOST_TEST((c.descriptor == m.ccid_descriptor()), m.id);
        BOOST_TEST(c.quirks.pps == (m.pps != Pps::None), m.id);
        BOOST_TEST(c.quirks.le_zero_reject == (m.le_zero == LeZero::Reject), m.id);
        BOOST_TEST((c.quirks.chain_corrupt_above == m.chain_corrupt_above), m.id);
        BOOST_TEST(c.quirks.time_extension == m.wtx, m.id);
        BOOST_TEST(c.quirks.timeout.count() == m.timeout.count(), m.id);
        BOOST_TEST(c.quirks.latency.count() == m.latency.count(), m.id);
        BOOST_TEST(c.quirks.flaky_every == m.flaky_every, m.id);
        for (auto i : {Interface::Contact, Interface::TypeA, Interface::TypeB})
            BOOST_TEST(c.quirks.supports(i) == m.supports(i), m.id);
        CcidFirmware fw(m);
        BOOST_TEST(fw.slots() == 1U);
    }
}

BOOST_AUTO_TEST_CASE(firmware_from_a_bare_descriptor_with_two_slots) {
    FirmwareConfig config;
    config.descriptor.max_slot_index = 1;
    config.descriptor.features = 0x000400BA; // extended APDU, automatic PPS
    config.descriptor.max_message_length = 522;
    CcidFirmware fw(config);
    BOOST_TEST(fw.slots() == 2U);
    Host host(fw);
    fw.insert(1, lab_test::juki(), Interface::Contact);
    const auto notify = fw.take_interrupt();
    BOOST_TEST_REQUIRE(notify.has_value());
    BOOST_TEST(*notify == (Bytes{0x50, 0x0C})); // slot 1 present + changed
    BOOST_TEST(host.slot_status(0).icc() == IccStatus::Absent);
    const ccid::Reply atr = host.power_on(1);
    BOOST_TEST(atr.icc() == IccStatus::Active);
    BOOST_TEST(atr.data == lab_test::juki_atr);
    // Slot 2 does not exist: bError 5 (the offset of bSlot).
    const ccid::Reply bad = host.slot_status(2);
    BOOST_TEST(bad.command_status() == CommandStatus::Failed);
    BOOST_TEST(bad.error == ccid::error::bad_slot);
}

BOOST_AUTO_TEST_CASE(slot_states_and_notify_slot_change) {
    CcidFirmware fw(model("lab-tpdu-contact"));
    Host host(fw);
    BOOST_TEST(!fw.take_interrupt());
    const ccid::Reply empty = host.slot_status();
    BOOST_TEST(empty.command_status() == CommandStatus::Ok);
    BOOST_TEST(empty.icc() == IccStatus::Absent);
    // Power on an empty slot: failed, ICC absent, ICC_MUTE (what libccid reads as "no card").
    const ccid::Reply none = host.power_on();
    BOOST_TEST(none.status == 0x42);
    BOOST_TEST(none.error == ccid::error::icc_mute);

    auto card = lab_test::my_number();
    fw.insert(0, card, Interface::Contact);
    BOOST_TEST(fw.interrupt_pending());
    BOOST_TEST(*fw.take_interrupt() == (Bytes{0x50, 0x03}));
    BOOST_TEST(!fw.take_interrupt());
    BOOST_TEST(host.slot_status().icc() == IccStatus::PresentInactive);
    const ccid::Reply atr = host.power_on();
    BOOST_TEST(atr.status == 0x00);
    BOOST_TEST(atr.data == lab_test::my_number_atr);
    BOOST_TEST(card->powered_);
    BOOST_TEST(host.slot_status().icc() == IccStatus::Active);
    const ccid::Reply off = host.exchange(host.command(ccid::MessageType::IccPowerOff));
    BOOST_TEST(static_cast<int>(off.type) == 0x81);
    BOOST_TEST(off.icc() == IccStatus::PresentInactive);
    BOOST_TEST(!card->powered_);
    fw.remove(0);
    BOOST_TEST(*fw.take_interrupt() == (Bytes{0x50, 0x02}));
    BOOST_TEST(fw.icc_status(0) == IccStatus::Absent);
    BOOST_TEST_CHECK(fw.counters().interrupts == 2U);
}

BOOST_AUTO_TEST_CASE(bad_length_and_unsupported_commands_answer_with_berror) {
    CcidFirmware fw(model("lab-short-261"));
    Host host(fw);
    fw.insert(0, lab_test::juki(), Interface::Contact);
    // dwLength says 4, 2 bytes follow: bError 1, bSeq echoed, reply type of XfrBlock.
    Bytes lying{0x6F, 0x04, 0x00, 0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x00, 0xA4};
    fw.bulk_out(lying, host.now);
    const ccid::Reply r = host.receive();
    BOOST_TEST(static_cast<int>(r.type) == 0x80);
    BOOST_TEST(r.seq == 0x2A);
    BOOST_TEST(r.error == ccid::error::bad_length);
    BOOST_TEST(r.icc() == IccStatus::PresentInactive);
    // An unknown bMessageType: SlotStatus, command not supported.
    fw.bulk_out(Bytes{0x99, 0, 0, 0, 0, 0, 0x2B, 0, 0, 0}, host.now);
    const ccid::Reply u = host.receive();
    BOOST_TEST(static_cast<int>(u.type) == 0x81);
    BOOST_TEST(u.error == ccid::error::command_not_supported);
    BOOST_TEST(u.command_status() == CommandStatus::Failed);
    // Escape, Mechanical, Secure and clock stop are not offered by the lab descriptor.
    const ccid::Reply esc = host.exchange(host.command(ccid::MessageType::Escape, Bytes{0x01}));
    BOOST_TEST(static_cast<int>(esc.type) == 0x83);
    BOOST_TEST(esc.error == ccid::error::command_not_supported);
    BOOST_TEST(host.exchange(host.command(ccid::MessageType::Mechanical)).error ==
               ccid::error::command_not_supported);
    const ccid::Reply secure = host.exchange(host.command(ccid::MessageType::Secure, Bytes{0}));
    BOOST_TEST(static_cast<int>(secure.type) == 0x80);
    BOOST_TEST(secure.error == ccid::error::command_not_supported);
    ccid::Command clock_stop = host.command(ccid::MessageType::IccClock);
    clock_stop.function = 1;
    BOOST_TEST(host.exchange(clock_stop).error == ccid::error::command_not_supported);
    ccid::Command t0apdu = host.command(ccid::MessageType::T0Apdu);
    BOOST_TEST(host.exchange(t0apdu).command_status() == CommandStatus::Ok);
    // Fewer than 10 bytes: nothing to answer to.
    fw.bulk_out(Bytes{0x65, 0x00}, host.now);
    BOOST_TEST(!fw.next_due());
}

BOOST_AUTO_TEST_CASE(a_pin_pad_never_sends_a_pin) {
    FirmwareConfig config = firmware_config(model("lab-ext-dual"));
    config.descriptor.pin_support = 0x03;
    CcidFirmware fw(config);
    Host host(fw);
    auto card = lab_test::my_number();
    fw.insert(0, card, Interface::Contact);
    host.power_on();
    const ccid::Reply r = host.exchange(host.command(ccid::MessageType::Secure, Bytes(20, 0)));
    BOOST_TEST(r.error == ccid::error::pin_cancelled);
    BOOST_TEST(card->commands == 0);
}

BOOST_AUTO_TEST_CASE(message_longer_than_dw_max_ccid_message_length_is_refused) {
    CcidFirmware fw(model("lab-tpdu-contact")); // 271
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact);
    host.power_on();
    const ccid::Reply r = host.xfr(Bytes(262, 0x00)); // 272 bytes on the wire
    BOOST_TEST(r.command_status() == CommandStatus::Failed);
    BOOST_TEST(r.error == ccid::error::bad_length);
    BOOST_TEST(fw.trace().back().note.find("exceeds dwMaxCCIDMessageLength 271") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(get_set_reset_parameters_and_data_rate) {
    CcidFirmware fw(model("lab-tpdu-contact"));
    Host host(fw);
    BOOST_TEST(host.exchange(host.command(ccid::MessageType::GetParameters)).error ==
               ccid::error::icc_mute);
    fw.insert(0, lab_test::my_number(), Interface::Contact);
    host.power_on();
    // Configured from the ATR (dwFeatures 0x02): T=1, IFSC FB, BWI/CWI 46, TC1 FF, LRC.
    const ccid::Reply p = host.exchange(host.command(ccid::MessageType::GetParameters));
    BOOST_TEST(static_cast<int>(p.type) == 0x82);
    BOOST_TEST(p.specific == 1);
    BOOST_TEST(p.data == (Bytes{0x11, 0x10, 0xFF, 0x46, 0x00, 0xFB, 0x00}));
    const ccid::Reply set = host.set_parameters(1, Bytes{0x13, 0x10, 0xFF, 0x46, 0x00, 0xFB, 0x00});
    BOOST_TEST(set.command_status() == CommandStatus::Ok);
    BOOST_TEST(set.data[0] == 0x13);
    const ccid::Reply reset = host.exchange(host.command(ccid::MessageType::ResetParameters));
    BOOST_TEST(reset.data[0] == 0x11);
    // T=0 structure with a T=1 length: bad length; T=2: bad protocol.
    BOOST_TEST(host.set_parameters(0, Bytes(7, 0)).error == ccid::error::bad_length);
    // SetDataRateAndClockFrequency: a rate above dwMaxDataRate falls back to the default.
    ccid::Command rate = host.command(ccid::MessageType::SetDataRateAndClockFrequency);
    rate.clock_khz = 4000;
    rate.data_rate_bps = 9999999;
    const ccid::Reply chosen = host.exchange(rate);
    BOOST_TEST(static_cast<int>(chosen.type) == 0x84);
    BOOST_TEST(chosen.data == (Bytes{0xA0, 0x0F, 0, 0, 0x00, 0x2A, 0, 0}));
}

BOOST_AUTO_TEST_CASE(automatic_pps_from_the_atr) {
    CcidFirmware fw(model("lab-ext-dual")); // dwFeatures automatic PPS
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact);
    host.power_on();
    const ccid::Reply p = host.exchange(host.command(ccid::MessageType::GetParameters));
    BOOST_TEST(p.data.at(0) == 0x13); // TA1 = 13 negotiated by the firmware itself
}

BOOST_AUTO_TEST_CASE(pps_from_the_driver_and_a_firmware_without_pps) {
    {
        CcidFirmware fw(model("lab-tpdu-contact")); // PPS by the driver
        Host host(fw);
        fw.insert(0, lab_test::my_number(), Interface::Contact);
        host.power_on();
        const Bytes pps{0xFF, 0x11, 0x13, 0xFD};
        const ccid::Reply r = host.xfr(pps);
        BOOST_TEST(r.command_status() == CommandStatus::Ok);
        BOOST_TEST(r.data == pps); // the card confirms
        // A Fi/Di the card does not offer: the confirmation leaves PPS1 out (default rate).
        host.power_on();
        const ccid::Reply partial = host.xfr(Bytes{0xFF, 0x11, 0x96, 0x78});
        BOOST_TEST(partial.data == (Bytes{0xFF, 0x01, 0xFE}));
    }
    {
        CcidFirmware fw(model("lab-no-pps"));
        Host host(fw);
        fw.insert(0, lab_test::my_number(), Interface::Contact);
        host.power_on();
        const ccid::Reply r = host.xfr(Bytes{0xFF, 0x11, 0x13, 0xFD});
        BOOST_TEST(r.command_status() == CommandStatus::Failed);
        BOOST_TEST(r.error == ccid::error::icc_mute);
        // SetParameters with TA1's Fi/Di: refused at the offset of bmFindexDindex.
        const ccid::Reply set =
            host.set_parameters(1, Bytes{0x13, 0x10, 0xFF, 0x46, 0x00, 0xFB, 0x00});
        BOOST_TEST(set.error == 10);
        // The default rate works.
        BOOST_TEST(host.set_parameters(1, Bytes{0x11, 0x10, 0xFF, 0x46, 0x00, 0xFB, 0x00})
                       .command_status() == CommandStatus::Ok);
    }
}

BOOST_AUTO_TEST_CASE(tpdu_t1_exchange) {
    CcidFirmware fw(model("lab-tpdu-contact"));
    Host host(fw);
    auto card = lab_test::juki();
    fw.insert(0, card, Interface::Contact);
    host.power_on();
    T1Host t1{host, 254};
    const auto r = t1.transceive(Bytes{0x00, 0xB0, 0x00, 0x00, 0x10});
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->size() == 18U);
    BOOST_TEST(card->last_command == (Bytes{0x00, 0xB0, 0x00, 0x00, 0x10}));
    BOOST_TEST(fw.counters().t1_blocks == 1U);
    // A block with a bad LRC is answered R(N(R), EDC error).
    Bytes broken =
        t1::encode(t1::i_block(t1.ns, false, Bytes{0x00, 0xB0, 0x00, 0x00, 0x01}), t1::Edc::Lrc);
    broken.back() ^= 0x01;
    const ccid::Reply rr = host.xfr(broken);
    const auto block = t1::parse(rr.data, t1::Edc::Lrc);
    BOOST_TEST_REQUIRE(block.block.has_value());
    BOOST_TEST((block.block->type() == t1::BlockType::R));
    BOOST_TEST((block.block->r_error() == t1::RError::Edc));
    // RESYNCH resets the sequence numbers on both sides.
    const auto resynch = t1.send(t1::s_block(t1::SFunction::Resynch, false));
    BOOST_TEST_REQUIRE(resynch.has_value());
    BOOST_TEST(resynch->pcb == 0xE0);
    t1.ns = t1.nr = false;
    BOOST_TEST(t1.transceive(Bytes{0x00, 0x84, 0x00, 0x00, 0x08}).has_value());
}

BOOST_AUTO_TEST_CASE(tpdu_t1_chaining_both_ways_over_three_blocks_and_more) {
    // Without automatic IFSD the card sends at most 32 bytes per block until S(IFS).
    FirmwareConfig config = firmware_config(model("lab-tpdu-contact"));
    config.descriptor.features &= ~ccid::feature::auto_ifsd;
    CcidFirmware fw(config);
    Host host(fw);
    auto card = lab_test::my_number();
    fw.insert(0, card, Interface::Contact);
    host.power_on();
    T1Host t1{host, 0xFB};
    // 600 data bytes out: blocks of 251 (IFSC FB) -> 3 I-blocks with R-block acks.
    const Bytes command = echo_extended(600);
    std::optional<Bytes> response = t1.transceive(command);
    BOOST_TEST_REQUIRE(response.has_value());
    BOOST_TEST(*response == expected_echo(command));
    BOOST_TEST(card->last_command == command);
    // 3 command blocks + ceil(602 / 32) = 19 response blocks (18 R-block requests).
    BOOST_TEST(t1.blocks_sent == 3 + 18);

    // S(IFS request 200): the card then chains in 200-byte blocks.
    const std::uint8_t ifsd = 200;
    const auto ifs = t1.send(t1::s_block(t1::SFunction::Ifs, false, ByteView(&ifsd, 1)));
    BOOST_TEST_REQUIRE(ifs.has_value());
    BOOST_TEST(ifs->pcb == 0xE1);
    BOOST_TEST(ifs->inf == (Bytes{200}));
    t1.blocks_sent = 0;
    response = t1.transceive(command);
    BOOST_TEST_REQUIRE(response.has_value());
    BOOST_TEST(*response == expected_echo(command));
    BOOST_TEST(t1.blocks_sent == 3 + 3); // 602 = 200 + 200 + 200 + 2
}

BOOST_AUTO_TEST_CASE(tpdu_t1_slow_sign_with_s_wtx_on_a_time_extension_reader) {
    CcidFirmware fw(model("lab-tpdu-contact"));
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact); // 1.8 s signature, BWT 1.43 s
    host.power_on();
    T1Host t1{host, 0xFB};
    const auto start = host.now;
    host.extensions.clear();
    const auto r = t1.transceive(sign_command());
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->size() == 258U);
    BOOST_TEST(t1.wtx_seen == 1);
    BOOST_TEST(fw.counters().wtx_requests == 1U);
    BOOST_TEST((host.now - start >= 1800ms));
    // While the card worked after S(WTX), the firmware sent time extensions (bStatus 0x80).
    BOOST_TEST(!host.extensions.empty());
    BOOST_TEST(host.extensions.front().status == 0x80);
    bool wtx_in_trace = false;
    for (const auto& t : fw.trace())
        wtx_in_trace = wtx_in_trace || t.note.find("S(WTX req 0x02)") != std::string::npos;
    BOOST_TEST(wtx_in_trace);
}

BOOST_AUTO_TEST_CASE(tpdu_t1_slow_sign_times_out_on_a_reader_without_time_extension) {
    CcidFirmware fw(model("lab-no-wtx")); // 1 s timeout
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact);
    host.power_on();
    T1Host t1{host, 0xFB};
    const auto before = host.now;
    host.extensions.clear();
    BOOST_TEST(!t1.transceive(sign_command()).has_value());
    BOOST_TEST_REQUIRE(t1.failure.has_value());
    BOOST_TEST(t1.failure->error == ccid::error::icc_mute);
    BOOST_TEST(host.extensions.empty());
    BOOST_TEST(fw.counters().timeouts == 1U);
    BOOST_TEST((host.now - before < 1800ms)); // gave up at its own timeout
    // RSA-1024 (Juki, 400 ms) passes on the same firmware.
    fw.insert(0, lab_test::juki(), Interface::Contact);
    host.power_on();
    T1Host juki{host, 0xFE};
    const auto r = juki.transceive(sign_command());
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->size() == 130U);
}

BOOST_AUTO_TEST_CASE(tpdu_t0_procedure_bytes_61xx_and_6cxx) {
    CcidFirmware fw(model("lab-tpdu-contact"));
    Host host(fw);
    auto card = std::make_shared<lab_test::TestCard>(t0_atr, 16, 10ms, "t0");
    fw.insert(0, card, Interface::Contact);
    host.power_on();
    const ccid::Reply p = host.exchange(host.command(ccid::MessageType::GetParameters));
    BOOST_TEST(p.specific == 0); // T=0, the only protocol of the ATR
    // Case 2: READ BINARY 16.
    const ccid::Reply read = host.xfr(Bytes{0x00, 0xB0, 0x00, 0x00, 0x10});
    BOOST_TEST(read.data.size() == 18U);
    BOOST_TEST(read.data.back() == 0x00);
    // Case 4 over T=0: Le dropped, 61 xx, then GET RESPONSE from the card's kept data.
    const Bytes case4{0x00, 0xD6, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC, 0x00};
    const ccid::Reply first = host.xfr(case4);
    BOOST_TEST(first.data == (Bytes{0x61, 0x03}));
    BOOST_TEST(card->last_command == (Bytes{0x00, 0xD6, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC}));
    const ccid::Reply wrong = host.xfr(Bytes{0x00, 0xC0, 0x00, 0x00, 0x05});
    BOOST_TEST(wrong.data == (Bytes{0x6C, 0x03}));
    const ccid::Reply got = host.xfr(Bytes{0x00, 0xC0, 0x00, 0x00, 0x03});
    BOOST_TEST(got.data == (Bytes{0xAA, 0xBB, 0xCC, 0x90, 0x00}));
    // An extended APDU is not a T=0 TPDU.
    const ccid::Reply ext = host.xfr(Bytes{0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00});
    BOOST_TEST(ext.error == ccid::error::bad_data);
}

BOOST_AUTO_TEST_CASE(short_apdu_level_limits) {
    CcidFirmware fw(model("lab-short-261")); // 251-byte blocks
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact);
    host.power_on();
    // The 258-byte RSA-2048 answer cannot come back.
    const ccid::Reply sign = host.xfr(sign_command());
    BOOST_TEST(sign.command_status() == CommandStatus::Failed);
    BOOST_TEST(sign.error == ccid::error::xfr_overrun);
    // Juki's 130 bytes can.
    fw.insert(0, lab_test::juki(), Interface::Contact);
    host.power_on();
    const ccid::Reply juki = host.xfr(sign_command());
    BOOST_TEST(juki.command_status() == CommandStatus::Ok);
    BOOST_TEST(juki.data.size() == 130U);
    // Extended APDUs are not carried.
    const ccid::Reply ext = host.xfr(Bytes{0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00});
    BOOST_TEST(ext.error == ccid::error::bad_data);
}

BOOST_AUTO_TEST_CASE(extended_apdu_chaining_both_ways_over_three_messages) {
    CcidFirmware fw(model("lab-ext-dual")); // 522 -> 512-byte blocks
    Host host(fw);
    auto card = lab_test::my_number();
    fw.insert(0, card, Interface::Contact);
    host.power_on();
    const Bytes command = echo_extended(1200); // 1207 bytes: 512 + 512 + 183
    std::vector<std::uint8_t> chains;
    const Bytes response = host.transmit_extended(command, 512, &chains);
    BOOST_TEST(card->last_command == command);
    BOOST_TEST(response == expected_echo(command)); // 1202 bytes: 512 + 512 + 178
    BOOST_TEST(chains == (std::vector<std::uint8_t>{0x01, 0x03, 0x02}));
    BOOST_TEST(fw.counters().chained >= 6U);
    // 0x0010 without a response to continue, 0x0002 without a chain begun.
    BOOST_TEST(host.xfr({}, ccid::chain::empty_continue).error == ccid::error::bad_level_parameter);
    BOOST_TEST(host.xfr(Bytes{1}, ccid::chain::continue_end).error ==
               ccid::error::bad_level_parameter);
}

BOOST_AUTO_TEST_CASE(chain_corruption_above_n_bytes) {
    CcidFirmware fw(model("lab-ext-chainbug")); // 261-byte blocks, corrupts above 512
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact);
    host.power_on();
    const Bytes small = echo_extended(500);
    BOOST_TEST(host.transmit_extended(small, 261) == expected_echo(small));
    const Bytes big = echo_extended(600);
    const Bytes got = host.transmit_extended(big, 261);
    const Bytes want = expected_echo(big);
    BOOST_TEST_REQUIRE(got.size() == want.size());
    std::vector<std::size_t> differ;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != want[i])
            differ.push_back(i);
    // Command byte 512 (data byte 505) and response byte 512.
    BOOST_TEST(differ == (std::vector<std::size_t>{505, 512}));
}

BOOST_AUTO_TEST_CASE(short_le_00_rejection) {
    CcidFirmware fw(model("lab-short-le00"));
    Host host(fw);
    fw.insert(0, lab_test::juki(), Interface::Contact);
    host.power_on();
    const ccid::Reply le00 = host.xfr(Bytes{0x00, 0xB0, 0x00, 0x00, 0x00});
    BOOST_TEST(le00.error == ccid::error::xfr_overrun);
    BOOST_TEST(host.xfr(Bytes{0x00, 0xB0, 0x00, 0x00, 0x10}).data.size() == 18U);
}

BOOST_AUTO_TEST_CASE(type_a_only_reader_never_sees_a_type_b_card) {
    CcidFirmware fw(model("lab-nfc-a"));
    Host host(fw);
    fw.insert(0, lab_test::my_number_contactless(), Interface::TypeB);
    BOOST_TEST(!fw.take_interrupt()); // nothing the reader could notice
    BOOST_TEST(host.slot_status().icc() == IccStatus::Absent);
    BOOST_TEST(host.power_on().error == ccid::error::icc_mute);
    fw.insert(0, lab_test::my_number_contactless(), Interface::TypeA);
    BOOST_TEST(fw.take_interrupt().has_value());
    const ccid::Reply atr = host.power_on();
    BOOST_TEST(atr.data == lab_test::my_number_type_b_atr);
}

BOOST_AUTO_TEST_CASE(flaky_contacts_bounce_every_nth_exchange) {
    CcidFirmware fw(model("lab-flaky")); // every 40th
    Host host(fw);
    fw.insert(0, lab_test::juki(), Interface::Contact);
    (void)fw.take_interrupt();
    host.power_on();
    T1Host t1{host, 0xFE};
    for (int i = 1; i < 40; ++i)
        BOOST_TEST_REQUIRE(t1.transceive(Bytes{0x00, 0xB0, 0x00, 0x00, 0x01}).has_value());
    BOOST_TEST(!t1.transceive(Bytes{0x00, 0xB0, 0x00, 0x00, 0x01}).has_value());
    BOOST_TEST(t1.failure->error == ccid::error::icc_mute);
    BOOST_TEST(t1.failure->icc() == IccStatus::Absent);      // contact lost: IFD_ICC_NOT_PRESENT
    BOOST_TEST(*fw.take_interrupt() == (Bytes{0x50, 0x02})); // gone (changed, absent)
    BOOST_TEST(*fw.take_interrupt() == (Bytes{0x50, 0x03})); // back (changed, present)
    BOOST_TEST(!fw.take_interrupt().has_value());
    BOOST_TEST(fw.counters().bounces == 1U);
    BOOST_TEST(host.power_on().command_status() == CommandStatus::Ok);
}

BOOST_AUTO_TEST_CASE(latency_delays_every_reply) {
    CcidFirmware fw(model("lab-nfc-b")); // 3 ms
    Host host(fw);
    fw.insert(0, lab_test::my_number_contactless(), Interface::TypeB);
    const auto start = host.now;
    fw.bulk_out(ccid::encode(power_on_command(0)), start);
    BOOST_TEST_REQUIRE(fw.next_due().has_value());
    BOOST_TEST((*fw.next_due() - start == 3ms));
    BOOST_TEST(!fw.take_bulk_in(start + 2ms));
    BOOST_TEST(fw.take_bulk_in(start + 3ms).has_value());
}

BOOST_AUTO_TEST_CASE(apdu_level_time_extension_while_the_card_signs) {
    CcidFirmware fw(model("lab-ext-dual"));
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact); // 1.8 s
    host.power_on();
    host.extensions.clear();
    const auto start = host.now;
    fw.bulk_out(ccid::encode([&] {
                    ccid::Command c = host.command(ccid::MessageType::XfrBlock, sign_command());
                    return c;
                }()),
                start);
    BOOST_TEST(!fw.take_bulk_in(start + 100ms)); // nothing due yet: the handler never waits
    const ccid::Reply r = host.receive();
    BOOST_TEST(r.command_status() == CommandStatus::Ok);
    BOOST_TEST(r.data.size() == 258U);
    // One time extension every 500 ms of the 1.8 s: at 0.5, 1.0 and 1.5 s.
    BOOST_TEST(host.extensions.size() == 3U);
    for (const auto& e : host.extensions) {
        BOOST_TEST(e.status == 0x80);
        BOOST_TEST(e.error == 1);
        BOOST_TEST(e.seq == r.seq);
    }
    BOOST_TEST((host.now - start == 1800ms + 800us));
}

BOOST_AUTO_TEST_CASE(apdu_level_timeout_without_time_extension) {
    FirmwareConfig config = firmware_config(model("lab-short-261"));
    config.quirks.time_extension = false;
    config.quirks.timeout = 1000ms;
    CcidFirmware fw(config);
    Host host(fw);
    fw.insert(0, lab_test::juki(), Interface::Contact);
    host.power_on();
    auto slow = std::make_shared<lab_test::TestCard>(lab_test::juki_atr, 128, 1500ms);
    fw.insert(0, slow, Interface::Contact);
    host.power_on();
    host.extensions.clear();
    const auto start = host.now;
    const ccid::Reply r = host.xfr(sign_command());
    BOOST_TEST(r.error == ccid::error::icc_mute);
    BOOST_TEST(host.extensions.empty());
    BOOST_TEST((host.now - start == 1000ms + 500us));
}

BOOST_AUTO_TEST_CASE(busy_slot_abort_and_removal_mid_command) {
    CcidFirmware fw(model("lab-ext-dual"));
    Host host(fw);
    fw.insert(0, lab_test::my_number(), Interface::Contact);
    host.power_on();
    // A second command while the sign is under way: CMD_SLOT_BUSY at once, with its own bSeq.
    const ccid::Command sign = host.command(ccid::MessageType::XfrBlock, sign_command());
    fw.bulk_out(ccid::encode(sign), host.now);
    const ccid::Command status = host.command(ccid::MessageType::GetSlotStatus);
    fw.bulk_out(ccid::encode(status), host.now);
    const auto busy = ccid::parse_reply(*fw.take_bulk_in(host.now));
    BOOST_TEST(busy.reply->seq == status.seq);
    BOOST_TEST(busy.reply->error == ccid::error::cmd_slot_busy);
    // Abort (class request, then the bulk message): the sign ends CMD_ABORTED.
    BOOST_TEST(fw.control(0x01, static_cast<std::uint16_t>(sign.seq << 8), 0).has_value());
    const auto aborted = ccid::parse_reply(*fw.take_bulk_in(host.now));
    BOOST_TEST(aborted.reply->seq == sign.seq);
    BOOST_TEST(aborted.reply->error == ccid::error::cmd_aborted);
    ccid::Command abort = host.command(ccid::MessageType::Abort);
    abort.seq = sign.seq;
    BOOST_TEST(host.exchange(abort).command_status() == CommandStatus::Ok);
    // The card pulled while it signs: the reply says "absent" now, not 1.8 s later.
    fw.bulk_out(ccid::encode(host.command(ccid::MessageType::XfrBlock, sign_command())), host.now);
    fw.remove(0);
    const auto gone = ccid::parse_reply(*fw.take_bulk_in(host.now));
    BOOST_TEST(gone.reply->icc() == IccStatus::Absent);
    BOOST_TEST(gone.reply->error == ccid::error::icc_mute);
    BOOST_TEST(!fw.next_due());
}

BOOST_AUTO_TEST_CASE(class_requests_clock_frequencies_and_data_rates) {
    CcidFirmware plain(model("lab-ext-dual"));
    BOOST_TEST(!plain.control(0x03, 0, 64)); // bNumDataRatesSupported 0: STALL
    BOOST_TEST(!plain.control(0x07, 0, 64)); // unknown request: STALL
    FirmwareConfig config = firmware_config(model("lab-ext-dual"));
    config.descriptor.num_clock_supported = 1;
    config.descriptor.num_data_rates_supported = 2;
    config.data_rates_bps = {10752, 43010};
    CcidFirmware fw(config);
    BOOST_TEST(*fw.control(0x02, 0, 64) == (Bytes{0xA0, 0x0F, 0, 0}));
    BOOST_TEST(*fw.control(0x03, 0, 64) == (Bytes{0x00, 0x2A, 0, 0, 0x02, 0xA8, 0, 0}));
    BOOST_TEST(fw.control(0x03, 0, 4)->size() == 4U);
}

BOOST_AUTO_TEST_CASE(trace_is_bounded_and_says_what_happened) {
    FirmwareConfig config = firmware_config(model("lab-short-261"));
    config.trace_capacity = 8;
    CcidFirmware fw(config);
    Host host(fw);
    fw.insert(0, std::make_shared<lab_test::TestCard>(lab_test::my_number_atr, 256, 10ms),
              Interface::Contact);
    host.power_on();
    (void)host.xfr(sign_command());
    const auto trace = fw.trace();
    BOOST_TEST_REQUIRE(trace.size() == 4U);
    BOOST_TEST(std::string(to_string(trace[2].direction)) == "out");
    BOOST_TEST(trace[2].message ==
               ccid::encode(ccid::Command{ccid::MessageType::XfrBlock, 0, 1, sign_command()}));
    BOOST_TEST(std::string(to_string(trace[3].direction)) == "in");
    BOOST_TEST(trace[3].note.find("exceeds the 251-byte message limit") != std::string::npos);
    for (int i = 0; i < 10; ++i)
        (void)host.slot_status();
    BOOST_TEST(fw.trace().size() == 8U);
    const auto counters = fw.counters();
    BOOST_TEST(counters.bulk_out == 12U);
    BOOST_TEST(counters.bulk_in == 12U);
    BOOST_TEST(counters.failed == 1U);
    BOOST_TEST(counters.card_commands == 1U);
    fw.clear_trace();
    BOOST_TEST(fw.trace().empty());
}

BOOST_AUTO_TEST_CASE(usb_handler_and_lab_threads_may_call_at_once) {
    CcidFirmware fw(model("lab-ext-dual"));
    fw.insert(0, lab_test::juki(), Interface::Contact);
    std::atomic<bool> stop{false};
    std::thread lab([&] {
        while (!stop) {
            fw.insert(0, lab_test::juki(), Interface::Contact);
            (void)fw.take_interrupt();
        }
    });
    const auto now = Clock::now();
    std::size_t replies = 0;
    for (std::uint8_t seq = 0; seq < 200; ++seq) {
        ccid::Command c;
        c.type = ccid::MessageType::GetSlotStatus;
        c.seq = seq;
        fw.bulk_out(ccid::encode(c), now);
        while (fw.take_bulk_in(now + 1s))
            ++replies;
    }
    stop = true;
    lab.join();
    BOOST_TEST(replies == 200U);
}

BOOST_AUTO_TEST_CASE(any_message_gets_exactly_one_answer_and_the_firmware_survives) {
    // Random and half-valid messages (deterministic), as a confused or hostile host sends them:
    // never an exception, one final reply per message of 10 bytes or more, bSeq echoed.
    std::uint32_t state = 12345;
    const auto next = [&] {
        state = state * 1664525U + 1013904223U;
        return state >> 8;
    };
    const Bytes types{0x61, 0x62, 0x63, 0x65, 0x69, 0x6A, 0x6B, 0x6C, 0x6D,
                      0x6E, 0x6F, 0x71, 0x72, 0x73, 0x99, 0x00, 0x80};
    for (const char* id : {"lab-tpdu-contact", "lab-ext-dual", "lab-short-le00", "lab-flaky"}) {
        CcidFirmware fw(model(id));
        Host host(fw);
        fw.insert(0, lab_test::my_number(), Interface::Contact);
        std::size_t sent = 0, answered = 0;
        for (int i = 0; i < 3000; ++i) {
            Bytes m;
            if (next() % 5 == 0) {
                m.resize(next() % 14);
                for (auto& b : m)
                    b = static_cast<std::uint8_t>(next());
            } else {
                const std::size_t n = next() % 3 == 0 ? next() % 300 : next() % 12;
                Bytes data(n);
                for (auto& b : data)
                    b = static_cast<std::uint8_t>(next());
                if (next() % 3 == 0 && n >= 5) // often an APDU-looking or T=1-looking start
                    data[0] = next() % 2 == 0 ? 0x00 : 0x80;
                const bool honest = next() % 8 != 0;
                const std::uint32_t length =
                    honest ? static_cast<std::uint32_t>(n) : static_cast<std::uint32_t>(next());
                m = {types[next() % types.size()],
                     static_cast<std::uint8_t>(length),
                     static_cast<std::uint8_t>(length >> 8),
                     static_cast<std::uint8_t>(length >> 16),
                     static_cast<std::uint8_t>(length >> 24),
                     static_cast<std::uint8_t>(next() % 4 == 0 ? next() % 3 : 0),
                     static_cast<std::uint8_t>(i),
                     static_cast<std::uint8_t>(next() % 3),
                     static_cast<std::uint8_t>(next() % 4 == 0 ? 0x10 : next() % 4),
                     0};
                m.insert(m.end(), data.begin(), data.end());
            }
            fw.bulk_out(m, host.now);
            if (m.size() >= ccid::header_size)
                ++sent;
            if (next() % 7 == 0)
                (void)fw.control(0x01, static_cast<std::uint16_t>(next()), 0);
            while (const auto due = fw.next_due()) {
                host.now = std::max(host.now, *due);
                const auto r = fw.take_bulk_in(host.now);
                BOOST_TEST_REQUIRE(r.has_value());
                const auto reply = ccid::parse_reply(*r);
                BOOST_TEST_REQUIRE(reply.reply.has_value());
                if (reply.reply->command_status() != CommandStatus::TimeExtension)
                    ++answered;
            }
            if (next() % 50 == 0)
                fw.insert(0, lab_test::my_number(), Interface::Contact);
        }
        BOOST_TEST(answered == sent, id);
        // Still a working reader afterwards.
        fw.insert(0, lab_test::juki(), Interface::Contact);
        BOOST_TEST(host.power_on().data == lab_test::juki_atr, id);
    }
}
