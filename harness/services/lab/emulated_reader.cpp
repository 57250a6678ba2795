#include "services/lab/emulated_reader.hpp"

#include <fmt/core.h>

namespace harness::lab {

AtrFacts atr_facts(ByteView atr) {
    AtrFacts facts;
    if (atr.size() < 2)
        return facts;
    // PC/SC part 3 §3.1.3.2.3: contactless pseudo-ATR 3B 8n 80 01.
    if (atr.size() >= 4 && atr[0] == 0x3B && (atr[1] & 0xF0) == 0x80 && atr[2] == 0x80 &&
        atr[3] == 0x01)
        facts.contactless = true;
    std::size_t pos = 2; // the byte after T0
    std::uint8_t y = atr[1] >> 4;
    int level = 1;
    bool any_td = false;
    while (true) {
        if (y & 0x1) {
            if (pos >= atr.size())
                break;
            if (level == 1)
                facts.ta1 = atr[pos];
            if (level == 2)
                facts.specific_mode = true;
            ++pos;
        }
        if (y & 0x2)
            ++pos;
        if (y & 0x4)
            ++pos;
        if (!(y & 0x8) || pos >= atr.size())
            break;
        const std::uint8_t td = atr[pos++];
        any_td = true;
        if ((td & 0x0F) == 0)
            facts.t0 = true;
        if ((td & 0x0F) == 1)
            facts.t1 = true;
        y = td >> 4;
        ++level;
    }
    if (!any_td)
        facts.t0 = true; // ISO 7816-3 §8.2.3: no TD1 means T=0 only
    if (facts.contactless)
        facts.t1 = true;
    return facts;
}

ApduShape apdu_shape(ByteView command) {
    ApduShape shape;
    const std::size_t n = command.size();
    if (n < 5)
        return shape;
    if (n == 5) {
        shape.short_le_zero = command[4] == 0x00;
        return shape;
    }
    if (command[4] == 0x00 && n >= 7) {
        shape.extended = true;
        return shape;
    }
    const std::size_t lc = command[4];
    if (n == 6 + lc)
        shape.short_le_zero = command[n - 1] == 0x00;
    return shape;
}

EmulatedReader::EmulatedReader(ReaderModel model, Interface interface)
    : model_(std::move(model)), interface_(interface) {}

void EmulatedReader::insert(std::shared_ptr<io::VirtualCard> card) {
    card_ = std::move(card);
    powered_ = false;
    atr_.clear();
    protocol_ = -1;
    bounced_ = false;
    bounce_seen_ = false;
}

std::shared_ptr<io::VirtualCard> EmulatedReader::remove() {
    auto card = std::move(card_);
    card_.reset();
    if (card && powered_)
        card->power_off();
    powered_ = false;
    atr_.clear();
    protocol_ = -1;
    return card;
}

bool EmulatedReader::card_visible() const {
    return card_ && model_.supports(interface_);
}

ifd::Code EmulatedReader::presence() {
    if (bounced_) {
        bounce_seen_ = true; // absent until the host has acted on it (host_waits)
        return ifd::Code::IccNotPresent;
    }
    return card_visible() ? ifd::Code::IccPresent : ifd::Code::IccNotPresent;
}

void EmulatedReader::host_waits() {
    if (bounced_ && bounce_seen_)
        bounced_ = bounce_seen_ = false;
}

ifd::Code EmulatedReader::peek_presence() const {
    // A bounce the host was told of is over as far as a waiting host is concerned: the card it
    // waits for is the one in the slot (an outstanding WaitChange must not wait for ever).
    if (bounced_ && !bounce_seen_)
        return ifd::Code::IccNotPresent;
    return card_visible() ? ifd::Code::IccPresent : ifd::Code::IccNotPresent;
}

Outcome EmulatedReader::fail(ifd::Code code, std::string note,
                             std::chrono::microseconds delay) const {
    Outcome out;
    out.code = code;
    out.note = std::move(note);
    out.delay = delay;
    return out;
}

Outcome EmulatedReader::power(PowerAction action) {
    if (action == PowerAction::Down) {
        if (card_ && powered_)
            card_->power_off();
        powered_ = false;
        atr_.clear();
        protocol_ = -1;
        return {};
    }
    if (!card_visible())
        return fail(ifd::Code::IccNotPresent,
                    card_ ? fmt::format("the card is on interface {} which this reader lacks ({})",
                                        to_string(interface_), model_.interfaces_text())
                          : "no card in the slot");
    Outcome out;
    out.data = action == PowerAction::Reset && powered_ ? card_->reset(false) : card_->power_on();
    powered_ = true;
    atr_ = out.data;
    protocol_ = -1;
    out.delay = model_.latency;
    return out;
}

Outcome EmulatedReader::set_protocol(int protocol) {
    if (!card_visible())
        return fail(ifd::Code::IccNotPresent, "no card");
    if (!powered_)
        return fail(ifd::Code::CommunicationError, "card not powered");
    const AtrFacts facts = atr_facts(atr_);
    const bool reader_has = protocol == 0 ? model_.t0 : model_.t1;
    const bool card_has = protocol == 0 ? facts.t0 : facts.t1;
    if (!reader_has || !card_has)
        return fail(
            ifd::Code::ProtocolNotSupported,
            fmt::format("T={} not offered by the {}", protocol, reader_has ? "card" : "reader"));
    if (facts.needs_pps() && model_.pps == Pps::None)
        return fail(ifd::Code::ErrorPtsFailure,
                    fmt::format("the card asks TA1={:02X} but the reader cannot do PPS "
                                "(ISO 7816-3 §9)",
                                *facts.ta1));
    protocol_ = protocol;
    return {};
}

Outcome EmulatedReader::transmit(ByteView command) {
    using std::chrono::microseconds;
    if (!card_visible())
        return fail(ifd::Code::IccNotPresent, "no card");
    if (!powered_)
        return fail(ifd::Code::CommunicationError, "card not powered");
    ++transmits_;
    if (model_.flaky_every != 0 && transmits_ % model_.flaky_every == 0) {
        card_->power_off();
        powered_ = false;
        atr_.clear();
        protocol_ = -1;
        bounced_ = true;
        bounce_seen_ = false;
        return fail(ifd::Code::IccNotPresent, "flaky contact: the card bounced", model_.latency);
    }
    const ApduShape shape = apdu_shape(command);
    const std::size_t block = model_.max_block();
    const bool t0 = protocol_ == 0;
    if (model_.exchange == Exchange::ShortApdu || (model_.exchange == Exchange::Tpdu && t0)) {
        if (shape.extended)
            return fail(
                ifd::Code::CommunicationError,
                fmt::format("{} reader cannot carry an extended APDU",
                            model_.exchange == Exchange::Tpdu ? "a T=0 TPDU" : "a short-APDU"),
                model_.latency);
        if (model_.exchange == Exchange::ShortApdu && command.size() > block)
            return fail(
                ifd::Code::CommunicationError,
                fmt::format("command of {} bytes exceeds the reader's {}-byte message limit",
                            command.size(), block),
                model_.latency);
    }
    if (model_.exchange == Exchange::ExtendedApdu && command.size() > 65544)
        return fail(ifd::Code::CommunicationError, "command longer than 65544 bytes",
                    model_.latency);
    if (shape.short_le_zero && model_.le_zero == LeZero::Reject)
        return fail(ifd::Code::CommunicationError, "the reader rejects a short Le of 00",
                    model_.latency);
    Bytes sent(command.begin(), command.end());
    if (model_.exchange == Exchange::ExtendedApdu && model_.chain_corrupt_above &&
        sent.size() > *model_.chain_corrupt_above && *model_.chain_corrupt_above < sent.size())
        sent[*model_.chain_corrupt_above] ^= 0x5A; // firmware bug in CCID chaining (CCID §6.1.4)
    io::CardResponse response = card_->transmit(sent);
    const microseconds processing = response.processing_time;
    if (!model_.wtx && processing > model_.timeout)
        return fail(ifd::Code::ResponseTimeout,
                    fmt::format("the card took {} ms, over the reader's {} ms without waiting-time "
                                "extension",
                                processing.count() / 1000, model_.timeout.count()),
                    std::chrono::duration_cast<microseconds>(model_.timeout) + model_.latency);
    const microseconds delay = processing + model_.latency;
    if (model_.exchange == Exchange::ShortApdu && response.apdu.size() > block)
        return fail(ifd::Code::CommunicationError,
                    fmt::format("response of {} bytes exceeds the reader's {}-byte message limit",
                                response.apdu.size(), block),
                    delay);
    if (model_.exchange == Exchange::ExtendedApdu && model_.chain_corrupt_above &&
        response.apdu.size() > *model_.chain_corrupt_above + 2)
        response.apdu[*model_.chain_corrupt_above] ^= 0x5A;
    Outcome out;
    out.data = std::move(response.apdu);
    out.delay = delay;
    return out;
}

ReaderArbiter::Call::Call(ReaderArbiter& arbiter, const void* client) : arbiter_(arbiter) {
    std::unique_lock lock(arbiter_.mutex_);
    arbiter_.changed_.wait(lock, [&] {
        return !arbiter_.busy_ && (arbiter_.holder_ == nullptr || arbiter_.holder_ == client);
    });
    arbiter_.busy_ = true;
}

ReaderArbiter::Call::~Call() {
    {
        std::lock_guard lock(arbiter_.mutex_);
        arbiter_.busy_ = false;
    }
    arbiter_.changed_.notify_all();
}

void ReaderArbiter::begin_transaction(const void* client) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !busy_ && (holder_ == nullptr || holder_ == client); });
    holder_ = client;
    ++depth_;
}

void ReaderArbiter::end_transaction(const void* client) {
    {
        std::lock_guard lock(mutex_);
        if (holder_ != client || depth_ == 0)
            return;
        if (--depth_ == 0)
            holder_ = nullptr;
    }
    changed_.notify_all();
}

void ReaderArbiter::release(const void* client) {
    {
        std::lock_guard lock(mutex_);
        if (holder_ != client)
            return;
        holder_ = nullptr;
        depth_ = 0;
    }
    changed_.notify_all();
}

} // namespace harness::lab
