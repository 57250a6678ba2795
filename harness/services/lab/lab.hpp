#pragma once
// The virtual lab: emulated readers (models + quirks) holding emulated cards, answering the lab
// wire protocol (pure/lab_wire.hpp) for the reader driver and the `cardharness lab` commands.
// Thread-safe: the socket server calls handle() from one thread per connection; a removal wakes a
// transmit that is waiting for its card (the card vanishes mid-command).
#include "io/virtual_card.hpp"
#include "pure/lab_wire.hpp"
#include "services/lab/emulated_reader.hpp"
#include "services/lab/lab_config.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace harness::lab {

// PC/SC attribute tags the lab answers (pcsc-lite reader.h: SCARD_ATTR_VALUE(class, tag)).
namespace attr {
inline constexpr std::uint32_t vendor_name = 0x00010100;        // SCARD_ATTR_VENDOR_NAME
inline constexpr std::uint32_t vendor_ifd_type = 0x00010101;    // SCARD_ATTR_VENDOR_IFD_TYPE
inline constexpr std::uint32_t vendor_ifd_version = 0x00010102; // 0xMMmmbbbb
inline constexpr std::uint32_t vendor_ifd_serial = 0x00010103;  // SCARD_ATTR_VENDOR_IFD_SERIAL_NO
inline constexpr std::uint32_t channel_id = 0x00020110;         // 0xDDDDCCCC, DDDD 0x0020 = USB
inline constexpr std::uint32_t max_input = 0x0007A007;          // SCARD_ATTR_MAXINPUT
inline constexpr std::uint32_t icc_presence = 0x00090300;       // SCARD_ATTR_ICC_PRESENCE
inline constexpr std::uint32_t atr_string = 0x00090303;         // SCARD_ATTR_ATR_STRING
inline constexpr std::uint32_t tag_ifd_atr = 0x0303;            // ifdhandler.h TAG_IFD_ATR
} // namespace attr

// PC/SC part 10 §2.2 / §2.6.14 control codes.
namespace control {
inline constexpr std::uint32_t get_feature_request =
    0x42000000 + 3400; // CM_IOCTL_GET_FEATURE_REQUEST
inline constexpr std::uint32_t get_tlv_properties =
    0x42000000 + 0x330000 + 0x12; // CCID driver's ioctl
inline constexpr std::uint8_t feature_get_tlv_properties = 0x12;
} // namespace control

// Creates a card from its profile name (the CLI wires services/emu here; tests use their own).
using CardFactory =
    std::function<std::shared_ptr<io::VirtualCard>(const std::string& profile, bool citizen)>;
// Tries left per PIN name, read without spending a try (optional; {} when unknown).
using PinProbe = std::function<std::map<std::string, int>(io::VirtualCard& card)>;
using Logger = std::function<void(const std::string& line)>;

// The lab's readers as devices of their own: USB CCID devices driven by the system's CCID driver
// (`lab start --usb`, backends/umockdev). The lab tells them every card change and forwards
// unplug/plug; their status fields are merged into each slot of status_json().
class SlotDevices {
public:
    virtual ~SlotDevices() = default;
    // The slot's card changed (nullptr: removed). Called with the lab's lock held: must not call
    // back into the Lab.
    virtual void card_changed(const std::string& slot, std::shared_ptr<io::VirtualCard> card,
                              Interface interface) = 0;
    // Waits (bounded) until the host has seen the slot's latest change; called without the lock.
    virtual void await_host(const std::string& slot) = 0;
    virtual void unplug(const std::string& slot) = 0; // hot-remove the slot's device
    virtual void plug(const std::string& slot) = 0;   // plug it back in
    virtual nlohmann::json slot_status(const std::string& slot) const = 0; // a JSON object
    // The CCID messages of the slot's firmware since `since_ns` (steady clock), redacted:
    // {"entries":[{"t_ns","direction","message","note"}]}.
    virtual nlohmann::json trace(const std::string& slot, std::int64_t since_ns) const = 0;
};

struct SlotStatus {
    std::string slot;
    std::string pcsc_reader; // "<FRIENDLYNAME> <slot index %02X> 00", as a private pcscd names it
    std::string reader_model;
    Interface interface = Interface::Contact;
    std::optional<std::string> card;
    bool citizen = false;
    std::map<std::string, int> pins;
    bool opened = false; // pcscd has created the channel and polled the slot
    // Bumped by every insert, remove and reset: two reads with the same generation saw the same
    // card (a run decides a session's trust from it, issue 8).
    std::uint64_t generation = 0;
};

class Lab {
public:
    Lab(std::vector<ReaderModel> models, std::vector<SlotConfig> slots, CardFactory factory,
        PinProbe probe = {}, Logger log = {});

    // Answers one request (every op except Stop, which the process owner handles).
    labwire::Reply handle(const labwire::Request& request);
    // Waits in real time for the exchange's delay (lab process) or not at all (tests: false).
    void set_real_time(bool real_time) { real_time_ = real_time; }

    std::vector<std::string> slot_ids() const;
    std::string friendly_name(const std::string& slot) const;
    const ReaderModel& model_of(const std::string& slot) const;
    std::vector<SlotStatus> status() const;
    nlohmann::json status_json() const; // {"slots":[...]}; the caller adds "socket"
    bool all_slots_opened() const;
    // The lab is going away: wakes every waiting WaitChange and transmit; later waits end at once.
    void close();

    // Throw UsageError for an unknown slot or profile.
    // `presented`: how the card is presented (a contactless card held to the reader: type_a /
    // type_b); nullopt keeps the slot's interface from the lab file.
    void insert(const std::string& slot, const std::optional<std::string>& profile, bool citizen,
                std::optional<Interface> presented = std::nullopt);
    void remove(const std::string& slot);
    void reset(); // every card made anew from its profile (retry counters restored)
    // USB devices for the slots (`lab start --usb`); replays every slot's current card to them.
    // Unplug/Plug requests answer "needs --usb" without them.
    void attach_devices(SlotDevices* devices);

    // Capability and control answers, exposed for tests.
    std::optional<Bytes> capability(const std::string& slot, std::uint32_t tag) const;
    std::optional<Bytes> control_answer(const std::string& slot, std::uint32_t code) const;

private:
    struct Slot {
        SlotConfig config;
        EmulatedReader reader;
        std::size_t index = 0;
        std::optional<std::string> profile;
        bool citizen = false;
        std::uint64_t generation = 0;
        bool opened = false;
        std::uint64_t polls = 0;           // presence queries by pcscd
        std::optional<ifd::Code> reported; // the last presence answer pcscd got
    };
    Slot& find(const std::string& slot);
    // In real time with pcscd polling: wait until pcscd has seen the change (bounded).
    void await_pcscd(std::unique_lock<std::mutex>& lock, Slot& slot, std::uint64_t polls_before);
    static bool host_saw(const Slot& slot, std::uint64_t polls_before);
    const Slot& find(const std::string& slot) const;
    labwire::Reply transmit(Slot& slot, std::unique_lock<std::mutex>& lock, ByteView command);
    void log(const std::string& line) const;

    std::vector<ReaderModel> models_;
    CardFactory factory_;
    PinProbe probe_;
    Logger log_;
    bool real_time_ = false;
    bool closed_ = false;
    SlotDevices* devices_ = nullptr;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::unique_ptr<Slot>> slots_;
};

} // namespace harness::lab
