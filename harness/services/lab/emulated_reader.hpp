#pragma once
// An emulated reader: a ReaderModel's quirks applied to an io::VirtualCard, as the host side of a
// real CCID reader (driver + firmware) would behave. Not thread-safe: the lab serialises calls;
// in-process LabChannels serialise theirs through the reader's ReaderArbiter.
// Delays are returned, not slept: the caller waits (in real time in the lab, virtually in tests).
#include "io/virtual_card.hpp"
#include "pure/lab_wire.hpp"
#include "services/lab/reader_model.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace harness::lab {

// What the ATR tells the reader (ISO 7816-3 §8.2; PC/SC part 3 pseudo-ATR for contactless).
struct AtrFacts {
    std::optional<std::uint8_t> ta1;
    bool specific_mode = false; // TA2 present (ISO 7816-3 §8.3)
    bool t0 = false;
    bool t1 = false;
    bool contactless = false; // 3B 8n 80 01 pseudo-ATR
    bool needs_pps() const { return ta1.has_value() && *ta1 != 0x11 && !contactless; }
};
AtrFacts atr_facts(ByteView atr);

// The command shape a reader cares about (ISO 7816-3 §12.1.3).
struct ApduShape {
    bool extended = false;
    bool short_le_zero = false; // short Le field of 00 (Ne = 256)
};
ApduShape apdu_shape(ByteView command);

enum class PowerAction { Up, Down, Reset };

struct Outcome {
    ifd::Code code = ifd::Code::Success;
    Bytes data;                         // ATR or response APDU
    std::chrono::microseconds delay{0}; // how long the exchange takes
    std::string note;                   // why it failed (for logs), empty on success
    bool ok() const { return code == ifd::Code::Success; }
};

// Serialises the in-process clients (LabChannels) of one emulated reader, as pcscd does for its
// clients, and lets one of them hold a transaction (SCardBeginTransaction): while it does, the
// other clients' calls wait. The lab process serialises its own calls and does not use it.
class ReaderArbiter {
public:
    // One call (transmit, power): waits for a running call, and for another client's transaction.
    class Call {
    public:
        Call(ReaderArbiter& arbiter, const void* client);
        ~Call();
        Call(const Call&) = delete;
        Call& operator=(const Call&) = delete;

    private:
        ReaderArbiter& arbiter_;
    };
    void begin_transaction(const void* client); // nests for the holder
    void end_transaction(const void* client);
    void release(const void* client); // a client that goes away ends its transaction

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    const void* holder_ = nullptr;
    int depth_ = 0;
    bool busy_ = false;
};

class EmulatedReader {
public:
    EmulatedReader(ReaderModel model, Interface interface);

    const ReaderModel& model() const { return model_; }
    Interface interface() const { return interface_; }
    void set_interface(Interface interface) { interface_ = interface; }

    void insert(std::shared_ptr<io::VirtualCard> card);
    std::shared_ptr<io::VirtualCard> remove();
    const std::shared_ptr<io::VirtualCard>& card() const { return card_; }
    // Inserted and reachable through one of the reader's interfaces.
    bool card_visible() const;
    // IFDHICCPresence: IccPresent or IccNotPresent (a flaky bounce shows as one absence).
    ifd::Code presence();
    // What a waiting host is to be woken for: absent while a bounce was not yet reported, then
    // the card in the slot (presence() itself answers absent until host_waits()).
    ifd::Code peek_presence() const;
    // Presence queries answer absent (a card swapped faster than pcscd polls) until the host has
    // been told so at least once and waits for the next change (host_waits): pcscd may ask twice
    // in a row, and one absent answer between two present ones can go unseen.
    void report_absence_once() {
        bounced_ = true;
        bounce_seen_ = false;
    }
    // The host (pcscd, through IFDHPolling) waits for the next change: an absence it was told of
    // has been seen.
    void host_waits();

    Outcome power(PowerAction action);
    // protocol: 0 = T=0, 1 = T=1 (ISO 7816-3 §9 PPS as the model allows).
    Outcome set_protocol(int protocol);
    Outcome transmit(ByteView command);

    bool powered() const { return powered_; }
    const Bytes& atr() const { return atr_; }
    int protocol() const { return protocol_; }
    std::uint64_t transmit_count() const { return transmits_; }
    ReaderArbiter& arbiter() const { return *arbiter_; }

private:
    Outcome fail(ifd::Code code, std::string note, std::chrono::microseconds delay = {}) const;

    ReaderModel model_;
    Interface interface_;
    std::shared_ptr<io::VirtualCard> card_;
    bool powered_ = false;
    Bytes atr_;
    int protocol_ = -1;
    std::uint64_t transmits_ = 0;
    bool bounced_ = false;
    bool bounce_seen_ = false; // a presence query answered absent for the pending bounce
    std::shared_ptr<ReaderArbiter> arbiter_ = std::make_shared<ReaderArbiter>();
};

} // namespace harness::lab
