#pragma once
// The firmware of an emulated USB CCID reader: CCID rev 1.1 bulk messages in, RDR_to_PC replies
// and NotifySlotChange interrupts out, for N slots holding io::VirtualCard cards. It sits BELOW
// the host's CCID driver (libccid): at TPDU level the card side speaks T=1 blocks or T=0
// procedure bytes, at APDU levels the firmware does T=1 itself and chains with bChainParameter.
// Quirks are data (FirmwareQuirks, from a ReaderModel or a real reader's descriptor): no model
// name appears in code.
//
// Time model: nothing blocks. bulk_out() takes a message at `now` and schedules its reply; slow
// card operations make the reply due later, with time-extension replies (bStatus 0x80) due before
// it when the reader does time extension. The USB side completes a bulk-IN transfer with
// take_bulk_in(now) when next_due() has come. Thread-safe (one internal mutex): the USB handler
// thread and the lab's command thread may call concurrently.
#include "io/virtual_card.hpp"
#include "pure/ccid.hpp"
#include "pure/ccid_message.hpp"
#include "services/lab/reader_model.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace harness::lab {

// What a firmware does beyond what its CCID descriptor declares.
struct FirmwareQuirks {
    // Interfaces the reader reads (a card on another one is absent for the firmware).
    bool contact = true;
    bool type_a = false;
    bool type_b = false;
    // false: the firmware cannot change the card's rate (no PPS at all, neither automatic nor
    // forwarded: a PPS request or SetParameters with another Fi/Di fails).
    bool pps = true;
    // A short Le of 00 (Ne 256) is refused (APDU levels).
    bool le_zero_reject = false;
    // Extended level: a command or response longer than this is corrupted at this offset.
    std::optional<std::size_t> chain_corrupt_above;
    // true: the firmware sends time extensions while the card works and honours S(WTX) / bBWI;
    // false: it gives up after `timeout` and answers ICC_MUTE.
    bool time_extension = true;
    std::chrono::milliseconds timeout{10000};
    std::chrono::microseconds latency{0}; // added before every reply
    std::uint32_t flaky_every = 0;        // every n-th XfrBlock the card bounces (0: never)
    // Interval of time-extension replies while a card works (a real reader's BWT-based timer).
    std::chrono::milliseconds time_extension_interval{500};

    bool supports(Interface interface) const;
};

struct FirmwareConfig {
    ccid::Descriptor descriptor;
    FirmwareQuirks quirks;
    // Answers to the class requests GET_CLOCK_FREQUENCIES / GET_DATA_RATES (CCID §5.3.2/3); empty
    // lists answer with the descriptor's default values when it declares a count.
    std::vector<std::uint32_t> clock_frequencies_khz;
    std::vector<std::uint32_t> data_rates_bps;
    std::size_t trace_capacity = 512; // CCID messages kept for a failing step's evidence
};

// The firmware a lab reader model runs: its descriptor (ReaderModel::ccid_descriptor()) and its
// quirks.
FirmwareConfig firmware_config(const ReaderModel& model);

// One CCID message seen or sent. The caller redacts `message` before it leaves the process.
struct FirmwareTrace {
    enum class Direction { BulkOut, BulkIn, Interrupt, Control };
    std::chrono::steady_clock::time_point time;
    Direction direction = Direction::BulkOut;
    Bytes message;
    std::string note; // what the firmware made of it, e.g. "chain corrupted at offset 512"
};
const char* to_string(FirmwareTrace::Direction direction); // "out", "in", "interrupt", "control"

struct FirmwareCounters {
    std::uint64_t bulk_out = 0;        // messages received
    std::uint64_t bulk_in = 0;         // replies taken (time extensions included)
    std::uint64_t interrupts = 0;      // NotifySlotChange messages taken
    std::uint64_t failed = 0;          // replies with bmCommandStatus = failed
    std::uint64_t time_extensions = 0; // replies with bmCommandStatus = time extension
    std::uint64_t timeouts = 0;        // ICC_MUTE because the card took longer than the timeout
    std::uint64_t bounces = 0;         // flaky contact bounces
    std::uint64_t t1_blocks = 0;       // T=1 blocks the card side received (TPDU level)
    std::uint64_t wtx_requests = 0;    // S(WTX) requests the card side sent (TPDU level)
    std::uint64_t chained = 0;         // CCID chain parts in and out (extended APDU level)
    std::uint64_t card_commands = 0;   // APDUs the card executed
};

class CcidFirmware {
public:
    using Clock = std::chrono::steady_clock;

    explicit CcidFirmware(FirmwareConfig config);
    explicit CcidFirmware(const ReaderModel& model);
    ~CcidFirmware();
    CcidFirmware(const CcidFirmware&) = delete;
    CcidFirmware& operator=(const CcidFirmware&) = delete;

    const FirmwareConfig& config() const { return config_; }
    const ccid::Descriptor& descriptor() const { return config_.descriptor; }
    std::size_t slots() const { return config_.descriptor.slots(); }

    // A PC_to_RDR message from the host (one bulk-OUT transfer).
    void bulk_out(ByteView message, Clock::time_point now);
    // The next RDR_to_PC message whose due time has come, or nullopt.
    std::optional<Bytes> take_bulk_in(Clock::time_point now);
    // When the next bulk-IN message becomes due (nullopt: nothing pending).
    std::optional<Clock::time_point> next_due() const;
    // A pending RDR_to_PC_NotifySlotChange (after insert/remove or a flaky bounce).
    std::optional<Bytes> take_interrupt();
    bool interrupt_pending() const;

    // Class-specific control requests (CCID §5.3, bmRequestType 0xA1/0x21): ABORT (1, wValue =
    // bSeq << 8 | bSlot), GET_CLOCK_FREQUENCIES (2), GET_DATA_RATES (3). nullopt: STALL.
    std::optional<Bytes> control(std::uint8_t request, std::uint16_t value, std::uint16_t length);
    // USB reset (USBDEVFS_RESET) or CLEAR_HALT on the bulk pipes: pending replies are dropped
    // (cards stay as they are; a real reset also deactivates them: `deactivate` = true).
    void reset_pipes(bool deactivate);

    // Card insertion/removal (a NotifySlotChange is queued). remove() of a slot with a command in
    // flight turns its pending reply into "card absent" (the card pulled mid-command). Both throw
    // UsageError for a slot the descriptor does not have. A flaky bounce during bulk_out() also
    // queues a NotifySlotChange: check interrupt_pending() after bulk_out().
    void insert(unsigned slot, std::shared_ptr<io::VirtualCard> card, Interface interface);
    void remove(unsigned slot);
    ccid::IccStatus icc_status(unsigned slot) const;

    std::vector<FirmwareTrace> trace() const;
    void clear_trace();
    FirmwareCounters counters() const;

private:
    struct Impl; // slots, pending replies, trace (ccid_firmware.cpp)
    FirmwareConfig config_;
    std::unique_ptr<Impl> impl_;
};

} // namespace harness::lab
