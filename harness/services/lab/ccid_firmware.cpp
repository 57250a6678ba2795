#include "services/lab/ccid_firmware.hpp"

#include "pure/error.hpp"
#include "pure/t1_block.hpp"
#include "services/lab/emulated_reader.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <fmt/core.h>
#include <mutex>

namespace harness::lab {

using Clock = CcidFirmware::Clock;
using ccid::CommandStatus;
using ccid::IccStatus;
using ccid::MessageType;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

bool FirmwareQuirks::supports(Interface interface) const {
    switch (interface) {
    case Interface::Contact:
        return contact;
    case Interface::TypeA:
        return type_a;
    case Interface::TypeB:
        return type_b;
    }
    return false;
}

FirmwareConfig firmware_config(const ReaderModel& model) {
    FirmwareConfig config;
    config.descriptor = model.ccid_descriptor();
    FirmwareQuirks& q = config.quirks;
    q.contact = model.contact;
    q.type_a = model.type_a;
    q.type_b = model.type_b;
    q.pps = model.pps != Pps::None;
    q.le_zero_reject = model.le_zero == LeZero::Reject;
    q.chain_corrupt_above = model.chain_corrupt_above;
    q.time_extension = model.wtx;
    q.timeout = model.timeout;
    q.latency = model.latency;
    q.flaky_every = model.flaky_every;
    return config;
}

const char* to_string(FirmwareTrace::Direction direction) {
    switch (direction) {
    case FirmwareTrace::Direction::BulkOut:
        return "out";
    case FirmwareTrace::Direction::BulkIn:
        return "in";
    case FirmwareTrace::Direction::Interrupt:
        return "interrupt";
    case FirmwareTrace::Direction::Control:
        return "control";
    }
    return "out";
}

namespace {

// ISO 7816-3 §8.3 tables 7 and 8: Fi and Di from TA1 (0 = RFU).
constexpr std::array<unsigned, 16> fi_table{372, 372, 558, 744,  1116, 1488, 1860, 0,
                                            0,   512, 768, 1024, 1536, 2048, 0,    0};
constexpr std::array<unsigned, 16> di_table{0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0};

// The ATR bytes the firmware configures itself from (ISO 7816-3 §8.2.3).
struct AtrBytes {
    std::optional<std::uint8_t> ta1, tc1, tc2;
    int first_protocol = 0; // T of TD1 (T=0 without TD1)
};

AtrBytes atr_bytes(ByteView atr) {
    AtrBytes out;
    if (atr.size() < 2)
        return out;
    std::size_t pos = 2;
    std::uint8_t y = atr[1] >> 4;
    for (int level = 1; level <= 8; ++level) {
        const auto take = [&](std::uint8_t bit, std::optional<std::uint8_t>* slot) {
            if ((y & bit) == 0 || pos >= atr.size())
                return;
            if (slot)
                *slot = atr[pos];
            ++pos;
        };
        take(0x1, level == 1 ? &out.ta1 : nullptr);
        take(0x2, nullptr);
        take(0x4, level == 1 ? &out.tc1 : level == 2 ? &out.tc2 : nullptr);
        if ((y & 0x8) == 0 || pos >= atr.size())
            break;
        const std::uint8_t td = atr[pos++];
        if (level == 1)
            out.first_protocol = td & 0x0F;
        y = td >> 4;
    }
    return out;
}

// The card's data rate for a Fi/Di byte at the descriptor's default clock (0: RFU value).
std::uint64_t rate_of(std::uint8_t fi_di, std::uint32_t clock_khz) {
    const unsigned f = fi_table[fi_di >> 4];
    const unsigned d = di_table[fi_di & 0x0F];
    if (f == 0 || d == 0)
        return 0;
    return std::uint64_t{clock_khz} * 1000U * d / f;
}

// Whether a card whose ATR says TA1 accepts Fi/Di `wanted` (ISO 7816-3 §9.3: the default, or the
// card's own F with a D not above its own).
bool card_accepts(std::optional<std::uint8_t> ta1, std::uint8_t wanted) {
    if (wanted == 0x11)
        return true;
    if (!ta1)
        return false;
    if ((wanted >> 4) != (*ta1 >> 4))
        return false;
    const unsigned d = di_table[wanted & 0x0F];
    return d != 0 && d <= di_table[*ta1 & 0x0F];
}

std::uint8_t swap_nibbles(std::uint8_t b) {
    return static_cast<std::uint8_t>((b << 4U) | (b >> 4U));
}

// A PPS request (ISO 7816-3 §9.2): FF PPS0 [PPS1] [PPS2] [PPS3] PCK with a zero XOR.
bool is_pps(ByteView data) {
    if (data.size() < 3 || data.size() > 6 || data[0] != 0xFF)
        return false;
    const std::uint8_t pps0 = data[1];
    const std::size_t expected =
        3U + ((pps0 & 0x10) ? 1U : 0U) + ((pps0 & 0x20) ? 1U : 0U) + ((pps0 & 0x40) ? 1U : 0U);
    return data.size() == expected && t1::lrc(data) == 0;
}

} // namespace

struct CcidFirmware::Impl {
    struct T1Card {
        t1::Parameters atr;                 // the card's IFSC, BWI/CWI and EDC (its ATR)
        std::size_t ifsd = t1::default_ifs; // what the host accepts
        bool ns = false;                    // N(S) of the card's next I-block
        bool nr = false;                    // N(S) the card expects from the host
        Bytes command;                      // chained command being received
        Bytes response;                     // response being sent
        std::size_t offset = 0;             // bytes of `response` already sent
        bool sending = false;               // a chained response is under way
        std::optional<t1::Block> last;
        bool awaiting_wtx = false; // S(WTX request) sent, the response waits for S(WTX resp)
        std::uint8_t wtx = 0;
        Clock::time_point ready_at{}; // when the card's answer is ready
    };

    struct Slot {
        std::shared_ptr<io::VirtualCard> card;
        Interface interface = Interface::Contact;
        bool powered = false;
        Bytes atr;
        bool fresh = false; // no exchange since the ATR: a PPS request is allowed
        ccid::ProtocolParameters params;
        T1Card t1;
        Bytes t0_pending; // T=0 data waiting for GET RESPONSE
        Bytes chain_in;   // extended level: command parts received
        bool chaining_in = false;
        Bytes chain_out; // extended level: response parts not yet sent
        bool chaining_out = false;
        std::uint64_t exchanges = 0; // APDUs that reached the card (flaky counter)
        bool changed = false;        // for the next NotifySlotChange
        // A flaky bounce or a removal: the card is out until the host has read the "absent"
        // NotifySlotChange (or bounce_time passed, for a host that does not listen); a card there
        // then (back, or newly inserted) is announced by the next one.
        bool bounced = false;
        Clock::time_point bounced_at{};
    };

    struct Pending {
        unsigned slot = 0;
        ccid::Header header;
        Bytes final;
        Clock::time_point due{};
        std::optional<Clock::time_point> next_extension;
        std::string note;
        std::uint64_t order = 0;
    };

    explicit Impl(const FirmwareConfig& c) : config(c) { slots.resize(config.descriptor.slots()); }

    const FirmwareConfig& config;
    mutable std::mutex mutex;
    std::vector<Slot> slots;
    std::vector<Pending> pending;
    bool interrupt_dirty = false;
    std::deque<FirmwareTrace> trace;
    FirmwareCounters counters;
    Clock::time_point last_now{};
    std::uint64_t order = 0;

    const ccid::Descriptor& desc() const { return config.descriptor; }
    const FirmwareQuirks& quirks() const { return config.quirks; }

    void record(FirmwareTrace::Direction direction, Clock::time_point when, ByteView message,
                std::string note) {
        if (config.trace_capacity == 0)
            return;
        while (trace.size() >= config.trace_capacity)
            trace.pop_front();
        trace.push_back(
            FirmwareTrace{when, direction, Bytes(message.begin(), message.end()), std::move(note)});
    }

    static constexpr std::chrono::milliseconds bounce_time{100};
    bool gone(const Slot& s) const { return s.bounced && last_now - s.bounced_at < bounce_time; }
    bool visible(const Slot& s) const {
        return s.card && quirks().supports(s.interface) && !gone(s);
    }
    // Where the card was presented, not what its ATR looks like: a contact card's ATR may have
    // the shape of a contactless pseudo-ATR (3B 80 80 01 01).
    static bool contactless(const Slot& s) { return s.interface != Interface::Contact; }

    IccStatus icc(const Slot& s) const {
        if (!visible(s))
            return IccStatus::Absent;
        return s.powered ? IccStatus::Active : IccStatus::PresentInactive;
    }

    std::uint8_t status(const Slot& s, CommandStatus command = CommandStatus::Ok) const {
        return ccid::status_byte(icc(s), command);
    }

    // The pending-slot index of a reply to a slot that does not exist.
    unsigned nowhere() const { return static_cast<unsigned>(slots.size()); }

    bool busy(unsigned slot) const {
        return std::any_of(pending.begin(), pending.end(),
                           [&](const Pending& p) { return p.slot == slot; });
    }

    void schedule(unsigned slot, const ccid::Header& header, const ccid::Reply& reply,
                  Clock::time_point now, Clock::time_point due, std::string note,
                  bool extensible = false) {
        Pending p;
        p.slot = slot;
        p.header = header;
        p.final = ccid::encode(reply);
        if (!reply.data.empty() && p.final.size() > desc().max_message_length) {
            // The firmware's own buffer is dwMaxCCIDMessageLength: a longer answer overruns it.
            note = fmt::format("{}{}reply of {} bytes exceeds the firmware's own "
                               "dwMaxCCIDMessageLength {}",
                               note, note.empty() ? "" : "; ", p.final.size(),
                               desc().max_message_length);
            const IccStatus icc_status = ccid::icc_status_of(reply.status);
            p.final =
                ccid::encode(ccid::failure_reply(header, icc_status, ccid::error::xfr_overrun));
        }
        p.due = due;
        p.note = std::move(note);
        p.order = order++;
        if (extensible && quirks().time_extension && due - now > quirks().time_extension_interval)
            p.next_extension = now + quirks().time_extension_interval;
        pending.push_back(std::move(p));
    }

    // A reply after the firmware's latency.
    void reply(unsigned slot, const ccid::Header& header, const ccid::Reply& r,
               Clock::time_point now, std::string note = {}) {
        schedule(slot, header, r, now, now + quirks().latency, std::move(note));
    }

    void fail(unsigned slot, const ccid::Header& header, IccStatus icc_status, std::uint8_t error,
              Clock::time_point now, std::string note) {
        reply(slot, header, ccid::failure_reply(header, icc_status, error), now, std::move(note));
    }

    // A card answer that took `processing`: on time, or the firmware's timeout without time
    // extension (ICC_MUTE, as real firmware reports a card that did not answer).
    void answer_after(unsigned slot, const ccid::Header& header, const ccid::Reply& r,
                      Clock::time_point now, microseconds processing, std::string note = {}) {
        if (!quirks().time_extension && processing > quirks().timeout) {
            ++counters.timeouts;
            const Slot& s = slots[slot];
            schedule(slot, header, ccid::failure_reply(header, icc(s), ccid::error::icc_mute), now,
                     now + quirks().timeout + quirks().latency,
                     fmt::format("timeout: the card took {} ms, over the firmware's {} ms "
                                 "without time extension",
                                 processing.count() / 1000, quirks().timeout.count()));
            return;
        }
        schedule(slot, header, r, now, now + processing + quirks().latency, std::move(note), true);
    }

    void mark_changed(unsigned slot) {
        slots[slot].changed = true;
        interrupt_dirty = true;
    }

    void deactivate(Slot& s) {
        if (s.card && s.powered) {
            try {
                s.card->power_off();
            } catch (const std::exception&) {
                // deactivation cannot fail for the firmware
            }
        }
        s.powered = false;
        s.atr.clear();
        s.fresh = false;
        s.t1 = T1Card{};
        s.t0_pending.clear();
        s.chain_in.clear();
        s.chaining_in = false;
        s.chain_out.clear();
        s.chaining_out = false;
    }

    // Parameters a reader configures from the ATR (CCID dwFeatures 0x02; else the defaults).
    ccid::ProtocolParameters parameters_from_atr(const Slot& s, std::uint8_t fi_di) const {
        ccid::ProtocolParameters p;
        const AtrBytes a = atr_bytes(s.atr);
        int protocol = a.first_protocol == 1 ? 1 : 0;
        if ((protocol == 0 && !desc().supports_t0()) || (protocol == 1 && !desc().supports_t1()))
            protocol = 1 - protocol;
        if (contactless(s))
            protocol = 1;
        p.protocol = static_cast<std::uint8_t>(protocol);
        if (!desc().has_feature(ccid::feature::auto_config_atr))
            return p;
        const t1::Parameters t = t1::parameters_from_atr(s.atr);
        p.t0.findex_dindex = fi_di;
        p.t0.guard_time = a.tc1.value_or(0);
        p.t0.waiting_integer = a.tc2.value_or(0x0A);
        p.t1.findex_dindex = fi_di;
        p.t1.tcckst1 = t.edc == t1::Edc::Crc ? 0x11 : 0x10;
        p.t1.guard_time = a.tc1.value_or(0);
        p.t1.waiting_integers = static_cast<std::uint8_t>(t.bwi << 4U | (t.cwi & 0x0F));
        p.t1.ifsc = static_cast<std::uint8_t>(std::min<std::size_t>(t.ifsc, 254));
        return p;
    }

    std::uint32_t clock_khz() const {
        return desc().default_clock_khz != 0 ? desc().default_clock_khz : 4000;
    }

    // ISO 7816-3 §11.4.3: BWT = 11 etu + 2^BWI × 960 × 372 / f (the 11 etu are negligible).
    microseconds bwt(const Slot& s) const {
        return microseconds((std::int64_t{1} << s.t1.atr.bwi) * 960 * 372 * 1000 /
                            std::int64_t{clock_khz()});
    }

    // ISO 7816-3 §10.2: WWT = 960 × WI × Fi / f.
    microseconds wwt(const Slot& s) const {
        const unsigned fi = std::max(fi_table[s.params.t0.findex_dindex >> 4], 372U);
        const unsigned wi = std::max<unsigned>(s.params.t0.waiting_integer, 1);
        return microseconds(std::int64_t{960} * wi * fi * 1000 / std::int64_t{clock_khz()});
    }

    // The Fi/Di the firmware negotiates itself after the ATR (dwFeatures automatic PPS).
    std::uint8_t automatic_fi_di(const Slot& s) const {
        const AtrBytes a = atr_bytes(s.atr);
        if (!a.ta1 || !quirks().pps || contactless(s) ||
            !desc().has_feature(ccid::feature::auto_pps))
            return 0x11;
        const std::uint64_t rate = rate_of(*a.ta1, clock_khz());
        if (rate == 0 || rate > desc().max_data_rate_bps)
            return 0x11;
        return *a.ta1;
    }

    // An APDU reaches the card (or the card bounces: flaky contacts).
    std::optional<io::CardResponse> run_card(unsigned slot, const ccid::Header& header,
                                             ByteView apdu, Clock::time_point now) {
        Slot& s = slots[slot];
        ++s.exchanges;
        if (quirks().flaky_every != 0 && s.exchanges % quirks().flaky_every == 0) {
            ++counters.bounces;
            deactivate(s);
            s.bounced = true;
            s.bounced_at = now;
            mark_changed(slot);
            // Contact lost: absent + ICC_MUTE, which the CCID driver reports as
            // IFD_ICC_NOT_PRESENT; two NotifySlotChange follow (absent, then present again).
            fail(slot, header, IccStatus::Absent, ccid::error::icc_mute, now,
                 "flaky contact: the card bounced (removed and back)");
            return std::nullopt;
        }
        ++counters.card_commands;
        try {
            return s.card->transmit(apdu);
        } catch (const std::exception& e) {
            // A card that fails outright is mute for the firmware (never an exception upward).
            fail(slot, header, icc(s), ccid::error::icc_mute, now,
                 std::string("the card did not answer: ") + e.what());
            return std::nullopt;
        }
    }

    // ---- PPS (ISO 7816-3 §9) as the first exchange after the ATR ----
    void pps(unsigned slot, const ccid::Header& header, ByteView request, Clock::time_point now) {
        Slot& s = slots[slot];
        s.fresh = false;
        if (!quirks().pps) {
            fail(slot, header, icc(s), ccid::error::icc_mute, now,
                 "no PPS: this firmware cannot change the card's rate");
            return;
        }
        const AtrFacts facts = atr_facts(s.atr);
        const AtrBytes a = atr_bytes(s.atr);
        const int protocol = request[1] & 0x0F;
        if ((protocol == 0 && !facts.t0) || (protocol == 1 && !facts.t1) || protocol > 1) {
            fail(slot, header, icc(s), ccid::error::icc_mute, now,
                 fmt::format("PPS for T={} which the card does not offer: no answer", protocol));
            return;
        }
        Bytes confirm(request.begin(), request.end());
        std::uint8_t fi_di = 0x11;
        if ((request[1] & 0x10) != 0) {
            const std::uint8_t wanted = request[2];
            const std::uint64_t rate = rate_of(wanted, clock_khz());
            if (card_accepts(a.ta1, wanted) && rate != 0 && rate <= desc().max_data_rate_bps) {
                fi_di = wanted;
            } else {
                // Partial acceptance: PPS1 left out, the default Fd/Dd apply (§9.3).
                confirm = {0xFF, static_cast<std::uint8_t>(request[1] & 0x0F)};
                confirm.push_back(t1::lrc(confirm));
            }
        }
        s.params.protocol = static_cast<std::uint8_t>(protocol);
        s.params.t0.findex_dindex = fi_di;
        s.params.t1.findex_dindex = fi_di;
        reply(slot, header, ccid::data_block(header.slot, header.seq, status(s), 0, 0, confirm),
              now, fmt::format("PPS T={} Fi/Di 0x{:02X}", protocol, fi_di));
    }

    // ---- TPDU level, T=1: the card side of ISO 7816-3 §11 ----
    void t1_send(unsigned slot, const ccid::Header& header, t1::Block block, Clock::time_point now,
                 microseconds wait, std::string note) {
        Slot& s = slots[slot];
        s.t1.last = block;
        const Bytes wire = t1::encode(block, s.t1.atr.edc);
        if (note.empty())
            note = "card: " + t1::describe(block);
        answer_after(slot, header, ccid::data_block(header.slot, header.seq, status(s), 0, 0, wire),
                     now, wait, std::move(note));
    }

    t1::Block t1_next_chunk(Slot& s, std::uint8_t nad) {
        const std::size_t left = s.t1.response.size() - s.t1.offset;
        const std::size_t n = std::min({left, s.t1.ifsd, t1::max_inf});
        const bool more = left > n;
        t1::Block b =
            t1::i_block(s.t1.ns, more, ByteView(s.t1.response).subspan(s.t1.offset, n), nad);
        s.t1.ns = !s.t1.ns;
        s.t1.offset += n;
        s.t1.sending = more;
        return b;
    }

    void tpdu_t1(unsigned slot, const ccid::Header& header, ByteView data, Clock::time_point now) {
        Slot& s = slots[slot];
        T1Card& t = s.t1;
        ++counters.t1_blocks;
        const t1::ParsedBlock parsed = t1::parse(data, t.atr.edc);
        const std::uint8_t nad = parsed.block ? swap_nibbles(parsed.block->nad) : 0;
        const auto r_error = [&](t1::RError e, std::string why) {
            t1_send(slot, header, t1::r_block(t.nr, e, nad), now, {},
                    "card: " + t1::describe(t1::r_block(t.nr, e)) + " (" + why + ")");
        };
        if (!parsed.block || !parsed.edc_ok) {
            r_error(parsed.block ? t1::RError::Edc : t1::RError::Other,
                    parsed.findings.empty() ? "bad block" : parsed.findings.front().message);
            return;
        }
        if (!parsed.valid) {
            r_error(t1::RError::Other, parsed.findings.front().message);
            return;
        }
        const t1::Block& b = *parsed.block;
        const auto retransmit = [&](std::string why) {
            if (!t.last) {
                r_error(t1::RError::Other, why);
                return;
            }
            t1::Block again = *t.last;
            t1_send(slot, header, again, now, {},
                    "card: again " + t1::describe(again) + " (" + why + ")");
        };
        switch (b.type()) {
        case t1::BlockType::I: {
            if (b.inf.size() > t.atr.ifsc) {
                r_error(t1::RError::Other,
                        fmt::format("INF of {} bytes above IFSC {}", b.inf.size(), t.atr.ifsc));
                return;
            }
            if (b.send_seq() != t.nr) {
                r_error(t1::RError::Other, "unexpected N(S)");
                return;
            }
            if (t.sending || t.awaiting_wtx) {
                // The host started anew: the card drops what it was sending.
                t.sending = t.awaiting_wtx = false;
                t.response.clear();
            }
            t.nr = !t.nr;
            t.command.insert(t.command.end(), b.inf.begin(), b.inf.end());
            if (b.more()) {
                t1_send(slot, header, t1::r_block(t.nr, t1::RError::None, nad), now, {},
                        fmt::format("card: R({}) chained command, {} bytes so far", t.nr ? 1 : 0,
                                    t.command.size()));
                return;
            }
            const Bytes apdu = std::move(t.command);
            t.command.clear();
            const auto response = run_card(slot, header, apdu, now);
            if (!response)
                return;
            t.response = response->apdu;
            t.offset = 0;
            const microseconds processing = response->processing_time;
            const microseconds limit = bwt(s);
            if (processing > limit) {
                const auto m = std::min<std::int64_t>(
                    255, (processing.count() + limit.count() - 1) / limit.count());
                t.awaiting_wtx = true;
                t.wtx = static_cast<std::uint8_t>(m);
                t.ready_at = now + processing;
                ++counters.wtx_requests;
                const std::uint8_t inf = t.wtx;
                t1_send(slot, header,
                        t1::s_block(t1::SFunction::Wtx, false, ByteView(&inf, 1), nad), now, {},
                        fmt::format("card: S(WTX req 0x{:02X}): {} ms of work, BWT {} ms", inf,
                                    processing.count() / 1000, limit.count() / 1000));
                return;
            }
            t1_send(slot, header, t1_next_chunk(s, nad), now, processing, {});
            return;
        }
        case t1::BlockType::R:
            if (t.awaiting_wtx) {
                retransmit("R-block while S(WTX) is unanswered");
                return;
            }
            if (t.sending && b.receive_seq() == t.ns && b.r_error() == t1::RError::None) {
                t1_send(slot, header, t1_next_chunk(s, nad), now, {}, {});
                return;
            }
            retransmit(b.r_error() == t1::RError::None ? "R-block" : "R-block with error");
            return;
        case t1::BlockType::S:
            if (b.s_response()) {
                if (b.s_function() == t1::SFunction::Wtx && t.awaiting_wtx) {
                    t.awaiting_wtx = false;
                    const microseconds wait = t.ready_at > now
                                                  ? duration_cast<microseconds>(t.ready_at - now)
                                                  : microseconds{0};
                    // The reader waits BWT × the multiplier the host passes in bBWI; a firmware
                    // without time extension keeps its own fixed timeout (answer_after).
                    t1_send(
                        slot, header, t1_next_chunk(s, nad), now, wait,
                        fmt::format("card: answer after S(WTX resp), bBWI {}", header.specific[0]));
                    return;
                }
                r_error(t1::RError::Other, "unexpected S-block response");
                return;
            }
            switch (b.s_function()) {
            case t1::SFunction::Ifs:
                t.ifsd = b.inf[0];
                t1_send(slot, header, t1::s_block(t1::SFunction::Ifs, true, b.inf, nad), now, {},
                        fmt::format("card: S(IFS resp) IFSD {}", t.ifsd));
                return;
            case t1::SFunction::Resynch:
                t.ns = t.nr = false;
                t.command.clear();
                t.response.clear();
                t.sending = t.awaiting_wtx = false;
                t1_send(slot, header, t1::s_block(t1::SFunction::Resynch, true, {}, nad), now, {},
                        {});
                return;
            case t1::SFunction::Abort:
                t.command.clear();
                t.response.clear();
                t.sending = t.awaiting_wtx = false;
                t1_send(slot, header, t1::s_block(t1::SFunction::Abort, true, {}, nad), now, {},
                        {});
                return;
            case t1::SFunction::Wtx:
                r_error(t1::RError::Other, "S(WTX request) from the host");
                return;
            }
            return;
        }
    }

    // ---- TPDU level, T=0: procedure bytes (ISO 7816-3 §10) ----
    void tpdu_t0(unsigned slot, const ccid::Header& header, ByteView data, Clock::time_point now) {
        Slot& s = slots[slot];
        Bytes tpdu(data.begin(), data.end());
        std::string note;
        t0::TpduCase shape = t0::tpdu_case(tpdu);
        if (shape == t0::TpduCase::Invalid && tpdu.size() > 6 && tpdu[4] != 0 &&
            tpdu.size() == 6U + tpdu[4]) {
            tpdu.pop_back(); // case 4: sent as case 3, the answer comes back as 61xx
            shape = t0::TpduCase::Outgoing;
            note = "case 4 TPDU: Le dropped, T=0 answers 61xx; ";
        }
        if (shape == t0::TpduCase::Invalid) {
            fail(slot, header, icc(s), ccid::error::bad_data, now,
                 fmt::format("{} bytes are not a T=0 TPDU (5-byte header + P3 data)", tpdu.size()));
            return;
        }
        if (shape == t0::TpduCase::HeaderOnly && tpdu[4] == 0 && quirks().le_zero_reject) {
            fail(slot, header, icc(s), ccid::error::xfr_overrun, now,
                 "firmware bug: P3 = 00 (256 bytes) overruns its buffer");
            return;
        }
        Bytes answer;
        microseconds processing{0};
        if (tpdu[1] == 0xC0 && shape == t0::TpduCase::HeaderOnly && !s.t0_pending.empty()) {
            // GET RESPONSE served by the T=0 card from the data it kept (ISO 7816-4 §7.6.1).
            const std::size_t want = tpdu[4] == 0 ? 256 : tpdu[4];
            const std::size_t have = s.t0_pending.size();
            if (want > have) {
                answer = {0x6C, static_cast<std::uint8_t>(have >= 256 ? 0 : have)};
            } else {
                answer.assign(s.t0_pending.begin(),
                              s.t0_pending.begin() + static_cast<std::ptrdiff_t>(want));
                s.t0_pending.erase(s.t0_pending.begin(),
                                   s.t0_pending.begin() + static_cast<std::ptrdiff_t>(want));
                const std::size_t rest = s.t0_pending.size();
                if (rest == 0) {
                    answer.push_back(0x90);
                    answer.push_back(0x00);
                } else {
                    answer.push_back(0x61);
                    answer.push_back(static_cast<std::uint8_t>(rest >= 256 ? 0 : rest));
                }
            }
            note += "card: GET RESPONSE from kept data";
        } else {
            s.t0_pending.clear();
            const auto response = run_card(slot, header, tpdu, now);
            if (!response)
                return;
            answer = response->apdu;
            processing = response->processing_time;
        }
        if (answer.size() < 2) {
            fail(slot, header, icc(s), ccid::error::icc_mute, now, "the card gave no status");
            return;
        }
        const std::size_t nulls = static_cast<std::size_t>(
            processing.count() / std::max<std::int64_t>(1, wwt(s).count()));
        const t0::CardEmission emission = t0::card_emission(tpdu, answer, nulls);
        if (!emission.pending_data.empty())
            s.t0_pending = emission.pending_data;
        const t0::ReaderResult result = t0::reader_collect(tpdu, emission.bytes);
        if (!result.response) {
            fail(slot, header, icc(s), ccid::error::procedure_byte_conflict, now,
                 result.findings.empty() ? "procedure byte conflict"
                                         : result.findings.front().message);
            return;
        }
        if (nulls > 0)
            note +=
                fmt::format("{}card sent {} NULL procedure bytes", note.empty() ? "" : "; ", nulls);
        answer_after(slot, header,
                     ccid::data_block(header.slot, header.seq, status(s), 0, 0, *result.response),
                     now, processing, note);
    }

    // ---- short and extended APDU levels ----
    void apdu_level(unsigned slot, const ccid::Header& header, const ccid::Command& c,
                    Clock::time_point now) {
        Slot& s = slots[slot];
        const bool extended_level = desc().exchange_level() == ccid::ExchangeLevel::ExtendedApdu;
        const std::size_t block = desc().max_message_length > ccid::header_size
                                      ? desc().max_message_length - ccid::header_size
                                      : 0;
        Bytes apdu;
        if (extended_level) {
            switch (c.level_parameter) {
            case ccid::chain::begin_and_end:
                if (s.chaining_in)
                    s.chain_in.clear();
                s.chaining_in = false;
                s.chaining_out = false;
                s.chain_out.clear();
                apdu = c.data;
                break;
            case ccid::chain::begin_continue:
            case ccid::chain::continue_continue:
            case ccid::chain::continue_end:
                if (c.level_parameter == ccid::chain::begin_continue) {
                    s.chain_in.clear();
                    s.chaining_in = true;
                    s.chaining_out = false;
                    s.chain_out.clear();
                } else if (!s.chaining_in) {
                    fail(slot, header, icc(s), ccid::error::bad_level_parameter, now,
                         fmt::format("wLevelParameter 0x{:04X} without a chain begun",
                                     c.level_parameter));
                    return;
                }
                ++counters.chained;
                s.chain_in.insert(s.chain_in.end(), c.data.begin(), c.data.end());
                if (s.chain_in.size() > 65544) {
                    s.chaining_in = false;
                    s.chain_in.clear();
                    fail(slot, header, icc(s), ccid::error::xfr_overrun, now,
                         "chained command above 65544 bytes");
                    return;
                }
                if (c.level_parameter != ccid::chain::continue_end) {
                    reply(slot, header,
                          ccid::data_block(header.slot, header.seq, status(s), 0,
                                           ccid::chain::empty_continue, {}),
                          now, fmt::format("chain: {} command bytes so far", s.chain_in.size()));
                    return;
                }
                apdu = std::move(s.chain_in);
                s.chain_in.clear();
                s.chaining_in = false;
                break;
            case ccid::chain::empty_continue:
                if (!s.chaining_out || !c.data.empty()) {
                    fail(slot, header, icc(s), ccid::error::bad_level_parameter, now,
                         "wLevelParameter 0x0010 without a response to continue");
                    return;
                }
                ++counters.chained;
                send_response_part(slot, header, now, block, microseconds{0}, false);
                return;
            default:
                fail(slot, header, icc(s), ccid::error::bad_level_parameter, now,
                     fmt::format("wLevelParameter 0x{:04X} is not a chain value",
                                 c.level_parameter));
                return;
            }
        } else {
            apdu = c.data;
        }
        const ApduShape shape = apdu_shape(apdu);
        if (!extended_level && shape.extended) {
            fail(slot, header, icc(s), ccid::error::bad_data, now,
                 "a short-APDU firmware cannot carry an extended APDU");
            return;
        }
        if (shape.short_le_zero && quirks().le_zero_reject) {
            fail(slot, header, icc(s), ccid::error::xfr_overrun, now,
                 "firmware bug: a short Le of 00 (Ne 256) overruns its buffer");
            return;
        }
        std::string note;
        const auto corrupt_at = quirks().chain_corrupt_above;
        if (extended_level && corrupt_at && apdu.size() > *corrupt_at) {
            apdu[*corrupt_at] ^= 0x5A;
            note = fmt::format("firmware bug: command byte {} corrupted (above {} bytes)",
                               *corrupt_at, *corrupt_at);
        }
        const auto response = run_card(slot, header, apdu, now);
        if (!response)
            return;
        Bytes answer = response->apdu;
        if (!extended_level && answer.size() > block) {
            answer_after(slot, header,
                         ccid::failure_reply(header, icc(s), ccid::error::xfr_overrun), now,
                         response->processing_time,
                         fmt::format("response of {} bytes exceeds the {}-byte message limit",
                                     answer.size(), block));
            return;
        }
        if (extended_level && corrupt_at && answer.size() > *corrupt_at + 2) {
            answer[*corrupt_at] ^= 0x5A;
            note += fmt::format("{}firmware bug: response byte {} corrupted",
                                note.empty() ? "" : "; ", *corrupt_at);
        }
        s.chain_out = std::move(answer);
        s.chaining_out = false;
        send_response_part(slot, header, now, block, response->processing_time, true, note);
    }

    void send_response_part(unsigned slot, const ccid::Header& header, Clock::time_point now,
                            std::size_t block, microseconds processing, bool first,
                            std::string note = {}) {
        Slot& s = slots[slot];
        const std::size_t n = std::min(block, s.chain_out.size());
        Bytes part(s.chain_out.begin(), s.chain_out.begin() + static_cast<std::ptrdiff_t>(n));
        s.chain_out.erase(s.chain_out.begin(),
                          s.chain_out.begin() + static_cast<std::ptrdiff_t>(n));
        const bool more = !s.chain_out.empty();
        std::uint8_t chain = 0;
        if (first)
            chain = more ? ccid::chain::begin_continue : ccid::chain::begin_and_end;
        else
            chain = more ? ccid::chain::continue_continue : ccid::chain::continue_end;
        s.chaining_out = more;
        if (more || !first) {
            ++counters.chained;
            note += fmt::format("{}chain 0x{:02X}: {} response bytes, {} left",
                                note.empty() ? "" : "; ", chain, n, s.chain_out.size());
        }
        answer_after(
            slot, header,
            ccid::data_block(header.slot, header.seq, status(s), 0, chain, std::move(part)), now,
            processing, std::move(note));
    }

    // ---- one PC_to_RDR message ----
    void handle(ByteView message, Clock::time_point now) {
        const ccid::ParsedCommand parsed = ccid::parse_command(message);
        if (!parsed.header) {
            record(FirmwareTrace::Direction::BulkOut, now, message,
                   "shorter than a CCID header: ignored");
            return;
        }
        const ccid::Header& h = *parsed.header;
        record(FirmwareTrace::Direction::BulkOut, now, message, ccid::describe(h));
        const unsigned slot = h.slot;
        if (message.size() > desc().max_message_length) {
            fail(slot < slots.size() ? slot : nowhere(), h,
                 slot < slots.size() ? icc(slots[slot]) : IccStatus::Absent,
                 ccid::error::bad_length, now,
                 fmt::format("message of {} bytes exceeds dwMaxCCIDMessageLength {}",
                             message.size(), desc().max_message_length));
            return;
        }
        if (slot >= slots.size()) {
            fail(nowhere(), h, IccStatus::Absent, ccid::error::bad_slot, now,
                 fmt::format("slot {} does not exist (bMaxSlotIndex {})", slot,
                             desc().max_slot_index));
            return;
        }
        Slot& s = slots[slot];
        if (h.type == static_cast<std::uint8_t>(MessageType::Abort)) {
            abort_slot(slot);
            reply(slot, h, ccid::slot_status(h.slot, h.seq, status(s), 0), now, "abort");
            return;
        }
        if (busy(slot)) {
            // Answered at once, before the reply the slot is busy with.
            schedule(slot, h, ccid::failure_reply(h, icc(s), ccid::error::cmd_slot_busy), now, now,
                     "slot busy with an earlier command");
            return;
        }
        if (!parsed.command) {
            fail(slot, h, icc(s), parsed.error, now,
                 parsed.findings.empty() ? ccid::error_text(parsed.error)
                                         : parsed.findings.front().message);
            return;
        }
        const ccid::Command& c = *parsed.command;
        switch (c.type) {
        case MessageType::IccPowerOn:
            power_on(slot, h, c, now);
            return;
        case MessageType::IccPowerOff:
            deactivate(s);
            reply(slot, h, ccid::slot_status(h.slot, h.seq, status(s), 0), now);
            return;
        case MessageType::GetSlotStatus:
            reply(slot, h, ccid::slot_status(h.slot, h.seq, status(s), 0), now);
            return;
        case MessageType::XfrBlock:
            xfr_block(slot, h, c, now);
            return;
        case MessageType::GetParameters:
            if (!visible(s)) {
                fail(slot, h, icc(s), ccid::error::icc_mute, now, "no card");
                return;
            }
            reply(slot, h, ccid::parameters(h.slot, h.seq, status(s), 0, s.params), now);
            return;
        case MessageType::ResetParameters:
            if (!visible(s)) {
                fail(slot, h, icc(s), ccid::error::icc_mute, now, "no card");
                return;
            }
            s.params = parameters_from_atr(s, 0x11);
            reply(slot, h, ccid::parameters(h.slot, h.seq, status(s), 0, s.params), now);
            return;
        case MessageType::SetParameters:
            set_parameters(slot, h, c, now);
            return;
        case MessageType::Escape:
            reply(slot, h,
                  ccid::escape_reply(h.slot, h.seq, status(s, CommandStatus::Failed),
                                     ccid::error::command_not_supported, {}),
                  now, "no vendor escape commands");
            return;
        case MessageType::IccClock:
            if (c.function == 1 && !desc().has_feature(ccid::feature::clock_stop)) {
                fail(slot, h, icc(s), ccid::error::command_not_supported, now,
                     "clock stop not declared in dwFeatures");
                return;
            }
            reply(slot, h,
                  ccid::slot_status(h.slot, h.seq, status(s), 0, c.function == 1 ? 0x03 : 0x00),
                  now);
            return;
        case MessageType::T0Apdu:
            reply(slot, h, ccid::slot_status(h.slot, h.seq, status(s), 0), now);
            return;
        case MessageType::Secure:
            if (desc().pin_support == 0) {
                fail(slot, h, icc(s), ccid::error::command_not_supported, now,
                     "no PIN pad (bPINSupport 0)");
                return;
            }
            // The emulated PIN pad never sends a PIN to a card: the user "cancels".
            fail(slot, h, icc(s), ccid::error::pin_cancelled, now,
                 "emulated PIN pad: cancelled (no PIN is ever entered)");
            return;
        case MessageType::Mechanical:
            if (desc().mechanical == 0) {
                fail(slot, h, icc(s), ccid::error::command_not_supported, now,
                     "no mechanical functions (dwMechanical 0)");
                return;
            }
            reply(slot, h, ccid::slot_status(h.slot, h.seq, status(s), 0), now);
            return;
        case MessageType::SetDataRateAndClockFrequency: {
            std::uint32_t clock = c.clock_khz;
            if (clock < desc().default_clock_khz || clock > desc().maximum_clock_khz)
                clock = desc().default_clock_khz;
            std::uint32_t rate = c.data_rate_bps;
            if (rate < desc().data_rate_bps || rate > desc().max_data_rate_bps)
                rate = desc().data_rate_bps;
            reply(slot, h, ccid::data_rate_and_clock(h.slot, h.seq, status(s), 0, clock, rate),
                  now);
            return;
        }
        default:
            fail(slot, h, icc(s), ccid::error::command_not_supported, now,
                 "not a PC_to_RDR command");
            return;
        }
    }

    void power_on(unsigned slot, const ccid::Header& h, const ccid::Command& c,
                  Clock::time_point now) {
        Slot& s = slots[slot];
        if (c.power_select != ccid::PowerSelect::Automatic) {
            const unsigned bit = 1U << (static_cast<unsigned>(c.power_select) - 1U);
            if ((desc().voltage_support & bit) == 0) {
                fail(slot, h, icc(s), ccid::error::bad_power_select, now,
                     fmt::format("bPowerSelect {} not in bVoltageSupport 0x{:02X}",
                                 static_cast<unsigned>(c.power_select), desc().voltage_support));
                return;
            }
        }
        if (!visible(s)) {
            fail(slot, h, IccStatus::Absent, ccid::error::icc_mute, now,
                 s.card ? fmt::format("the card is on interface {} which this reader lacks",
                                      to_string(s.interface))
                        : "no card in the slot");
            return;
        }
        try {
            s.atr = s.powered ? s.card->reset(false) : s.card->power_on();
        } catch (const std::exception& e) {
            s.powered = false;
            fail(slot, h, IccStatus::PresentInactive, ccid::error::icc_mute, now,
                 std::string("no ATR: ") + e.what());
            return;
        }
        s.powered = true;
        s.fresh = true;
        s.t1 = T1Card{};
        s.t1.atr = t1::parameters_from_atr(s.atr);
        if (desc().has_feature(ccid::feature::auto_ifsd))
            s.t1.ifsd = std::min<std::size_t>(desc().max_ifsd, t1::max_inf);
        s.t0_pending.clear();
        s.chain_in.clear();
        s.chain_out.clear();
        s.chaining_in = s.chaining_out = false;
        const std::uint8_t fi_di = automatic_fi_di(s);
        s.params = parameters_from_atr(s, fi_di);
        std::string note = fmt::format("ATR {} bytes", s.atr.size());
        if (desc().has_feature(ccid::feature::auto_pps) && fi_di != 0x11) {
            s.fresh = false; // the firmware did the PPS itself
            note += fmt::format("; automatic PPS Fi/Di 0x{:02X}", fi_di);
        }
        reply(slot, h, ccid::data_block(h.slot, h.seq, status(s), 0, 0, s.atr), now, note);
    }

    void xfr_block(unsigned slot, const ccid::Header& h, const ccid::Command& c,
                   Clock::time_point now) {
        Slot& s = slots[slot];
        if (!visible(s)) {
            fail(slot, h, IccStatus::Absent, ccid::error::icc_mute, now, "no card");
            return;
        }
        if (!s.powered) {
            fail(slot, h, IccStatus::PresentInactive, ccid::error::icc_mute, now,
                 "card not powered");
            return;
        }
        // PPS is a contact-card affair: contactless readers at APDU level pass FF.. pseudo-APDUs
        // through. At TPDU level the driver negotiates with whatever ATR the reader presents (a
        // contactless pseudo-ATR offers T=0 first): nothing but the reader can answer it.
        if (s.fresh && is_pps(c.data) &&
            (!contactless(s) || desc().exchange_level() == ccid::ExchangeLevel::Tpdu)) {
            pps(slot, h, c.data, now);
            return;
        }
        s.fresh = false;
        switch (desc().exchange_level()) {
        case ccid::ExchangeLevel::Tpdu: {
            const AtrFacts facts = atr_facts(s.atr);
            if (s.params.protocol == 1 ? !facts.t1 : !facts.t0) {
                // E.g. a T=0-only reader and a T=1-only card: nothing common on the wire.
                fail(slot, h, icc(s), ccid::error::icc_protocol_not_supported, now,
                     fmt::format("the card does not speak T={}", s.params.protocol));
                return;
            }
            if (s.params.protocol == 1)
                tpdu_t1(slot, h, c.data, now);
            else
                tpdu_t0(slot, h, c.data, now);
            return;
        }
        case ccid::ExchangeLevel::ShortApdu:
        case ccid::ExchangeLevel::ExtendedApdu:
            apdu_level(slot, h, c, now);
            return;
        case ccid::ExchangeLevel::Character:
        case ccid::ExchangeLevel::Reserved:
            fail(slot, h, icc(s), ccid::error::command_not_supported, now,
                 "character-level exchange is not emulated");
            return;
        }
    }

    void set_parameters(unsigned slot, const ccid::Header& h, const ccid::Command& c,
                        Clock::time_point now) {
        Slot& s = slots[slot];
        if (!visible(s)) {
            fail(slot, h, IccStatus::Absent, ccid::error::icc_mute, now, "no card");
            return;
        }
        if ((c.protocol == 0 && !desc().supports_t0()) ||
            (c.protocol == 1 && !desc().supports_t1())) {
            fail(slot, h, icc(s), ccid::error::bad_protocol, now,
                 fmt::format("T={} not in dwProtocols", c.protocol));
            return;
        }
        const auto p = ccid::decode_parameters(c.protocol, c.data);
        if (!p) { // parse_command checked it already
            fail(slot, h, icc(s), ccid::error::bad_length, now, "bad protocol data structure");
            return;
        }
        const std::uint8_t fi_di = c.protocol == 1 ? p->t1.findex_dindex : p->t0.findex_dindex;
        const std::uint8_t current =
            s.params.protocol == 1 ? s.params.t1.findex_dindex : s.params.t0.findex_dindex;
        constexpr std::uint8_t fi_di_offset = 10; // abProtocolDataStructure[0]
        if (fi_di != 0x11 && fi_di != current) {
            if (!quirks().pps) {
                fail(slot, h, icc(s), fi_di_offset, now,
                     fmt::format("no PPS: Fi/Di 0x{:02X} refused", fi_di));
                return;
            }
            const AtrBytes a = atr_bytes(s.atr);
            const std::uint64_t rate = rate_of(fi_di, clock_khz());
            if (rate == 0 || rate > desc().max_data_rate_bps ||
                (desc().has_feature(ccid::feature::auto_pps) && !card_accepts(a.ta1, fi_di))) {
                fail(slot, h, icc(s), fi_di_offset, now,
                     fmt::format("Fi/Di 0x{:02X} not possible ({} bps)", fi_di, rate));
                return;
            }
        }
        s.params = *p;
        s.fresh = false;
        if (c.protocol == 1) {
            s.t1.ns = s.t1.nr = false;
            s.t1.command.clear();
            s.t1.response.clear();
            s.t1.sending = s.t1.awaiting_wtx = false;
        }
        reply(slot, h, ccid::parameters(h.slot, h.seq, status(s), 0, s.params), now,
              fmt::format("T={} Fi/Di 0x{:02X}", c.protocol, fi_di));
    }

    // Pending replies of a slot become CMD_ABORTED now.
    void abort_slot(unsigned slot) {
        for (auto& p : pending)
            if (p.slot == slot) {
                p.final = ccid::encode(
                    ccid::failure_reply(p.header, icc(slots[slot]), ccid::error::cmd_aborted));
                p.due = last_now;
                p.next_extension.reset();
                p.note = "aborted";
            }
        Slot& s = slots[slot];
        s.chain_in.clear();
        s.chain_out.clear();
        s.chaining_in = s.chaining_out = false;
    }

    Bytes time_extension(const Pending& p) const {
        ccid::Reply r;
        r.type = ccid::is_command(p.header.type)
                     ? ccid::reply_type_for(static_cast<MessageType>(p.header.type))
                     : MessageType::DataBlock;
        r.slot = p.header.slot;
        r.seq = p.header.seq;
        r.status = ccid::status_byte(icc(slots[p.slot]), CommandStatus::TimeExtension);
        r.error = 1; // multiplier: one more reader timeout
        return ccid::encode(r);
    }
};

CcidFirmware::CcidFirmware(FirmwareConfig config)
    : config_(std::move(config)), impl_(std::make_unique<Impl>(config_)) {}

CcidFirmware::CcidFirmware(const ReaderModel& model) : CcidFirmware(firmware_config(model)) {}

CcidFirmware::~CcidFirmware() = default;

void CcidFirmware::bulk_out(ByteView message, Clock::time_point now) {
    std::lock_guard lock(impl_->mutex);
    impl_->last_now = now;
    ++impl_->counters.bulk_out;
    impl_->handle(message, now);
}

std::optional<Bytes> CcidFirmware::take_bulk_in(Clock::time_point now) {
    std::lock_guard lock(impl_->mutex);
    Impl& m = *impl_;
    m.last_now = std::max(m.last_now, now);
    // The earliest message that is due: a final reply, or a time extension before it.
    std::optional<std::size_t> best;
    Clock::time_point best_time{};
    bool best_final = false;
    for (std::size_t i = 0; i < m.pending.size(); ++i) {
        const auto& p = m.pending[i];
        std::optional<Clock::time_point> t;
        bool final = false;
        if (p.due <= now) {
            t = p.due;
            final = true;
        } else if (p.next_extension && *p.next_extension <= now) {
            t = *p.next_extension;
        }
        if (!t)
            continue;
        if (!best || *t < best_time || (*t == best_time && p.order < m.pending[*best].order)) {
            best = i;
            best_time = *t;
            best_final = final;
        }
    }
    if (!best)
        return std::nullopt;
    ++m.counters.bulk_in;
    auto& p = m.pending[*best];
    if (!best_final) {
        Bytes te = m.time_extension(p);
        p.next_extension = now + m.config.quirks.time_extension_interval;
        if (*p.next_extension >= p.due)
            p.next_extension.reset();
        ++m.counters.time_extensions;
        m.record(FirmwareTrace::Direction::BulkIn, now, te, "time extension");
        return te;
    }
    Bytes out = std::move(p.final);
    const std::string note = std::move(p.note);
    m.pending.erase(m.pending.begin() + static_cast<std::ptrdiff_t>(*best));
    if (out.size() > 7 && ccid::command_status_of(out[7]) == CommandStatus::Failed)
        ++m.counters.failed;
    m.record(FirmwareTrace::Direction::BulkIn, now, out,
             note.empty() ? ccid::describe(*ccid::parse_header(out))
                          : ccid::describe(*ccid::parse_header(out)) + ": " + note);
    return out;
}

std::optional<Clock::time_point> CcidFirmware::next_due() const {
    std::lock_guard lock(impl_->mutex);
    std::optional<Clock::time_point> out;
    for (const auto& p : impl_->pending) {
        Clock::time_point t = p.due;
        if (p.next_extension && *p.next_extension < t)
            t = *p.next_extension;
        if (!out || t < *out)
            out = t;
    }
    return out;
}

std::optional<Bytes> CcidFirmware::take_interrupt() {
    std::lock_guard lock(impl_->mutex);
    Impl& m = *impl_;
    if (!m.interrupt_dirty)
        return std::nullopt;
    std::vector<ccid::SlotChange> changes;
    bool back = false;
    for (auto& s : m.slots) {
        changes.push_back(ccid::SlotChange{m.visible(s), s.changed});
        s.changed = false;
        if (s.bounced) { // the host saw it gone: a card now there is announced next
            s.bounced = false;
            if (m.visible(s)) {
                s.changed = true;
                back = true;
            }
        }
    }
    m.interrupt_dirty = back;
    Bytes out = ccid::notify_slot_change(changes);
    ++m.counters.interrupts;
    m.record(FirmwareTrace::Direction::Interrupt, m.last_now, out, "RDR_to_PC_NotifySlotChange");
    return out;
}

bool CcidFirmware::interrupt_pending() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->interrupt_dirty;
}

std::optional<Bytes> CcidFirmware::control(std::uint8_t request, std::uint16_t value,
                                           std::uint16_t length) {
    std::lock_guard lock(impl_->mutex);
    Impl& m = *impl_;
    const Bytes setup{request, static_cast<std::uint8_t>(value),
                      static_cast<std::uint8_t>(value >> 8U)};
    const auto list = [&](const std::vector<std::uint32_t>& values, std::uint8_t count,
                          std::uint32_t fallback) -> std::optional<Bytes> {
        if (count == 0)
            return std::nullopt; // CCID §5.3.2/3: only when the descriptor declares a list
        Bytes out;
        const std::vector<std::uint32_t> used =
            values.empty() ? std::vector<std::uint32_t>(count, fallback) : values;
        for (std::uint32_t v : used)
            for (unsigned shift = 0; shift < 32; shift += 8)
                out.push_back(static_cast<std::uint8_t>(v >> shift));
        if (out.size() > length)
            out.resize(length);
        return out;
    };
    switch (request) {
    case 0x01: { // ABORT: wValue = bSeq << 8 | bSlot
        const unsigned slot = value & 0xFFU;
        m.record(FirmwareTrace::Direction::Control, m.last_now, setup, "ABORT");
        if (slot >= m.slots.size())
            return std::nullopt;
        m.abort_slot(slot);
        return Bytes{};
    }
    case 0x02:
        m.record(FirmwareTrace::Direction::Control, m.last_now, setup, "GET_CLOCK_FREQUENCIES");
        return list(config_.clock_frequencies_khz, config_.descriptor.num_clock_supported,
                    config_.descriptor.default_clock_khz);
    case 0x03:
        m.record(FirmwareTrace::Direction::Control, m.last_now, setup, "GET_DATA_RATES");
        return list(config_.data_rates_bps, config_.descriptor.num_data_rates_supported,
                    config_.descriptor.data_rate_bps);
    default:
        m.record(FirmwareTrace::Direction::Control, m.last_now, setup, "unknown class request");
        return std::nullopt;
    }
}

void CcidFirmware::reset_pipes(bool deactivate) {
    std::lock_guard lock(impl_->mutex);
    Impl& m = *impl_;
    m.pending.clear();
    for (auto& s : m.slots) {
        s.chain_in.clear();
        s.chain_out.clear();
        s.chaining_in = s.chaining_out = false;
        if (deactivate)
            m.deactivate(s);
    }
}

void CcidFirmware::insert(unsigned slot, std::shared_ptr<io::VirtualCard> card,
                          Interface interface) {
    std::lock_guard lock(impl_->mutex);
    Impl& m = *impl_;
    if (slot >= m.slots.size())
        throw UsageError(
            fmt::format("slot {} does not exist (the reader has {})", slot, m.slots.size()));
    auto& s = m.slots[slot];
    const bool was_visible = m.visible(s);
    m.deactivate(s);
    s.card = std::move(card);
    s.interface = interface;
    s.exchanges = 0;
    if (was_visible || m.visible(s))
        m.mark_changed(slot);
}

void CcidFirmware::remove(unsigned slot) {
    std::lock_guard lock(impl_->mutex);
    Impl& m = *impl_;
    if (slot >= m.slots.size())
        throw UsageError(
            fmt::format("slot {} does not exist (the reader has {})", slot, m.slots.size()));
    auto& s = m.slots[slot];
    const bool was_visible = m.visible(s);
    m.deactivate(s);
    s.card.reset();
    if (was_visible) {
        // The host hears "absent" before any new card (a swap faster than it reads the
        // interrupt pipe is still a removal, then an insertion).
        s.bounced = true;
        s.bounced_at = m.last_now;
    }
    for (auto& p : m.pending)
        if (p.slot == slot) {
            // The card pulled mid-command: the reply says so, now.
            p.final = ccid::encode(
                ccid::failure_reply(p.header, IccStatus::Absent, ccid::error::icc_mute));
            p.due = m.last_now;
            p.next_extension.reset();
            p.note = "card removed during the command";
        }
    if (was_visible)
        m.mark_changed(slot);
}

ccid::IccStatus CcidFirmware::icc_status(unsigned slot) const {
    std::lock_guard lock(impl_->mutex);
    if (slot >= impl_->slots.size())
        return IccStatus::Absent;
    return impl_->icc(impl_->slots[slot]);
}

std::vector<FirmwareTrace> CcidFirmware::trace() const {
    std::lock_guard lock(impl_->mutex);
    return {impl_->trace.begin(), impl_->trace.end()};
}

void CcidFirmware::clear_trace() {
    std::lock_guard lock(impl_->mutex);
    impl_->trace.clear();
}

FirmwareCounters CcidFirmware::counters() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->counters;
}

} // namespace harness::lab
