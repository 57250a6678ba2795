#include "backends/survey/driver_survey.hpp"

#include "backends/lab/lab_process.hpp"
#include "backends/pcsc/context.hpp"
#include "backends/pcsc/pcsc_channel.hpp"
#include "backends/pcsc/reader_info.hpp"
#include "backends/umockdev/testbed.hpp"
#include "io/failure_kind.hpp"
#include "pure/ccid_message.hpp"
#include "pure/error.hpp"
#include "pure/usb_descriptors.hpp"
#include "services/identify/identify.hpp"
#include "services/lab/ccid_firmware.hpp"
#include "services/plan/plan.hpp"
#include "services/plan/verdict.hpp"
#include "services/suite/runner.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

namespace harness::survey_usb {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using model::Compatibility;

std::string firmware_text(std::uint16_t bcd) {
    return fmt::format("{:X}.{:02X}", bcd >> 8U, bcd & 0xFFU);
}

// pcscd's log, read as it grows: the lines the driver wrote about a device it refused.
class LogWatch {
public:
    explicit LogWatch(fs::path file) : file_(std::move(file)) {}

    // The newest line that mentions "Firmware (<bcd>) is bogus", read up to now.
    std::string bogus_line(std::uint16_t bcd) {
        return newest(fmt::format("Firmware ({}) is bogus", firmware_text(bcd)), {});
    }
    // Hotplug events pcscd has handled so far ("USB Device add" / "USB Device removed", info
    // level): pcscd handles them one at a time, in order.
    std::uint64_t hotplug_events() {
        std::lock_guard lock(mutex_);
        read_more();
        return hotplug_events_;
    }
    // Whether pcscd found a driver for hotplug event `event` (1-based, as hotplug_events() counts):
    // it logs "Adding USB device: …" in that event's turn, before the driver opens the device,
    // only when the driver's Info.plist lists the VID:PID.
    bool driver_listed(std::uint64_t event) {
        std::lock_guard lock(mutex_);
        read_more();
        return event >= 1 && event <= listed_.size() && listed_[event - 1];
    }
    // pcscd's "<reader> (<serial>) init failed." for a device that opened but did not start.
    std::string init_failed_line(const std::string& serial) {
        return newest("(" + serial + ")", "init failed");
    }

private:
    // The newest line holding `needle` (and `also`), from `needle` on.
    std::string newest(const std::string& needle, const std::string& also) {
        std::lock_guard lock(mutex_);
        read_more();
        for (auto it = lines_.rbegin(); it != lines_.rend(); ++it) {
            const auto at = it->find(needle);
            if (at == std::string::npos || (!also.empty() && it->find(also) == std::string::npos))
                continue;
            if (also.empty())
                return it->substr(at);
            const auto text = it->find("() "); // after pcscd's "file:line:function() "
            return text == std::string::npos ? *it : it->substr(text + 3);
        }
        return {};
    }

    void read_more() {
        std::ifstream in(file_, std::ios::binary);
        if (!in)
            return;
        in.seekg(static_cast<std::streamoff>(offset_));
        std::string line;
        while (std::getline(in, line)) {
            if (in.eof()) // a line still being written: read it again next time
                break;
            offset_ += line.size() + 1;
            if (line.find("is bogus") != std::string::npos ||
                line.find("init failed") != std::string::npos)
                lines_.push_back(line);
            if (line.find("USB Device add") != std::string::npos ||
                line.find("USB Device removed") != std::string::npos) {
                ++hotplug_events_;
                listed_.push_back(false);
            } else if (line.find("Adding USB device: ") != std::string::npos && !listed_.empty()) {
                listed_.back() = true; // pcscd handles one event at a time, in order
            }
        }
    }

    fs::path file_;
    std::mutex mutex_;
    std::size_t offset_ = 0;
    std::vector<std::string> lines_;
    std::uint64_t hotplug_events_ = 0;
    std::vector<bool> listed_; // per hotplug event: pcscd found a driver for it
};

// The USB device a dump's interface block is: its identity and strings, that one interface with
// its CCID descriptor, synthesized endpoints and serial.
usbdesc::Device device_of(const survey::Item& item) {
    usbdesc::Device device;
    device.identity = item.dump.identity;
    device.serial = item.serial();
    usbdesc::Interface iface;
    iface.info = item.dump.interface;
    iface.ccid = item.dump.descriptor;
    iface.placement = usbdesc::puts_descriptor_after_endpoints(device.identity.vendor_id,
                                                               device.identity.product_id)
                          ? ccid::Placement::AfterEndpoints
                          : ccid::Placement::InterfaceExtra;
    iface.endpoints = usbdesc::ccid_endpoints(0, iface.info.num_endpoints);
    device.interfaces.push_back(std::move(iface));
    return device;
}

// The firmware: the descriptor exactly as dumped, no quirks beyond it, the physical interfaces
// of the reviewed data. A generous trace: the survey reads every message the driver sent.
lab::FirmwareConfig firmware_of(const survey::Item& item) {
    lab::FirmwareConfig config;
    config.descriptor = *item.dump.descriptor;
    config.clock_frequencies_khz = item.dump.clock_frequencies_khz;
    config.data_rates_bps = item.dump.data_rates_bps;
    config.quirks.contact = item.physical.contact();
    config.quirks.type_a = item.physical.contactless();
    config.quirks.type_b = item.physical.contactless();
    config.trace_capacity = 1U << 16U;
    return config;
}

// " NN SS" at the end of a pcscd reader name: the slot number SS.
unsigned slot_of(const std::string& name) {
    const auto at = name.rfind(' ');
    if (at == std::string::npos)
        return 0;
    try {
        return static_cast<unsigned>(std::stoul(name.substr(at + 1), nullptr, 16));
    } catch (const std::exception&) {
        return 0;
    }
}

// The reader name without pcscd's " NN SS" (NN depends on the order readers appeared).
std::string stable_name(const std::string& name) {
    auto at = name.rfind(' ');
    if (at == std::string::npos)
        return name;
    at = name.rfind(' ', at - 1);
    return at == std::string::npos ? name : name.substr(0, at);
}

std::vector<std::string> readers_with(const pcsc::Context& context, const std::string& serial) {
    std::vector<std::string> out;
    const std::string tag = "(" + serial + ")";
    for (auto& name : context.list_readers())
        if (name.find(tag) != std::string::npos)
            out.push_back(std::move(name));
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return slot_of(a) < slot_of(b); });
    return out;
}

// The emulated card without its processing times: a survey verdict is about the descriptor and
// the driver, not the card's or the reader's timing (and all-zero waits keep 700 readers fast).
class InstantCard : public io::VirtualCard {
public:
    explicit InstantCard(std::shared_ptr<io::VirtualCard> card) : card_(std::move(card)) {}
    Bytes power_on() override { return card_->power_on(); }
    void power_off() override { card_->power_off(); }
    Bytes reset(bool cold) override { return card_->reset(cold); }
    Bytes atr() const override { return card_->atr(); }
    io::CardResponse transmit(ByteView command) override {
        auto r = card_->transmit(command);
        r.processing_time = std::chrono::microseconds{0};
        return r;
    }
    std::string profile_name() const override { return card_->profile_name(); }

private:
    std::shared_ptr<io::VirtualCard> card_;
};

survey::Cause to_survey(const plan::Cause& c) {
    return {c.code, c.effect, c.en, c.ja};
}

std::vector<std::string> optional_steps(const suite::LoadedSuite& s) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < s.suite.steps.size() && i < s.plan.size(); ++i) {
        const auto& req = s.plan[i].requirements;
        if (std::find(req.begin(), req.end(), "extended_apdu") != req.end())
            out.push_back(s.suite.steps[i].id);
    }
    return out;
}

// The transport suite cut to the steps the survey runs.
suite::LoadedSuite transport_subset(const suite::LoadedSuite& full) {
    suite::LoadedSuite out;
    out.suite = full.suite;
    out.suite.steps.clear();
    for (std::size_t i = 0; i < full.suite.steps.size() && i < full.plan.size(); ++i)
        if (std::find_if(std::begin(transport_steps), std::end(transport_steps),
                         [&](const char* id) { return full.suite.steps[i].id == id; }) !=
            std::end(transport_steps)) {
            out.suite.steps.push_back(full.suite.steps[i]);
            out.plan.push_back(full.plan[i]);
        }
    return out;
}

// The survey runs its suites without their steps' time limits (timeout_ms). A step's time here is
// the emulation's: USB through umockdev, a firmware and a card in this process, on a machine
// shared with other work (a 65535-byte command in 254-byte T=1 blocks takes 5 s or 15 s
// depending on the load). Timing is not in a descriptor, and the environment is never a reader's
// fault: a limit met here would make the verdict a measure of the machine. The driver's own
// timeouts (its bulk reads) still end an exchange that gets no answer.
void without_time_limits(suite::LoadedSuite& s) {
    for (auto& step : s.suite.steps)
        step.timeout_ms.reset();
}

// pcscd found the driver for a device and the driver did not open it: the environment's miss.
class DeviceMissed : public EnvironmentError {
public:
    using EnvironmentError::EnvironmentError;
};

} // namespace

struct DriverSurvey::Impl {
    Setup setup;
    std::unique_ptr<umock::Testbed> testbed;
    pid_t pcscd = 0;
    fs::path socket;
    std::unique_ptr<LogWatch> log;
    std::map<std::string, suite::LoadedSuite> suites; // what each card type runs, by suite id

    std::mutex slot_mutex;
    std::condition_variable slot_cv;
    std::size_t slots_in_use = 0;

    std::mutex address_mutex;
    std::deque<unsigned> free_addresses;

    std::atomic<std::uint64_t> plug_seq{0}; // for unique USB port paths
    // Held while a device is plugged or unplugged: the hotplug events reach pcscd in the order of
    // their numbers (await_hotplug_room()).
    std::mutex plug_mutex;

    std::mutex done_mutex;
    std::mutex pcscd_mutex; // held while pcscd is replaced (multi-slot devices)

    // The private pcscd under the umockdev preload, with the system's driver folder untouched.
    void start_pcscd() {
        fs::create_directories(setup.work_dir / "conf");
        labd::PcscdOptions options;
        options.conf_dir = setup.work_dir / "conf";
        options.run_dir = setup.work_dir / "run";
        options.log = setup.work_dir / "pcscd.log";
        options.hide_usb_drivers = false; // the system's CCID driver, its own Info.plist
        options.debug = setup.pcscd_debug;
        options.info = true; // hotplug events in its log: the survey paces itself by them
        for (const auto& [name, value] : testbed->environment())
            options.environment.emplace_back(name, value);
        if (!log)
            log = std::make_unique<LogWatch>(options.log);
        socket = labd::pcscd_socket(options.run_dir);
        std::error_code ec;
        fs::remove(socket, ec);
        pcscd = labd::spawn_private_pcscd(options);
        const auto deadline = Clock::now() + 10s;
        while (!fs::exists(socket)) {
            if (!labd::process_alive(pcscd) || Clock::now() > deadline) {
                labd::terminate(pcscd);
                throw EnvironmentError(fmt::format(
                    "survey: the private pcscd did not start (see {})", options.log.string()));
            }
            std::this_thread::sleep_for(20ms);
        }
        ::setenv("PCSCLITE_CSOCK_NAME", socket.c_str(), 1);
        std::lock_guard lock(hotplug_mutex);
        hotplug_emitted = log->hotplug_events();
    }

    // Hotplug pacing. umockdev hands every plug and unplug to pcscd's libudev monitor through a
    // socket; when pcscd's hotplug thread stalls (libccid waiting on a removed reader) and events
    // keep coming, the socket fills and umockdev aborts the process. So at most
    // `max_unhandled_hotplug` events may be unhandled (pcscd logs each as it takes it); a stall
    // longer than 30 s is pcscd's failure: PcscdStopped, and a new pcscd takes over.
    static constexpr std::uint64_t max_unhandled_hotplug = 6;
    std::mutex hotplug_mutex;
    std::uint64_t hotplug_emitted = 0; // events sent to the current pcscd (log count at its start)
    // Returns the number of the event about to be sent, counted as pcscd's log counts them (call
    // with plug_mutex held, and send the event before letting it go).
    std::uint64_t await_hotplug_room() {
        std::unique_lock lock(hotplug_mutex);
        const auto start = Clock::now();
        while (hotplug_emitted >= log->hotplug_events() + max_unhandled_hotplug) {
            if (Clock::now() - start > 30s)
                throw PcscdStopped(
                    fmt::format("pcscd stopped handling hotplug events ({} unhandled for 30 s)",
                                hotplug_emitted - log->hotplug_events()));
            lock.unlock();
            std::this_thread::sleep_for(50ms);
            lock.lock();
        }
        ++hotplug_emitted;
        return hotplug_emitted;
    }

    bool pcscd_alive() {
        std::lock_guard lock(pcscd_mutex);
        return labd::process_alive(pcscd);
    }

    // "the private pcscd stopped: <its last log line>".
    std::string stopped_text() const {
        std::ifstream in(setup.work_dir / "pcscd.log", std::ios::binary);
        std::string line, last;
        while (std::getline(in, line))
            if (!line.empty())
                last = line;
        return fmt::format("the private pcscd stopped during the survey (its last words: \"{}\")",
                           last);
    }

    void acquire_slots(std::size_t n) {
        std::unique_lock lock(slot_mutex);
        slot_cv.wait(lock, [&] { return slots_in_use + n <= setup.max_slots; });
        slots_in_use += n;
    }
    void release_slots(std::size_t n) {
        {
            std::lock_guard lock(slot_mutex);
            slots_in_use -= n;
        }
        slot_cv.notify_all();
    }
    unsigned take_address() {
        std::lock_guard lock(address_mutex);
        if (free_addresses.empty())
            throw EnvironmentError("survey: no free USB address on the emulated bus");
        const unsigned a = free_addresses.front();
        free_addresses.pop_front();
        return a;
    }
    void give_address(unsigned a) {
        std::lock_guard lock(address_mutex);
        free_addresses.push_back(a); // least recently used first: pcscd has long let go of it
    }

    // Surveys one task. `batch`: a multi-slot device of a batch: it stays plugged (its slots
    // taken) and is added to `left_plugged`; the batch ends with its pcscd (end_batch()).
    Finished survey_task(const Task& task, bool batch = false);
    struct Plugged {
        umock::UsbReader* device;
        unsigned address;
    };
    std::mutex plugged_mutex;
    std::vector<Plugged> left_plugged;
    // libccid 1.5.2 removing a multi-slot reader can leave pcscd's hotplug thread waiting for
    // ever (its slot-polling thread does not end; or pcscd crashes when another reader
    // transmits), after which hotplug events pile up. So multi-slot devices are surveyed in
    // batches that leave with their pcscd: it is stopped, the devices unplugged, a new one
    // started with nothing plugged.
    void end_batch() {
        std::lock_guard lock(pcscd_mutex);
        labd::terminate(pcscd);
        std::lock_guard plugged_lock(plugged_mutex);
        for (const auto& p : left_plugged) {
            testbed->unplug(*p.device);
            give_address(p.address);
        }
        left_plugged.clear();
        start_pcscd();
    }
    survey::DriverFacts await_driver(const survey::Item& item, umock::UsbReader& device,
                                     lab::CcidFirmware& firmware, std::uint64_t event,
                                     const pcsc::Context& context, std::vector<std::string>& names);
    std::pair<model::Session, survey::CellResult>
    run_cell(const Task& task, const survey::PlannedCell& planned, const std::string& reader,
             const model::PcscReader& info, umock::UsbReader& device, lab::CcidFirmware& firmware,
             const pcsc::Context& context);
};

DriverSurvey::DriverSurvey(Setup setup) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.setup = std::move(setup);
    if (m.setup.max_slots == 0 || m.setup.max_slots > 16)
        throw UsageError("survey: a pcscd serves 1 to 16 readers");
    const char* preload = std::getenv("LD_PRELOAD");
    const auto library = umock::Testbed::preload_library();
    if (library.empty())
        throw EnvironmentError("survey: umockdev's preload library is not installed (apt-get "
                               "install umockdev)");
    if (!preload || std::string(preload).find(library.string()) == std::string::npos)
        throw EnvironmentError("survey: this process must run under the umockdev preload "
                               "(LD_PRELOAD) for hotplug events");
    for (const char* id : {"identify", "jpki-mynumber", "juki", "transport"})
        if (m.setup.suites.find(id) == m.setup.suites.end())
            throw Error(fmt::format("survey: suite {} not loaded", id));
    m.suites = m.setup.suites;
    m.suites["transport"] = transport_subset(m.setup.suites.at("transport"));
    for (auto& [id, s] : m.suites)
        without_time_limits(s);
    for (unsigned a = 2; a <= 127; ++a)
        m.free_addresses.push_back(a);

    m.testbed = std::make_unique<umock::Testbed>();
    m.start_pcscd();
}

DriverSurvey::~DriverSurvey() {
    if (impl_->pcscd > 0)
        labd::terminate(impl_->pcscd);
    impl_->testbed.reset();
}

int DriverSurvey::pcscd_pid() const {
    return impl_->pcscd;
}

void DriverSurvey::run(std::vector<Task> tasks, const std::function<void(Finished)>& done) {
    Impl& m = *impl_;
    // Single-slot devices stream through hotplug; multi-slot ones go in batches (end_batch()).
    // The stream is interleaved by a hash of the key, so a VID:PID the driver does not list is
    // soon followed by other hotplug events: pcscd handles them in order and logs each before it
    // hands it to the driver, so a later one in its log shows it is done with the unlisted one.
    std::vector<const Task*> stream, multi;
    for (const auto& t : tasks) {
        const bool runs = std::any_of(t.cells.begin(), t.cells.end(), [](const auto& c) {
            return c.plan == survey::CellPlan::Run;
        });
        (runs && t.item.dump.descriptor->slots() > 1 ? multi : stream).push_back(&t);
    }
    const auto order = [](const Task* t) { return t->item.serial(); };
    std::stable_sort(stream.begin(), stream.end(),
                     [&](const Task* a, const Task* b) { return order(a) < order(b); });

    std::mutex error_mutex;
    std::exception_ptr error;
    std::atomic<bool> stop{false};
    const auto cancelled = [&] {
        return stop.load() || (m.setup.cancel && m.setup.cancel->load());
    };
    const auto one = [&](const Task& task, bool batch) {
        Finished f = m.survey_task(task, batch);
        // A result that met a dying pcscd is the environment's, not the reader's.
        if (!m.pcscd_alive())
            throw PcscdStopped(m.stopped_text());
        std::lock_guard lock(m.done_mutex);
        done(std::move(f));
    };
    const auto failed = [&] {
        std::lock_guard lock(error_mutex);
        if (!error)
            error = m.pcscd_alive() ? std::current_exception()
                                    : std::make_exception_ptr(PcscdStopped(m.stopped_text()));
        stop = true; // the others stop taking work
    };

    std::atomic<std::size_t> next{0};
    std::vector<std::thread> workers;
    const std::size_t jobs = std::max<std::size_t>(1, std::min(m.setup.jobs, stream.size()));
    for (std::size_t w = 0; w < jobs; ++w)
        workers.emplace_back([&] {
            try {
                for (std::size_t k = next++; k < stream.size() && !cancelled(); k = next++)
                    one(*stream[k], false);
            } catch (...) {
                failed();
            }
        });
    for (auto& w : workers)
        w.join();

    // Multi-slot batches: as many devices as pcscd has readers for, all at once.
    std::size_t k = 0;
    while (k < multi.size() && !cancelled()) {
        std::vector<const Task*> batch;
        std::size_t slots = 0;
        while (k < multi.size()) {
            const std::size_t n =
                std::min<std::size_t>(multi[k]->item.dump.descriptor->slots(), m.setup.max_slots);
            if (!batch.empty() && (slots + n > m.setup.max_slots || batch.size() >= m.setup.jobs))
                break;
            batch.push_back(multi[k++]);
            slots += n;
        }
        std::vector<std::thread> threads;
        for (const Task* t : batch)
            threads.emplace_back([&, t] {
                try {
                    if (!cancelled())
                        one(*t, true);
                } catch (...) {
                    failed();
                }
            });
        for (auto& t : threads)
            t.join();
        try {
            m.end_batch();
        } catch (...) {
            failed();
        }
    }
    if (error)
        std::rethrow_exception(error);
}

survey::DriverFacts
DriverSurvey::Impl::await_driver(const survey::Item& item, umock::UsbReader& device,
                                 lab::CcidFirmware& firmware, std::uint64_t event,
                                 const pcsc::Context& context, std::vector<std::string>& names) {
    survey::DriverFacts f;
    f.libccid_version = setup.libccid_version;
    const auto start = Clock::now();
    std::optional<Clock::time_point> claimed_at;
    std::optional<Clock::time_point> passed_at; // when pcscd was first seen past its event
    const std::size_t slots = item.dump.descriptor->slots();
    const auto count = [&] {
        const auto c = device.counters();
        f.opens = c.clients;
        f.claims = c.claims;
        f.messages = firmware.counters().bulk_out;
    };
    while (true) {
        const auto now = Clock::now();
        // pcscd logs a hotplug event ("USB Device add") before it hands it to the driver, so once
        // it has logged a later one it is done with this device: what the device and PC/SC show
        // after that (read below, after the log) is the driver's whole answer. Never a guess from
        // the time alone while pcscd has not taken the event: a slow machine is not a reader's
        // fault.
        const std::uint64_t handled = log->hotplug_events();
        if (handled > event && !passed_at)
            passed_at = now;
        // (and a moment more: PC/SC lists a reader the driver opened as pcscd goes on)
        const bool passed = passed_at && now - *passed_at > 200ms;
        const bool waited = handled >= event && now - start > setup.driver_wait;
        count();
        names = readers_with(context, item.serial());
        if (!names.empty()) {
            // pcscd lists a reader while the driver still initialises it, and every slot of a
            // multi-slot reader becomes a reader one after the other: wait for all of them and
            // for their initialisation (a status query waits for it), then look again.
            const auto settle = Clock::now() + 10s;
            while (names.size() < slots && Clock::now() < settle) {
                std::this_thread::sleep_for(50ms);
                names = readers_with(context, item.serial());
            }
            for (const auto& name : names)
                try {
                    (void)context.status_of(name);
                } catch (const Error&) {
                }
            names = readers_with(context, item.serial());
            if (!names.empty()) {
                f.readers = names.size();
                count(); // pcscd may have opened it since the top of the loop
                break;
            }
            continue;
        }
        if (f.claims > 0) {
            if (!claimed_at)
                claimed_at = now;
            if (f.messages == 0) {
                f.log_line = log->bogus_line(item.dump.identity.bcd_device);
                // Claimed, and pcscd went on without a reader or one CCID message: refused.
                if (!f.log_line.empty() || passed || now - *claimed_at > setup.driver_wait)
                    break;
            } else {
                f.log_line = log->init_failed_line(item.serial());
                if (!f.log_line.empty() || now - *claimed_at > 30s)
                    break; // talked to it, but pcscd gave up on it (or never listed it)
            }
        } else if (f.opens == 0 && (passed || waited)) {
            // pcscd is done with its event and never opened it. Not listed — unless pcscd found the
            // driver for it: then the driver did not find the device (libusb in pcscd had not seen
            // it yet, a race under load), which says nothing about the reader.
            if (log->driver_listed(event))
                throw DeviceMissed(fmt::format(
                    "the CCID driver lists {} but did not find the emulated device", item.key()));
            break;
        } else if (passed) {
            break; // opened, never claimed, no reader: the driver gave up on it
        }
        if (handled < event && now - start > setup.driver_wait + 30s)
            throw PcscdStopped(fmt::format("pcscd did not take the hotplug event of {} in {} s",
                                           item.key(), (setup.driver_wait + 30s).count() / 1000));
        if (now - start > setup.driver_wait + 60s)
            break;
        std::this_thread::sleep_for(50ms);
    }
    for (const auto& t : firmware.trace())
        if (t.direction == lab::FirmwareTrace::Direction::BulkOut && !t.message.empty() &&
            t.message[0] == static_cast<std::uint8_t>(ccid::MessageType::Escape))
            ++f.escapes;
    firmware.clear_trace();
    f.outcome = survey::classify_driver(f);
    return f;
}

std::pair<model::Session, survey::CellResult>
DriverSurvey::Impl::run_cell(const Task& task, const survey::PlannedCell& planned,
                             const std::string& reader, const model::PcscReader& info,
                             umock::UsbReader& device, lab::CcidFirmware& firmware,
                             const pcsc::Context& context) {
    const survey::Item& item = task.item;
    const auto& descriptor = *item.dump.descriptor;
    const bool contactless = planned.cell.interface == "contactless";
    const std::string presented = contactless ? "type_b" : "contact";

    // What the verdict rules know of the reader: the dump's descriptor (the driver reads the same
    // one) and what PC/SC reports.
    plan::ReaderFacts facts;
    facts.name = reader;
    facts.model = "survey:" + item.key();
    facts.descriptor = descriptor;
    facts.max_input = info.max_input;
    if (info.tlv_properties)
        facts.max_apdu_data_size = info.tlv_properties->max_apdu_data_size;
    if (item.physical.contact())
        facts.interfaces.emplace_back("contact");
    if (item.physical.contactless()) {
        facts.interfaces.emplace_back("type_a");
        facts.interfaces.emplace_back("type_b");
    }

    model::Session session;
    auto& id = session.reader;
    id.pcsc_name = stable_name(reader);
    id.vid = item.dump.identity.vendor_id;
    id.pid = item.dump.identity.product_id;
    id.bcd_device = item.dump.identity.bcd_device;
    id.manufacturer = item.dump.identity.manufacturer.value_or("");
    id.product = item.dump.identity.product.value_or("");
    id.serial = item.serial();
    id.driver = setup.libccid_version.empty() ? std::string("libccid (survey)")
                                              : "libccid " + setup.libccid_version + " (survey)";
    id.reader_model = facts.model;
    id.ccid_descriptor = ccid::encode(descriptor);
    id.descriptor_findings_json = nlohmann::json{
        {"exchange_level", ccid::to_string(descriptor.exchange_level())},
        {"max_message_length", descriptor.max_message_length},
        {"prediction", ccid::to_string(ccid::predict(descriptor).likelihood)},
        {"dump_file", item.file},
        {"block", item.block}}.dump();

    plan::Outcome outcome;
    outcome.reader = facts;
    outcome.presented_interface = presented;
    outcome.card.card_type = planned.cell.card_type;
    outcome.card.interface = planned.cell.interface;
    outcome.card.emulated = true;
    outcome.card.test_card = true;
    session.card.card_type = planned.cell.card_type;
    session.card.interface = planned.cell.interface;
    session.card.emulated = true;
    session.card.test_card = true;

    survey::LevelObservation seen;
    const auto drain = [&] {
        for (const auto& t : firmware.trace()) {
            if (t.direction == lab::FirmwareTrace::Direction::BulkOut)
                seen.add(descriptor, t.message);
            else if (t.direction == lab::FirmwareTrace::Direction::BulkIn)
                seen.add_reply(t.message);
        }
        firmware.clear_trace();
    };

    firmware.clear_trace();
    auto card = std::make_shared<InstantCard>(setup.make_card(planned.profile));
    const auto iface = contactless ? lab::Interface::TypeB : lab::Interface::Contact;
    firmware.insert(0, card, iface);
    device.wake();
    bool present = context.wait_for_card(reader, 5s);
    if (!present) {
        // As a person would: take the card out and put it in again once (an insertion the
        // driver's slot polling missed while it was still starting).
        firmware.remove(0);
        device.wake();
        std::this_thread::sleep_for(500ms);
        firmware.insert(0, card, iface);
        device.wake();
        present = context.wait_for_card(reader, 5s);
    }

    std::unique_ptr<pcsc::PcscChannel> channel;
    if (!present) {
        outcome.card_seen = false;
        session.cause = "no card seen in the reader";
        session.card.card_type = "no_card";
    } else {
        const auto status = context.status_of(reader);
        outcome.card.atr = status.atr;
        session.card.atr = status.atr;
        pcsc::Connection connection = pcsc::connect_channel(context, reader);
        channel = std::move(connection.channel);
        outcome.connect_failure = connection.failure;
        outcome.connect_error = connection.error;
        if (!channel)
            session.cause = "connect failed: " + outcome.connect_error;
    }
    if (channel) {
        const model::CardIdentity identity = identify::identify(*channel, setup.key);
        session.card.card_id = identity.card_id;
        suite::RunContext ctx;
        ctx.pins = setup.pins ? setup.pins(planned.cell.card_type) : suite::PinSource{};
        ctx.trust = suite::CardTrust::EmulatedTest;
        ctx.card_type = planned.cell.card_type;
        ctx.interface = planned.cell.interface;
        ctx.key = setup.key;
        ctx.cancel = nullptr; // a started device finishes: its cells are one result
        ctx.run_start = setup.run_start;
        ctx.variables["run.reader"] = bytes_of(reader);
        ctx.variables["run.atr"] = channel->atr();
        ctx.variables["run.card_type"] = bytes_of(planned.cell.card_type);
        ctx.variables["run.interface"] = bytes_of(planned.cell.interface);
        std::vector<std::string> pin_names;
        for (auto p : {suite::PinName::Auth, suite::PinName::Sign, suite::PinName::Text,
                       suite::PinName::Juki})
            if (ctx.pins.has(p))
                pin_names.emplace_back(suite::to_string(p));
        for (const auto& cap : plan::capabilities(facts, outcome.card, pin_names))
            ctx.capabilities.insert(cap);
        // The transport card exists to carry extended APDUs (profiles/cards: extended_length
        // yes; its ATR has no historical bytes to say so): its steps run on every reader, and a
        // reader or driver that cannot carry them makes the transport verdict partial.
        if (planned.cell.card_type == "transport")
            ctx.capabilities.insert("extended_apdu");
        if (channel->protocol() == io::Protocol::T0)
            ctx.capabilities.insert("t0");
        if (channel->protocol() == io::Protocol::T1)
            ctx.capabilities.insert("t1");
        pcsc::PcscChannel* raw = channel.get();
        ctx.reconnect = [raw](io::CardChannel&, bool) {
            raw->card().reconnect(pcsc::Disposition::Leave);
        };
        ctx.progress = [&](const suite::Progress&) { drain(); };
        std::vector<std::string> ids;
        if (planned.cell.card_type == "transport")
            ids = {"transport"};
        else
            ids = {"identify", planned.cell.card_type == "mynumber" ? "jpki-mynumber" : "juki"};
        for (const auto& sid : ids) {
            const auto& s = suites.at(sid);
            const auto more = optional_steps(s);
            outcome.optional_steps.insert(outcome.optional_steps.end(), more.begin(), more.end());
            session.suites.push_back(suite::run_suite(s, *channel, ctx));
            if (ctx.status != model::RunStatus::Complete)
                break;
        }
        session.status = ctx.status;
        session.cause = ctx.cause;
        channel.reset();
    }
    drain();
    firmware.remove(0);
    device.wake();
    context.wait_for_removal(reader, 5s);
    firmware.clear_trace();

    outcome.session = &session;
    const auto judged = plan::judge(outcome);
    std::vector<survey::Cause> causes;
    for (const auto& c : judged.causes)
        causes.push_back(to_survey(c));
    auto cell = survey::judged_cell(planned, judged.verdict, std::move(causes), descriptor, seen);
    return {std::move(session), std::move(cell)};
}

Finished DriverSurvey::Impl::survey_task(const Task& task, bool batch) {
    const auto start = Clock::now();
    Finished out;
    out.result = survey::start_result(task.item);
    out.result.driver.libccid_version = setup.libccid_version;
    std::vector<std::optional<survey::CellResult>> cells(task.cells.size());
    bool any_run = false;
    for (std::size_t i = 0; i < task.cells.size(); ++i) {
        if (task.cells[i].plan == survey::CellPlan::Run)
            any_run = true;
        else
            cells[i] = survey::decided_cell(task.item, task.cells[i]);
    }
    std::string reader_name = fmt::format(
        "{} ({})", task.item.dump.identity.product.value_or("reader"), task.item.serial());
    if (any_run) {
        // A batch's slots are taken by run() for the whole batch.
        const std::size_t slots =
            batch ? 0 : std::min<std::size_t>(task.item.dump.descriptor->slots(), setup.max_slots);
        acquire_slots(slots);
        const unsigned address = take_address();
        auto firmware = std::make_shared<lab::CcidFirmware>(firmware_of(task.item));
        umock::UsbReader* device = nullptr;
        try {
            std::optional<pcsc::Context> held(std::in_place);
            const pcsc::Context& context = *held;
            std::vector<std::string> names;
            for (int attempt = 1;; ++attempt) {
                // A port path of its own for every plug (umockdev keeps a removed device's bus
                // link, so a reused path would collide): 15 × 15 × 15 hub ports.
                const std::uint64_t seq = ++plug_seq;
                const std::string port = fmt::format("{}.{}.{}", (seq / 225) % 15 + 1,
                                                     (seq / 15) % 15 + 1, seq % 15 + 1);
                std::uint64_t event = 0; // its hotplug event, numbered as pcscd's log counts
                {
                    std::lock_guard plug_lock(plug_mutex);
                    event = await_hotplug_room();
                    device = &testbed->plug(device_of(task.item), address, firmware, port);
                }
                try {
                    out.result.driver =
                        await_driver(task.item, *device, *firmware, event, context, names);
                    break;
                } catch (const DeviceMissed& e) {
                    // The environment's miss, never a result: plug the device in again.
                    {
                        std::lock_guard plug_lock(plug_mutex);
                        await_hotplug_room();
                        testbed->unplug(*device);
                        device = nullptr;
                    }
                    if (attempt >= 3)
                        throw PcscdStopped(fmt::format("{} ({} times)", e.what(), attempt));
                    std::this_thread::sleep_for(1s);
                }
            }
            if (out.result.driver.outcome == survey::DriverOutcome::Opened) {
                reader_name = stable_name(names.front());
                const model::PcscReader info = pcsc::read_reader_info(context, names.front());
                for (std::size_t i = 0; i < task.cells.size(); ++i)
                    if (!cells[i]) {
                        auto [session, cell] = run_cell(task, task.cells[i], names.front(), info,
                                                        *device, *firmware, context);
                        out.sessions.push_back(std::move(session));
                        cells[i] = std::move(cell);
                    }
            } else {
                for (std::size_t i = 0; i < task.cells.size(); ++i)
                    if (!cells[i])
                        cells[i] = survey::driver_cell(task.item, task.cells[i], out.result.driver);
            }
            if (batch) {
                // Left plugged until the batch ends with its pcscd (end_batch()).
                std::lock_guard lock(plugged_mutex);
                left_plugged.push_back({device, address});
                device = nullptr;
                out.took =
                    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
            } else {
                std::lock_guard plug_lock(plug_mutex);
                await_hotplug_room();
                testbed->unplug(*device);
                device = nullptr;
            }
            // pcscd lets go of the readers before their contexts and the address are reused.
            const auto deadline = Clock::now() + 10s;
            while (!batch && out.result.driver.outcome == survey::DriverOutcome::Opened &&
                   !readers_with(*held, task.item.serial()).empty() && Clock::now() < deadline)
                std::this_thread::sleep_for(50ms);
        } catch (...) {
            if (device) {
                // Counted as an event without waiting for room: the event numbers stay pcscd's.
                std::lock_guard plug_lock(plug_mutex);
                {
                    std::lock_guard lock(hotplug_mutex);
                    ++hotplug_emitted;
                }
                testbed->unplug(*device);
            }
            if (!batch || device)
                give_address(address);
            release_slots(slots);
            throw;
        }
        if (!batch)
            give_address(address);
        release_slots(slots);
    }
    for (std::size_t i = 0; i < cells.size(); ++i) {
        out.result.verdicts.push_back(std::move(*cells[i]));
        const auto& c = out.result.verdicts.back();
        model::Verdict v;
        v.reader = reader_name;
        v.reader_model = "survey:" + task.item.key();
        v.card_type = c.cell.card_type;
        v.interface = c.cell.interface;
        v.verdict = c.verdict;
        v.diagnosis_en = c.diagnosis_en;
        v.diagnosis_ja = c.diagnosis_ja;
        out.verdicts.push_back(std::move(v));
    }
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return out;
}

} // namespace harness::survey_usb
