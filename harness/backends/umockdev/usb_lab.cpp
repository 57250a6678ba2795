#include "backends/umockdev/usb_lab.hpp"

#include "pure/ccid_trace.hpp"
#include "pure/error.hpp"

#include <chrono>
#include <fmt/core.h>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace harness::umock {
namespace fs = std::filesystem;

usbdesc::Device usb_device_of(const lab::ReaderModel& model, const std::string& serial) {
    usbdesc::Device device;
    device.serial = serial;
    usbdesc::Interface iface;
    if (model.dump) {
        device.identity = model.dump->identity;
        iface.info = model.dump->interface;
        iface.ccid = model.dump->descriptor;
        iface.placement = usbdesc::puts_descriptor_after_endpoints(device.identity.vendor_id,
                                                                   device.identity.product_id)
                              ? ccid::Placement::AfterEndpoints
                              : ccid::Placement::InterfaceExtra;
        iface.endpoints = usbdesc::ccid_endpoints(0, iface.info.num_endpoints);
    } else {
        device.identity.vendor_id = model.usb.vendor_id;
        device.identity.product_id = model.usb.product_id;
        device.identity.bcd_device = model.usb.bcd_device;
        device.identity.manufacturer = model.usb.manufacturer;
        device.identity.product = model.usb.product;
        iface.info.interface_class = ccid::interface_class_ccid;
        iface.ccid = model.ccid_descriptor();
        iface.endpoints = usbdesc::ccid_endpoints(0, 3);
        iface.info.num_endpoints = 3;
    }
    device.interfaces.push_back(std::move(iface));
    return device;
}

std::string friendly_name_of(const lab::ReaderModel& model) {
    if (!model.dump)
        return model.usb.product; // a fictitious lab reader: "Lab …"
    const std::string& maker = model.usb.manufacturer;
    const std::string& product = model.usb.product;
    if (maker.empty() || product.rfind(maker, 0) == 0)
        return product;
    return maker + " " + product;
}

std::string DriverBundle::friendly_name(std::uint16_t vid, std::uint16_t pid) const {
    for (const auto* list : {&added, &listed})
        for (const auto& r : *list)
            if (r.vid == vid && r.pid == pid)
                return r.name;
    return {};
}

std::vector<std::pair<fs::path, fs::path>> DriverBundle::mounts() const {
    return {{system_library, drivers_dir / "ifd-ccid.bundle/Contents/Linux/libccid.so"},
            {drivers_dir, "/usr/lib/pcsc/drivers"}};
}

DriverBundle write_driver_bundle(const fs::path& dir,
                                 const std::vector<const lab::ReaderModel*>& models) {
    const fs::path system = system_ccid_bundle;
    const fs::path plist = system / "Contents/Info.plist";
    const fs::path library = system / "Contents/Linux/libccid.so";
    if (!fs::exists(plist) || !fs::exists(library))
        throw EnvironmentError(fmt::format("the CCID driver is not installed ({} missing; apt-get "
                                           "install libccid)",
                                           fs::exists(plist) ? library.string() : plist.string()));
    std::ifstream in(plist, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const auto system_list = ccid_driver::parse_info_plist(text.str(), plist.string());
    DriverBundle bundle;
    bundle.drivers_dir = dir;
    bundle.system_library = fs::canonical(library);
    {
        const std::string plist_text = text.str();
        const std::string key = "<key>CFBundleShortVersionString</key>";
        if (const auto at = plist_text.find(key); at != std::string::npos) {
            const auto open = plist_text.find("<string>", at);
            const auto close = plist_text.find("</string>", open);
            if (open != std::string::npos && close != std::string::npos)
                bundle.version = plist_text.substr(open + 8, close - open - 8);
        }
    }
    std::set<std::pair<std::uint16_t, std::uint16_t>> seen;
    for (const auto* m : models) {
        const auto key = std::make_pair(m->usb.vendor_id, m->usb.product_id);
        if (!seen.insert(key).second)
            continue;
        ccid_driver::SupportedReader reader{m->usb.vendor_id, m->usb.product_id,
                                            friendly_name_of(*m)};
        // A VID:PID the system's driver lists keeps its entry (pcscd takes the last match).
        const ccid_driver::SupportedReader* listed = nullptr;
        for (const auto& r : system_list)
            if (r.vid == reader.vid && r.pid == reader.pid)
                listed = &r;
        if (listed)
            bundle.listed.push_back(*listed);
        else
            bundle.added.push_back(std::move(reader));
    }
    const fs::path contents = dir / "ifd-ccid.bundle/Contents";
    fs::create_directories(contents / "Linux");
    {
        std::ofstream out(contents / "Info.plist", std::ios::binary | std::ios::trunc);
        out << ccid_driver::add_readers(text.str(), bundle.added, plist.string());
        if (!out)
            throw EnvironmentError("cannot write " + (contents / "Info.plist").string());
    }
    // Outside pcscd's namespace this stays a note; inside, the system's libccid.so is
    // bind-mounted onto it (DriverBundle::mounts()).
    std::ofstream(contents / "Linux/libccid.so", std::ios::trunc)
        << "placeholder: pcscd of `cardharness lab start --usb` sees " << bundle.system_library
        << " bind-mounted here\n";
    return bundle;
}

UsbLab::UsbLab(const lab::Lab& lab, Testbed& testbed, lab::Logger log)
    : testbed_(testbed), log_(std::move(log)) {
    for (const auto& id : lab.slot_ids()) {
        auto slot = std::make_unique<Slot>();
        slot->id = id;
        slot->model = lab.model_of(id);
        slot->description =
            usb_device_of(slot->model, fmt::format("{}-{}", slot->model.usb.serial, id));
        slots_.push_back(std::move(slot));
    }
}

UsbLab::~UsbLab() = default;

void UsbLab::log(const std::string& line) const {
    if (log_)
        log_(line);
}

UsbLab::Slot& UsbLab::find(const std::string& slot) {
    for (auto& s : slots_)
        if (s->id == slot)
            return *s;
    throw UsageError("lab: no slot \"" + slot + "\"");
}

const UsbLab::Slot& UsbLab::find(const std::string& slot) const {
    return const_cast<UsbLab*>(this)->find(slot);
}

void UsbLab::plug_locked(Slot& s) {
    if (s.device)
        return;
    if (next_address_ > 127)
        throw EnvironmentError("lab: no USB address left on the emulated bus (127 plugs)");
    // A fresh firmware: a real reader plugged in starts with its card unpowered.
    lab::FirmwareConfig config = lab::firmware_config(s.model);
    if (s.model.dump) {
        config.clock_frequencies_khz = s.model.dump->clock_frequencies_khz;
        config.data_rates_bps = s.model.dump->data_rates_bps;
    }
    config.trace_capacity = 8192; // a whole session's messages: a failing step's evidence
    s.firmware = std::make_shared<lab::CcidFirmware>(std::move(config));
    if (s.card)
        s.firmware->insert(0, s.card, s.interface);
    s.address = next_address_++;
    s.device = &testbed_.plug(s.description, s.address, s.firmware);
    ++s.plugs;
    log(fmt::format("slot {}: USB device {:04x}:{:04x} plugged in at {}", s.id,
                    s.description.identity.vendor_id, s.description.identity.product_id,
                    s.device->location().device_node()));
}

void UsbLab::plug_all() {
    std::lock_guard lock(mutex_);
    for (auto& s : slots_)
        plug_locked(*s);
}

bool UsbLab::all_claimed() const {
    return unclaimed().empty();
}

std::vector<std::string> UsbLab::unclaimed() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& s : slots_)
        if (s->device && !s->device->claimed())
            out.push_back(s->id);
    return out;
}

void UsbLab::use_names(const DriverBundle& bundle) {
    std::lock_guard lock(mutex_);
    for (auto& s : slots_)
        s->friendly_name = bundle.friendly_name(s->model.usb.vendor_id, s->model.usb.product_id);
}

std::string UsbLab::pcsc_name_prefix(const std::string& slot) const {
    const Slot& s = find(slot);
    // pcscd: "<Info.plist name> [<iInterface>] (<iSerialNumber>)"
    std::string name = s.friendly_name.empty() ? friendly_name_of(s.model) : s.friendly_name;
    const auto& iface = s.description.interfaces.front().info;
    if (iface.name)
        name += " [" + *iface.name + "]";
    return fmt::format("{} ({})", name, s.description.serial.value_or(""));
}

std::vector<lab::FirmwareTrace> UsbLab::trace(const std::string& slot) const {
    std::lock_guard lock(mutex_);
    const Slot& s = find(slot);
    return s.firmware ? s.firmware->trace() : std::vector<lab::FirmwareTrace>{};
}

UsbCounters UsbLab::usb_counters(const std::string& slot) const {
    std::lock_guard lock(mutex_);
    const Slot& s = find(slot);
    return s.device ? s.device->counters() : UsbCounters{};
}

void UsbLab::card_changed(const std::string& slot, std::shared_ptr<io::VirtualCard> card,
                          lab::Interface interface) {
    std::lock_guard lock(mutex_);
    Slot& s = find(slot);
    s.card = std::move(card);
    s.interface = interface;
    if (!s.firmware)
        return; // not plugged in yet: plug_locked() inserts it
    if (s.card)
        s.firmware->insert(0, s.card, s.interface);
    else
        s.firmware->remove(0);
    s.change_queued = s.firmware->interrupt_pending(); // else the host sees no difference
    if (s.device) {
        const UsbCounters c = s.device->counters();
        s.submits_at_change = c.submits;
        s.interrupts_at_change = c.interrupts;
        s.device->wake(); // the interrupt IN URB takes the NotifySlotChange
    }
}

void UsbLab::await_host(const std::string& slot) {
    // As the lab does for its own driver: return once pcscd has seen the change, at most 3 s.
    // pcscd has seen it when it asked the slot's status (a PC_to_RDR message) after libccid read
    // the last NotifySlotChange, or, when nothing reads the interrupt pipe (libccid's polling
    // stopped while a client holds the card), after the change. pcscd 1.9 powers cards on
    // demand: no power-up is awaited.
    using namespace std::chrono;
    const auto start = steady_clock::now();
    const auto deadline = start + seconds(3);
    while (steady_clock::now() < deadline) {
        {
            std::lock_guard lock(mutex_);
            const Slot& s = find(slot);
            if (!s.device || !s.device->claimed() || !s.firmware || !s.change_queued)
                return;
            const UsbCounters c = s.device->counters();
            if (!s.firmware->interrupt_pending() && c.interrupts > s.interrupts_at_change &&
                c.bulk_out_since_interrupt >= 1)
                return;
            if (steady_clock::now() - start > milliseconds(500) &&
                c.submits >= s.submits_at_change + 2)
                return;
        }
        std::this_thread::sleep_for(milliseconds(2));
    }
    std::lock_guard lock(mutex_);
    const Slot& s = find(slot);
    log(fmt::format("slot {}: the host did not take the change within 3 s (interrupt {})", slot,
                    s.firmware && s.firmware->interrupt_pending() ? "pending" : "taken"));
}

void UsbLab::unplug(const std::string& slot) {
    UsbReader* device = nullptr;
    {
        std::lock_guard lock(mutex_);
        Slot& s = find(slot);
        if (!s.device)
            throw UsageError(fmt::format("lab: slot {} is already unplugged", slot));
        device = s.device;
        s.device = nullptr;
    }
    testbed_.unplug(*device);
    log(fmt::format("slot {}: USB device unplugged", slot));
}

void UsbLab::plug(const std::string& slot) {
    std::lock_guard lock(mutex_);
    Slot& s = find(slot);
    if (s.device)
        throw UsageError(fmt::format("lab: slot {} is already plugged in", slot));
    plug_locked(s);
}

nlohmann::json UsbLab::slot_status(const std::string& slot) const {
    std::lock_guard lock(mutex_);
    const Slot& s = find(slot);
    nlohmann::json usb = {
        {"plugged", s.device != nullptr},
        {"claimed", s.device ? s.device->claimed() : false},
        {"bus", 1},
        {"address", s.address},
        {"channel_id", s.device ? s.device->channel_id() : 0U},
        {"device_node", s.device ? s.device->location().device_node() : std::string()},
        {"serial", s.description.serial.value_or("")},
        {"descriptor_dump", s.model.dump_file},
    };
    if (s.device) {
        const UsbCounters c = s.device->counters();
        usb["ioctls"] = c.ioctls;
        usb["reaps"] = c.reaps;
        usb["reaps_empty"] = c.reaps_empty;
        usb["submits"] = c.submits;
        usb["discards"] = c.discards;
        usb["control"] = c.control;
        usb["handler_us"] = c.handler_time.count() / 1000;
    }
    nlohmann::json out = {{"pcsc_reader_prefix", pcsc_name_prefix(slot)}, {"usb_device", usb}};
    if (s.firmware) {
        out["ccid_status"] = ccid::to_string(s.firmware->icc_status(0));
        const lab::FirmwareCounters f = s.firmware->counters();
        out["firmware"] = {{"bulk_out", f.bulk_out},
                           {"bulk_in", f.bulk_in},
                           {"interrupts", f.interrupts},
                           {"failed", f.failed},
                           {"time_extensions", f.time_extensions},
                           {"t1_blocks", f.t1_blocks},
                           {"wtx_requests", f.wtx_requests},
                           {"chained", f.chained},
                           {"card_commands", f.card_commands}};
    }
    return out;
}

} // namespace harness::umock

namespace harness::umock {

nlohmann::json UsbLab::trace(const std::string& slot, std::int64_t since_ns) const {
    std::vector<lab::FirmwareTrace> entries;
    ccid::ExchangeLevel level = ccid::ExchangeLevel::Reserved;
    {
        std::lock_guard lock(mutex_);
        const Slot& s = find(slot);
        if (s.firmware) {
            entries = s.firmware->trace();
            level = s.firmware->descriptor().exchange_level();
        }
    }
    // Redacted here, in the lab: no card data leaves the process that holds the cards. The
    // redactor reads the whole kept trace in order (it follows bSeq and the protocol).
    ccid::TraceRedactor redactor(level);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
        using D = lab::FirmwareTrace::Direction;
        const auto direction = e.direction == D::BulkOut     ? ccid::TraceDirection::Out
                               : e.direction == D::BulkIn    ? ccid::TraceDirection::In
                               : e.direction == D::Interrupt ? ccid::TraceDirection::Interrupt
                                                             : ccid::TraceDirection::Control;
        std::string message = redactor.redact(direction, e.message);
        const std::int64_t t =
            std::chrono::duration_cast<std::chrono::nanoseconds>(e.time.time_since_epoch()).count();
        if (t < since_ns)
            continue;
        out.push_back({{"t_ns", t},
                       {"direction", lab::to_string(e.direction)},
                       {"message", std::move(message)},
                       {"note", e.note}});
    }
    return {{"entries", out}};
}

} // namespace harness::umock
