#include "services/lab/lab.hpp"

#include "pure/error.hpp"

#include <chrono>
#include <fmt/core.h>

namespace harness::lab {
namespace {

void put_le(Bytes& out, std::uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

Bytes dword(std::uint32_t value) {
    Bytes out;
    put_le(out, value, 4);
    return out;
}

Bytes c_string(const std::string& text) {
    Bytes out(text.begin(), text.end());
    out.push_back(0); // the CCID driver counts the terminating NUL in the attribute length
    return out;
}

labwire::Reply reply(ifd::Code code, Bytes data = {}) {
    return labwire::Reply{code, std::move(data)};
}

labwire::Reply bad(const std::string& why) {
    return reply(ifd::Code::BadRequest, bytes_of(why));
}

} // namespace

Lab::Lab(std::vector<ReaderModel> models, std::vector<SlotConfig> slots, CardFactory factory,
         PinProbe probe, Logger log)
    : models_(std::move(models)), factory_(std::move(factory)), probe_(std::move(probe)),
      log_(std::move(log)) {
    std::size_t index = 0;
    for (auto& config : slots) {
        const ReaderModel* model = find_model(models_, config.reader_model);
        if (!model)
            throw ConfigError("lab: unknown reader model \"" + config.reader_model + "\"");
        auto slot = std::make_unique<Slot>(Slot{config,
                                                EmulatedReader(*model, config.interface),
                                                index++,
                                                config.card,
                                                config.citizen,
                                                0,
                                                false,
                                                0,
                                                {}});
        if (config.card)
            slot->reader.insert(factory_(*config.card, config.citizen));
        slots_.push_back(std::move(slot));
    }
}

void Lab::log(const std::string& line) const {
    if (log_)
        log_(line);
}

Lab::Slot& Lab::find(const std::string& slot) {
    for (auto& s : slots_)
        if (s->config.slot == slot)
            return *s;
    throw UsageError("lab: no slot \"" + slot + "\"");
}

const Lab::Slot& Lab::find(const std::string& slot) const {
    return const_cast<Lab*>(this)->find(slot);
}

std::vector<std::string> Lab::slot_ids() const {
    std::vector<std::string> ids;
    for (const auto& s : slots_)
        ids.push_back(s->config.slot);
    return ids;
}

std::string Lab::friendly_name(const std::string& slot) const {
    const Slot& s = find(slot);
    return fmt::format("{} ({})", s.reader.model().usb.product, s.config.slot);
}

const ReaderModel& Lab::model_of(const std::string& slot) const {
    return find(slot).reader.model();
}

std::vector<SlotStatus> Lab::status() const {
    std::lock_guard lock(mutex_);
    std::vector<SlotStatus> out;
    for (const auto& s : slots_) {
        SlotStatus st;
        st.slot = s->config.slot;
        // pcscd names reader.conf readers "<FRIENDLYNAME> <index %02X> 00", in file order
        st.pcsc_reader = fmt::format("{} ({}) {:02X} 00", s->reader.model().usb.product,
                                     s->config.slot, s->index);
        st.reader_model = s->reader.model().id;
        st.interface = s->reader.interface();
        st.card = s->reader.card() ? s->profile : std::nullopt;
        st.citizen = s->reader.card() ? s->citizen : false;
        if (s->reader.card() && probe_)
            st.pins = probe_(*s->reader.card());
        st.opened = s->opened;
        st.generation = s->generation;
        out.push_back(std::move(st));
    }
    return out;
}

nlohmann::json Lab::status_json() const {
    nlohmann::json slots = nlohmann::json::array();
    for (const auto& st : status()) {
        nlohmann::json pins = nlohmann::json::object();
        for (const auto& [name, left] : st.pins)
            pins[name] = left;
        const ReaderModel& m = model_of(st.slot);
        slots.push_back({{"slot", st.slot},
                         {"pcsc_reader", st.pcsc_reader},
                         {"reader_model", st.reader_model},
                         {"interface", to_string(st.interface)},
                         {"card", st.card ? nlohmann::json(*st.card) : nlohmann::json(nullptr)},
                         {"citizen", st.citizen},
                         {"pins", pins},
                         {"opened", st.opened},
                         {"generation", st.generation},
                         {"usb",
                          {{"vendor_id", fmt::format("{:04x}", m.usb.vendor_id)},
                           {"product_id", fmt::format("{:04x}", m.usb.product_id)},
                           {"bcd_device", fmt::format("{:04x}", m.usb.bcd_device)},
                           {"manufacturer", m.usb.manufacturer},
                           {"product", m.usb.product},
                           {"serial", m.usb.serial}}}});
        if (devices_)
            slots.back().update(devices_->slot_status(st.slot));
    }
    return {{"slots", slots}};
}

void Lab::attach_devices(SlotDevices* devices) {
    std::lock_guard lock(mutex_);
    devices_ = devices;
    if (devices_)
        for (auto& s : slots_)
            devices_->card_changed(s->config.slot, s->reader.card(), s->reader.interface());
}

bool Lab::all_slots_opened() const {
    std::lock_guard lock(mutex_);
    for (const auto& s : slots_)
        if (!s->opened)
            return false;
    return true;
}

// pcscd has polled the slot since the change and, for a card it can see, powered it (so its
// reader state carries the new ATR when a command returns).
bool Lab::host_saw(const Slot& slot, std::uint64_t polls_before) {
    return slot.polls > polls_before && (!slot.reader.card_visible() || slot.reader.powered());
}

void Lab::await_pcscd(std::unique_lock<std::mutex>& lock, Slot& slot, std::uint64_t polls_before) {
    if (!real_time_ || !slot.opened)
        return;
    // pcscd polls presence every 400 ms and powers a newly inserted card: a command returns once
    // pcscd has seen the absence and, with a visible card, powered the new one.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    changed_.wait_until(lock, deadline, [&] { return closed_ || host_saw(slot, polls_before); });
}

void Lab::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
}

void Lab::insert(const std::string& slot, const std::optional<std::string>& profile, bool citizen,
                 std::optional<Interface> presented) {
    std::unique_lock lock(mutex_);
    Slot& s = find(slot);
    const auto chosen = profile ? profile : s.config.card;
    if (!chosen)
        throw UsageError("lab: slot \"" + slot + "\" has no default card; name one with --card");
    auto card = factory_(*chosen, citizen); // throws UsageError for an unknown profile
    // The host saw the old card only when the reader could: an invisible card leaves unseen (an
    // absence reported for it would never be asked for, since the host was told "absent").
    const bool was_visible = s.reader.card_visible();
    const bool swapped = s.reader.remove() != nullptr;
    if (swapped && devices_) // the old card leaves on the interface it was on
        devices_->card_changed(slot, nullptr, s.reader.interface());
    s.reader.set_interface(presented.value_or(s.config.interface));
    s.reader.insert(std::move(card));
    if (swapped && was_visible)
        s.reader.report_absence_once();
    if (devices_)
        devices_->card_changed(slot, s.reader.card(), s.reader.interface());
    s.profile = chosen;
    s.citizen = citizen;
    ++s.generation;
    changed_.notify_all();
    log(fmt::format("slot {}: card {} inserted{}", slot, *chosen, citizen ? " (citizen)" : ""));
    // A card the reader cannot see, where it saw none before, changes nothing pcscd could poll.
    if (was_visible || s.reader.card_visible())
        await_pcscd(lock, s, s.polls);
    if (devices_) {
        lock.unlock();
        devices_->await_host(slot);
    }
}

void Lab::remove(const std::string& slot) {
    std::unique_lock lock(mutex_);
    Slot& s = find(slot);
    const bool was_visible = s.reader.card_visible();
    s.reader.remove();
    if (devices_)
        devices_->card_changed(slot, nullptr, s.reader.interface());
    ++s.generation;
    changed_.notify_all();
    log(fmt::format("slot {}: card removed", slot));
    if (was_visible) // pcscd never saw an invisible card: there is no absence to poll
        await_pcscd(lock, s, s.polls);
    if (devices_) {
        lock.unlock();
        devices_->await_host(slot);
    }
}

void Lab::reset() {
    std::unique_lock lock(mutex_);
    std::vector<std::pair<Slot*, std::uint64_t>> changed;
    for (auto& s : slots_) {
        if (!s->reader.card() || !s->profile)
            continue;
        s->reader.remove();
        s->reader.insert(factory_(*s->profile, s->citizen));
        s->reader.report_absence_once();
        if (devices_) {
            devices_->card_changed(s->config.slot, nullptr, s->reader.interface());
            devices_->card_changed(s->config.slot, s->reader.card(), s->reader.interface());
        }
        ++s->generation;
        changed.emplace_back(s.get(), s->polls);
    }
    changed_.notify_all();
    log("lab reset: every card restored from its profile");
    if (devices_) {
        lock.unlock();
        for (auto [s, polls] : changed)
            devices_->await_host(s->config.slot);
        return;
    }
    if (!real_time_)
        return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    changed_.wait_until(lock, deadline, [&] {
        for (auto [s, polls] : changed)
            if (s->opened && !host_saw(*s, polls))
                return false;
        return true;
    });
}

std::optional<Bytes> Lab::capability(const std::string& slot, std::uint32_t tag) const {
    const Slot& s = find(slot);
    const ReaderModel& m = s.reader.model();
    switch (tag) {
    case attr::vendor_name:
        return c_string(m.usb.manufacturer);
    case attr::vendor_ifd_type:
        return c_string(m.usb.product);
    case attr::vendor_ifd_version:
        // bcdDevice MM.mm as 0xMMmm0000 (the CCID driver's SCARD_ATTR_VENDOR_IFD_VERSION)
        return dword(std::uint32_t{m.usb.bcd_device} << 16);
    case attr::vendor_ifd_serial:
        return c_string(m.usb.serial);
    case attr::channel_id:
        // USB (0x0020), bus 1, device address 0x10 + slot index: fictitious but stable
        return dword(0x00200000U | (1U << 8) | static_cast<std::uint32_t>(0x10 + s.index));
    case attr::max_input:
        return dword(static_cast<std::uint32_t>(m.max_block()));
    case attr::icc_presence:
        return Bytes{static_cast<std::uint8_t>(s.reader.card_visible() ? 2 : 0)};
    case attr::atr_string:
    case attr::tag_ifd_atr:
        return s.reader.atr();
    default:
        return std::nullopt;
    }
}

std::optional<Bytes> Lab::control_answer(const std::string& slot, std::uint32_t code) const {
    const ReaderModel& m = find(slot).reader.model();
    if (code == control::get_feature_request) {
        // PC/SC part 10 §2.2: tag, length 4, control code big-endian
        Bytes out{control::feature_get_tlv_properties, 4};
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(control::get_tlv_properties >> shift));
        return out;
    }
    if (code == control::get_tlv_properties) {
        // PC/SC part 10 §2.6.14: tag, length, little-endian value
        Bytes out;
        const auto add = [&](std::uint8_t tag, std::uint32_t value, std::uint8_t length) {
            out.push_back(tag);
            out.push_back(length);
            put_le(out, value, length);
        };
        add(0x01, 0, 2);                      // wLcdLayout: no display
        add(0x0A, m.max_apdu_data_size(), 4); // dwMaxAPDUDataSize
        add(0x0B, m.usb.vendor_id, 2);        // wIdVendor
        add(0x0C, m.usb.product_id, 2);       // wIdProduct
        const std::string firmware =
            fmt::format("bcdDevice {:x}.{:02x}", m.usb.bcd_device >> 8, m.usb.bcd_device & 0xFF);
        out.push_back(0x08); // sFirmwareID: the firmware version as bcdDevice
        out.push_back(static_cast<std::uint8_t>(firmware.size()));
        out.insert(out.end(), firmware.begin(), firmware.end());
        return out;
    }
    return std::nullopt;
}

labwire::Reply Lab::transmit(Slot& slot, std::unique_lock<std::mutex>& lock, ByteView command) {
    Outcome out = slot.reader.transmit(command);
    if (real_time_ && out.delay.count() > 0) {
        const std::uint64_t generation = slot.generation;
        const auto deadline = std::chrono::steady_clock::now() + out.delay;
        changed_.wait_until(lock, deadline,
                            [&] { return closed_ || slot.generation != generation; });
        if (closed_ || slot.generation != generation) {
            log(fmt::format("slot {}: the card vanished during a transmit", slot.config.slot));
            return reply(ifd::Code::IccNotPresent);
        }
    }
    if (!out.ok()) {
        log(fmt::format("slot {}: transmit {}: {}", slot.config.slot, ifd::to_string(out.code),
                        out.note));
        return reply(out.code);
    }
    return reply(ifd::Code::Success, std::move(out.data));
}

labwire::Reply Lab::handle(const labwire::Request& request) {
    using labwire::Op;
    try {
        switch (request.op) {
        case Op::Status:
            return reply(ifd::Code::Success, bytes_of(status_json().dump()));
        case Op::Insert: {
            std::optional<std::string> profile;
            if (!request.data.empty())
                profile = std::string(request.data.begin(), request.data.end());
            std::optional<Interface> presented;
            switch ((request.arg >> 1) & 3U) {
            case 1:
                presented = Interface::Contact;
                break;
            case 2:
                presented = Interface::TypeA;
                break;
            case 3:
                presented = Interface::TypeB;
                break;
            default:
                break;
            }
            insert(request.slot, profile, (request.arg & 1U) != 0, presented);
            return reply(ifd::Code::Success);
        }
        case Op::Remove:
            remove(request.slot);
            return reply(ifd::Code::Success);
        case Op::Reset:
            reset();
            return reply(ifd::Code::Success);
        case Op::Unplug:
        case Op::Plug:
            if (!devices_)
                return bad("unplug and plug need a lab started with --usb (USB readers)");
            find(request.slot); // UsageError for an unknown slot
            if (request.op == Op::Unplug)
                devices_->unplug(request.slot);
            else
                devices_->plug(request.slot);
            return reply(ifd::Code::Success);
        case Op::Trace: {
            if (!devices_)
                return bad("trace needs a lab started with --usb (USB readers)");
            find(request.slot);
            std::int64_t since = 0;
            const std::string text(request.data.begin(), request.data.end());
            if (!text.empty())
                since = std::stoll(text);
            return reply(ifd::Code::Success, bytes_of(devices_->trace(request.slot, since).dump()));
        }
        case Op::Stop:
            return bad("stop is handled by the lab process");
        default:
            break;
        }
        std::unique_lock lock(mutex_);
        Slot* found = nullptr;
        for (auto& s : slots_)
            if (s->config.slot == request.slot)
                found = s.get();
        if (!found)
            return reply(ifd::Code::NoSuchDevice);
        Slot& slot = *found;
        switch (request.op) {
        case Op::Hello:
            log(fmt::format("slot {}: channel opened by the driver", slot.config.slot));
            return reply(ifd::Code::Success, bytes_of(friendly_name(slot.config.slot)));
        case Op::Close:
            slot.opened = false;
            slot.reported.reset();
            changed_.notify_all(); // a WaitChange of the closed channel returns
            return reply(ifd::Code::Success);
        case Op::Presence: {
            slot.opened = true;
            ++slot.polls;
            const ifd::Code code = slot.reader.presence();
            slot.reported = code;
            changed_.notify_all();
            return reply(code);
        }
        case Op::WaitChange: {
            slot.reader.host_waits(); // an absence pcscd was told of has been seen
            // The driver's IFDHPolling: pcscd asks for presence only when this returns, so a
            // card change reaches pcscd at once instead of at its next 400 ms poll.
            const auto changed = [&] {
                return !slot.reported || slot.reader.peek_presence() != *slot.reported;
            };
            changed_.wait_for(lock, std::chrono::milliseconds(request.arg),
                              [&] { return closed_ || changed(); });
            return reply(!closed_ && changed() ? ifd::Code::Success : ifd::Code::ResponseTimeout);
        }
        case Op::Capability: {
            auto value = capability(slot.config.slot, request.arg);
            return value ? reply(ifd::Code::Success, std::move(*value))
                         : reply(ifd::Code::ErrorTag);
        }
        case Op::Control: {
            auto value = control_answer(slot.config.slot, request.arg);
            return value ? reply(ifd::Code::Success, std::move(*value))
                         : reply(ifd::Code::ErrorNotSupported);
        }
        case Op::Power: {
            const PowerAction action = request.arg == 501   ? PowerAction::Down
                                       : request.arg == 502 ? PowerAction::Reset
                                                            : PowerAction::Up;
            Outcome out = slot.reader.power(action);
            changed_.notify_all();
            if (!out.ok())
                log(fmt::format("slot {}: power {}: {}", slot.config.slot, ifd::to_string(out.code),
                                out.note));
            return reply(out.code, std::move(out.data));
        }
        case Op::SetProtocol: {
            // pcscd passes SCARD_PROTOCOL_T0 (1) or SCARD_PROTOCOL_T1 (2)
            const std::uint32_t mask = request.arg & 0xFFU;
            if (mask != 1 && mask != 2)
                return reply(ifd::Code::ProtocolNotSupported);
            Outcome out = slot.reader.set_protocol(mask == 1 ? 0 : 1);
            if (!out.ok())
                log(fmt::format("slot {}: set protocol {}: {}", slot.config.slot,
                                ifd::to_string(out.code), out.note));
            return reply(out.code);
        }
        case Op::Transmit:
            return transmit(slot, lock, request.data);
        default:
            return bad("unsupported operation");
        }
    } catch (const UsageError& e) {
        return bad(e.what());
    } catch (const std::exception& e) {
        log(fmt::format("{} failed: {}", labwire::to_string(request.op), e.what()));
        return reply(ifd::Code::CommunicationError);
    }
}

} // namespace harness::lab
