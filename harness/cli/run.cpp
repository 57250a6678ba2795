// cardharness run: plan, run the conformance suites on every chosen reader × card (readers in
// parallel, one PC/SC context per reader thread, one database writer thread), judge each
// (reader, card type, interface) and print a summary or the run as JSON.
#include "model/run.hpp"

#include "app/session.hpp"
#include "backends/host/environment.hpp"
#include "backends/pcsc/context.hpp"
#include "backends/pcsc/pcsc_channel.hpp"
#include "backends/pcsc/reader_info.hpp"
#include "cli/commands.hpp"
#include "cli/json_common.hpp"
#include "cli/json_usb.hpp"
#include "cli/lab_ccid.hpp"
#include "cli/lab_spec.hpp"
#include "cli/run_ccid_trace.hpp"
#include "cli/run_ids.hpp"
#include "cli/usb_facts.hpp"
#include "io/failure_kind.hpp"
#include "io/paths.hpp"
#include "io/process.hpp"
#include "io/run_lock.hpp"
#include "io/station.hpp"
#include "model/card_identity.hpp"
#include "pure/ccid.hpp"
#include "pure/error.hpp"
#include "services/emu/persona.hpp"
#include "services/identify/identify.hpp"
#include "services/lab/reader_model.hpp"
#include "services/plan/plan.hpp"
#include "services/plan/verdict.hpp"
#include "services/store/store.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <optional>
#include <poll.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace harness::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using model::Compatibility;

struct RunOptions {
    bool lab = false;
    bool usb = false; // [usblab hook] --lab --usb: the lab on USB, driven by the system's libccid
    std::string lab_dir;
    std::string reader;
    bool all = false;
    std::vector<std::string> suites;
    std::string pins_file;
    std::vector<std::string> test_cards;
    std::string db = io::paths::default_database().string();
    int jobs = 0;
    bool json = false;
    std::string cards;
    int card_timeout_s = 120;
    int min_tries_left = 2;
    bool quiet = false;     // --quiet: no progress lines, only the summary
    bool matrix = false;    // --matrix: every lab reader with every card (default with --lab --all)
    bool no_matrix = false; // --no-matrix: only the card each lab slot holds
};

std::atomic<bool> cancel_requested{false};
extern "C" void on_cancel_signal(int) {
    cancel_requested = true;
}

fs::path profiles_dir() {
    return io::paths::profiles_dir();
}

// ---- The lab: started for the run (--lab), or already running (its status names the slots). --

struct LabSlot {
    std::string slot;
    std::string pcsc_reader;
    std::string reader_model;
    std::string interface; // contact / type_a / type_b
    std::optional<std::string> card;
    bool citizen = false;
    std::optional<std::uint64_t> generation;
};

struct LabView {
    std::string dir;
    std::string socket;
    std::string driver_name; // [usblab hook] "cardharness lab driver" or "libccid 1.5.2"
    std::vector<LabSlot> slots;
    std::vector<lab::ReaderModel> models;
    const LabSlot* slot_of(const std::string& pcsc_reader) const {
        for (const auto& s : slots)
            if (s.pcsc_reader == pcsc_reader)
                return &s;
        return nullptr;
    }
};

// The lab's slots as its lab socket reports them now (labd::Client: no child process, no text
// parsed back). nullopt when no lab runs in `dir`.
std::optional<std::vector<LabSlot>> read_lab_slots(const std::string& dir,
                                                   std::string* socket = nullptr,
                                                   std::string* driver_name = nullptr) {
    try {
        labd::LabStatus st = lab_client(dir).status();
        // A --usb lab: pcscd names libccid's readers in order of appearance; ask the lab's pcscd,
        // but only when it is the one this process talks to (libpcsclite reads the variable once).
        const char* ours = std::getenv("PCSCLITE_CSOCK_NAME");
        if (st.extra.value("driver", "cardharness") == "ccid" && ours && st.pcsc_socket == ours)
            labccid::resolve_reader_names(st.slots, st.pcsc_socket);
        if (socket)
            *socket = st.pcsc_socket;
        if (driver_name)
            *driver_name = st.extra.value("driver_name", "cardharness lab driver");
        std::vector<LabSlot> slots;
        for (const auto& info : st.slots) {
            const lab::SlotStatus& s = info.status;
            slots.push_back(LabSlot{s.slot, s.pcsc_reader, s.reader_model,
                                    std::string(lab::to_string(s.interface)), s.card, s.citizen,
                                    s.generation});
        }
        return slots;
    } catch (const std::exception&) {
        return std::nullopt; // no lab there, or it went away
    }
}

std::optional<LabView> read_lab(const std::string& dir) {
    LabView view;
    view.dir = lab_client(dir).folder().dir.string();
    auto slots = read_lab_slots(dir, &view.socket, &view.driver_name);
    if (!slots)
        return std::nullopt;
    view.slots = std::move(*slots);
    view.models = lab::load_reader_model_dir(profiles_dir() / "readers");
    return view;
}

// ---- Progress: a live line per reader on a terminal, plain lines otherwise. -----------------

class ProgressBoard {
public:
    explicit ProgressBoard(bool quiet) : tty_(::isatty(STDERR_FILENO) == 1), quiet_(quiet) {}

    void add(const std::string& reader) {
        std::lock_guard lock(mutex_);
        lines_.emplace_back(reader, "waiting");
        if (tty_ && !quiet_)
            fmt::print(stderr, "\n");
        redraw();
    }
    void update(const std::string& reader, const std::string& text, bool plain_too = true) {
        std::lock_guard lock(mutex_);
        for (auto& [name, line] : lines_)
            if (name == reader)
                line = text;
        if (quiet_)
            return;
        if (tty_)
            redraw();
        else if (plain_too)
            fmt::print(stderr, "{}: {}\n", reader, text);
        std::fflush(stderr);
    }
    // A message for the tester that stays on screen (prompts).
    void say(const std::string& text) {
        std::lock_guard lock(mutex_);
        if (tty_)
            fmt::print(stderr, "\r\x1b[K{}\n", text);
        else
            fmt::print(stderr, "{}\n", text);
        if (tty_)
            for (std::size_t i = 0; i < lines_.size(); ++i)
                fmt::print(stderr, "\n");
        redraw();
        std::fflush(stderr);
    }

private:
    void redraw() {
        if (!tty_ || quiet_ || lines_.empty())
            return;
        fmt::print(stderr, "\x1b[{}A", lines_.size());
        for (const auto& [name, line] : lines_) {
            std::string text = fmt::format("{}: {}", name, line);
            if (text.size() > 150)
                text = text.substr(0, 147) + "...";
            fmt::print(stderr, "\r\x1b[K{}\n", text);
        }
        std::fflush(stderr);
    }

    std::mutex mutex_;
    bool tty_;
    bool quiet_;
    std::vector<std::pair<std::string, std::string>> lines_;
};

// ---- Why a run stops early, and the one place sessions are written. -----------------------------

// The first reason the run stopped early; later ones do not replace it.
class Stop {
public:
    enum class Why { None, Signal, Environment, Store };
    void request(Why why, model::FailureKind kind, std::string message) {
        {
            std::lock_guard lock(mutex_);
            if (why_ == Why::None) {
                why_ = why;
                kind_ = kind;
                message_ = std::move(message);
            }
        }
        cancel_requested = true; // the runner aborts the remaining steps of every session
    }
    Why why() const {
        std::lock_guard lock(mutex_);
        return why_;
    }
    model::FailureKind kind() const {
        std::lock_guard lock(mutex_);
        return kind_;
    }
    std::string message() const {
        std::lock_guard lock(mutex_);
        return message_;
    }

private:
    mutable std::mutex mutex_;
    Why why_ = Why::None;
    model::FailureKind kind_ = model::FailureKind::None;
    std::string message_;
};

// Writes each session with its verdict in one transaction (store::Store::add_session), one
// writer at a time. The first write failure (disk full, I/O, corrupt) stops the run: nothing is
// written after it, so the database never holds a verdict without its steps or a run that claims
// more than it holds.
class Sink {
public:
    Sink(store::Store& db, std::string run_uuid, Stop& stop)
        : db_(db), uuid_(std::move(run_uuid)), stop_(stop) {}

    bool write(const model::Session& session, const model::Verdict& verdict) {
        std::lock_guard lock(mutex_);
        if (!error_.empty())
            return false;
        try {
            db_.add_session(uuid_, session, verdict);
            ++stored_;
            return true;
        } catch (const std::exception& e) {
            error_ = e.what();
            stop_.request(Stop::Why::Store, model::FailureKind::Disk, error_);
            return false;
        }
    }
    std::string error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }
    std::size_t stored() const {
        std::lock_guard lock(mutex_);
        return stored_;
    }

private:
    store::Store& db_;
    std::string uuid_;
    Stop& stop_;
    mutable std::mutex mutex_;
    std::string error_;
    std::size_t stored_ = 0;
};

// ---- Suites. ---------------------------------------------------------------------------------

struct SuiteSet {
    std::map<std::string, suite::LoadedSuite> loaded;
    std::vector<std::string> available;
    std::vector<std::string> requested;

    const suite::LoadedSuite* get(const std::string& id) const {
        const auto it = loaded.find(id);
        return it == loaded.end() ? nullptr : &it->second;
    }
};

SuiteSet load_suites(const std::vector<std::string>& requested) {
    SuiteSet set;
    set.requested = requested;
    for (const auto& file : suite::shipped_suite_files())
        set.available.push_back(file.stem().string());
    const std::vector<std::string> defaults{"identify", "jpki-mynumber", "juki", "transport",
                                            "pin-behaviour"};
    for (const auto& id : requested.empty() ? defaults : requested) {
        if (requested.empty() &&
            std::find(set.available.begin(), set.available.end(), id) == set.available.end())
            continue;
        set.loaded.emplace(id, suite::load_shipped_suite(id)); // UsageError for unknown ids
    }
    return set;
}

// ---- One reader × card session. --------------------------------------------------------------

struct Result {
    model::Session session;
    model::Verdict verdict;
    bool stored = false;
};

struct Shared {
    const RunOptions& options;
    const SuiteSet& suites;
    std::optional<LabView> lab; // refreshed before each card of --cards (a tester changes cards)
    const suite::PinSource& user_pins;
    std::optional<emu::Persona> persona; // the lab's PINs for its emulated test cards
    io::StationKey key;                  // card ids and redaction HMACs (station state)
    std::shared_ptr<io::PinFailureMemory> failed_pins;
    ProgressBoard& board;
    Sink& sink;
    Stop& stop;
    std::mutex results_mutex;
    std::vector<Result> results;
    std::set<std::string> reached; // readers whose session began
    std::set<std::string> not_run; // readers the run never reached (it stopped first)
    bool matrix = false;           // every lab reader with every card (plan::matrix_cells)
    std::chrono::steady_clock::time_point run_start{}; // the instant of run.started_at
};

plan::ReaderFacts reader_facts(const model::PcscReader& info, const LabSlot* slot,
                               const std::optional<LabView>& lab) {
    plan::ReaderFacts r;
    r.name = info.name;
    r.max_input = info.max_input;
    if (info.tlv_properties)
        r.max_apdu_data_size = info.tlv_properties->max_apdu_data_size;
    if (slot && lab)
        if (const auto* m = lab::find_model(lab->models, slot->reader_model)) {
            r.model = m->id;
            r.descriptor = m->ccid_descriptor();
            if (m->contact)
                r.interfaces.emplace_back("contact");
            if (m->type_a)
                r.interfaces.emplace_back("type_a");
            if (m->type_b)
                r.interfaces.emplace_back("type_b");
        }
    return r;
}

model::ReaderIdentity reader_identity(const model::PcscReader& info, const plan::ReaderFacts& facts,
                                      const std::optional<LabView>& lab) {
    model::ReaderIdentity id;
    id.pcsc_name = info.name;
    id.manufacturer = info.vendor_name.value_or("");
    id.product = info.vendor_ifd_type.value_or("");
    id.serial = info.vendor_ifd_serial.value_or("");
    if (info.tlv_properties) {
        id.vid = info.tlv_properties->id_vendor;
        id.pid = info.tlv_properties->id_product;
    }
    if (info.vendor_ifd_version)
        id.bcd_device = static_cast<std::uint16_t>(*info.vendor_ifd_version >> 16);
    id.reader_model = facts.model;
    if (lab && !facts.model.empty()) {
        if (const auto* m = lab::find_model(lab->models, facts.model)) {
            id.vid = m->usb.vendor_id;
            id.pid = m->usb.product_id;
            id.bcd_device = m->usb.bcd_device;
            if (id.manufacturer.empty())
                id.manufacturer = m->usb.manufacturer;
            if (id.product.empty())
                id.product = m->usb.product;
            if (id.serial.empty())
                id.serial = m->usb.serial;
        }
        id.driver = lab->driver_name;
    }
    if (facts.descriptor) {
        id.ccid_descriptor = ccid::encode(*facts.descriptor);
        id.descriptor_findings_json =
            nlohmann::json{{"exchange_level", ccid::to_string(facts.descriptor->exchange_level())},
                           {"max_message_length", facts.descriptor->max_message_length},
                           {"findings", findings_json(ccid::check(*facts.descriptor))},
                           {"prediction", prediction_json(ccid::predict(*facts.descriptor))}}
                .dump();
    }
    return id;
}

suite::PinSource lab_pins(const emu::Persona& persona, const std::string& card_type) {
    suite::PinSource pins;
    const auto put = [&](suite::PinName name, const char* field) {
        if (persona.has(field))
            pins.set(name, persona.get(field));
    };
    put(suite::PinName::Auth, "pin_auth");
    put(suite::PinName::Sign, card_type == "juki" ? "pin_juki_sign" : "pin_sign");
    put(suite::PinName::Text, "pin_text");
    put(suite::PinName::Juki, "pin_juki_ap");
    return pins;
}

// Did the environment fail under this session? Asked after a session met a transport failure or
// ended early: a reader is never blamed for a lab that stopped or a pcscd that died. In a lab run
// the lab's pcscd dies with the lab (and the lab stops within 100 ms when its pcscd dies), so a
// pcscd that cannot be reached is asked about again after a moment: gone lab → LabStopped.
model::FailureKind environment_now(const Shared& shared) {
    const auto pcscd_reachable = [] {
        try {
            pcsc::Context probe;
            (void)probe.list_readers();
            return true;
        } catch (const EnvironmentError&) {
        } catch (const pcsc::PcscError&) {
        }
        return false;
    };
    if (shared.lab && !read_lab(shared.lab->dir))
        return model::FailureKind::LabStopped;
    if (pcscd_reachable())
        return model::FailureKind::None;
    if (shared.lab) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        if (!read_lab(shared.lab->dir))
            return model::FailureKind::LabStopped;
    }
    return model::FailureKind::NoService;
}

bool met_transport_failure(const model::Session& session, const plan::Outcome& outcome) {
    if (outcome.connect_failure || session.status != model::RunStatus::Complete ||
        session.failure != model::FailureKind::None)
        return true;
    for (const auto& suite : session.suites)
        for (const auto& step : suite.steps)
            if (model::class_of(plan::failure_of(step)) != model::FailureClass::None &&
                model::class_of(plan::failure_of(step)) != model::FailureClass::Guard)
                return true;
    return false;
}

void record(Shared& shared, model::Session session, const plan::Outcome& outcome_in,
            const std::string& title) {
    // The environment's failure, typed, before any verdict: the session is untested then. A
    // pcscd lost in a lab run is told apart from a lab that stopped (`lab stop` ends its pcscd).
    const bool ask =
        session.failure == model::FailureKind::NoService ||
        (!model::is_environment(session.failure) && met_transport_failure(session, outcome_in));
    if (ask)
        if (const auto env = environment_now(shared); env != model::FailureKind::None) {
            session.failure = env;
            session.status = model::RunStatus::Incomplete;
            if (session.cause.empty())
                session.cause = model::to_string(env);
        }
    // A session the run's stop cut short carries the stop's environment kind: untested for the
    // environment (or the disk), never for the reader.
    if (session.status == model::RunStatus::Incomplete &&
        session.failure == model::FailureKind::None &&
        (shared.stop.why() == Stop::Why::Environment || shared.stop.why() == Stop::Why::Store))
        session.failure = shared.stop.kind();
    if (model::is_environment(session.failure))
        shared.stop.request(Stop::Why::Environment, session.failure,
                            fmt::format("{}: {}", session.reader.pcsc_name, session.cause));

    plan::Outcome outcome = outcome_in;
    outcome.session = &session;
    const auto judged = plan::judge(outcome);
    model::Verdict verdict;
    verdict.reader = session.reader.pcsc_name;
    verdict.reader_model = session.reader.reader_model;
    verdict.card_type = outcome.card.card_type;
    verdict.interface = outcome.card.interface;
    verdict.verdict = judged.verdict;
    verdict.diagnosis_en = judged.diagnosis_en;
    verdict.diagnosis_ja = judged.diagnosis_ja;
    for (const auto& c : judged.causes)
        verdict.causes.push_back(c.code);
    const bool stored = shared.sink.write(session, verdict);
    shared.board.update(title, fmt::format("{} — {}{}", model::to_string(judged.verdict),
                                           judged.diagnosis_en, stored ? "" : " (NOT stored)"));
    std::lock_guard lock(shared.results_mutex);
    shared.results.push_back({std::move(session), std::move(verdict), stored});
}

// A session that could not begin because the environment (or the run) stopped first.
void record_not_run(Shared& shared, const std::string& reader, model::FailureKind failure,
                    const std::string& cause) {
    {
        std::lock_guard lock(shared.results_mutex);
        shared.not_run.insert(reader);
    }
    model::Session session;
    session.reader.pcsc_name = reader;
    session.status = model::RunStatus::Incomplete;
    session.failure = failure;
    session.cause = cause;
    session.card.card_type = "no_card";
    plan::Outcome outcome;
    outcome.reader.name = reader;
    outcome.card.card_type = "no_card";
    if (shared.lab)
        if (const auto* slot = shared.lab->slot_of(reader)) {
            session.reader.reader_model = slot->reader_model;
            if (slot->card) {
                outcome.card.card_type = plan::card_type_of_profile(*slot->card);
                outcome.card.interface = plan::card_interface_of(slot->interface);
            }
        }
    record(shared, std::move(session), outcome, reader);
}

// What the lab says the slot holds now (issue 8: never the snapshot taken when the run started):
// the card, and the interface it is presented on (a matrix run swaps both).
std::optional<LabSlot> fresh_slot(const Shared& shared, const std::string& reader) {
    if (!shared.lab)
        return std::nullopt;
    const auto slots = read_lab_slots(shared.lab->dir);
    if (!slots)
        return std::nullopt;
    for (const auto& slot : *slots)
        if (slot.pcsc_reader == reader)
            return slot;
    return std::nullopt;
}

std::optional<suite::LabSlotFacts> fresh_slot_facts(const Shared& shared,
                                                    const std::string& reader) {
    const auto slot = fresh_slot(shared, reader);
    if (!slot)
        return std::nullopt;
    return suite::LabSlotFacts{slot->card, slot->citizen, slot->generation};
}

// Runs everything on the card now in `reader`. `expected_card` is set in the lab when the slot
// holds a card (so a card the reader does not see is a finding, not an empty reader).
void run_session(Shared& shared, pcsc::Context& context, const std::string& reader) {
    {
        std::lock_guard lock(shared.results_mutex);
        shared.reached.insert(reader);
    }
    const LabSlot* slot = shared.lab ? shared.lab->slot_of(reader) : nullptr;
    const auto slot_now = slot ? fresh_slot(shared, reader) : std::nullopt;
    std::optional<suite::LabSlotFacts> lab_at_connect;
    if (slot_now)
        lab_at_connect =
            suite::LabSlotFacts{slot_now->card, slot_now->citizen, slot_now->generation};
    LabSlot current;
    if (slot) { // the card the slot holds now; unknown (no card, citizen) when unreadable
        current = slot_now.value_or(*slot);
        if (!slot_now) {
            current.card = std::nullopt;
            current.citizen = true;
        }
        slot = &current;
    }
    const std::string title = reader;
    const model::PcscReader info = pcsc::read_reader_info(context, reader);
    plan::ReaderFacts facts = reader_facts(info, slot, shared.lab);
    if (!slot)
        add_usb_descriptor(info, facts); // [usblab hook] hardware path: the libusb descriptor

    model::Session session;
    session.reader = reader_identity(info, facts, shared.lab);
    if (!slot)
        add_usb_identity(info, session.reader); // [usblab hook]
    plan::Outcome outcome;
    outcome.reader = facts;
    if (slot) {
        outcome.presented_interface = slot->interface;
        if (slot->card) {
            outcome.card.card_type = plan::card_type_of_profile(*slot->card);
            outcome.card.interface = plan::card_interface_of(slot->interface);
            outcome.card.emulated = true;
            outcome.card.test_card = !slot->citizen;
        }
    }

    const pcsc::ReaderStatus status = context.status_of(reader);
    if (!status.state.present) {
        // Nothing was cut short: an empty reader is a result (the verdict keeps the card type the
        // lab put there; the session records no card).
        outcome.card_seen = false;
        session.status = model::RunStatus::Complete;
        session.cause = "no card seen in the reader";
        if (!slot || !slot->card)
            outcome.card.card_type = "no_card";
        session.card.card_type = "no_card";
        session.card.interface = outcome.card.interface;
        record(shared, std::move(session), outcome, title);
        return;
    }
    outcome.card.atr = status.atr;
    session.card.atr = status.atr;

    std::unique_ptr<pcsc::PcscChannel> channel;
    try {
        channel = std::make_unique<pcsc::PcscChannel>(context, reader, pcsc::ShareMode::Shared);
    } catch (const io::TransportError& e) {
        outcome.connect_failure = io::kind_of(e);
        outcome.connect_error = e.what();
    } catch (const pcsc::PcscError& e) {
        outcome.connect_failure = model::FailureKind::TransportOther;
        outcome.connect_error = e.what();
    }
    if (!channel) {
        session.status = model::RunStatus::Complete; // a failed connect is a result
        session.cause = "connect failed: " + outcome.connect_error;
        if (outcome.connect_failure && model::is_environment(*outcome.connect_failure)) {
            session.status = model::RunStatus::Incomplete;
            session.failure = *outcome.connect_failure;
        }
        session.card.card_type =
            outcome.card.card_type.empty() ? "iso7816_unknown" : outcome.card.card_type;
        session.card.interface = outcome.card.interface;
        session.card.emulated = outcome.card.emulated;
        session.card.test_card = outcome.card.test_card;
        record(shared, std::move(session), outcome, title);
        return;
    }

    shared.board.update(title, "identifying the card");
    // The session service decides card type, trust, capabilities and suites, and runs them
    // (app/session); here: the PC/SC channel, the lab's facts, progress and the CCID traces.
    app::SessionRequest request;
    request.reader = facts;
    if (slot) {
        request.slot = app::SlotFacts{slot->interface, lab_at_connect.value_or(suite::LabSlotFacts{
                                                           std::nullopt, true, std::nullopt})};
        request.slot_after_identify = [&shared, reader] {
            return fresh_slot_facts(shared, reader);
        };
    }
    request.declared_test_cards = shared.options.test_cards;
    request.user_pins = shared.user_pins;
    if (shared.persona)
        request.test_card_pins = [&shared](const std::string& card_type) {
            return lab_pins(*shared.persona, card_type);
        };
    request.min_tries_left = shared.options.min_tries_left;
    request.key = shared.key;
    request.failed_pins = shared.failed_pins;
    request.suites = &shared.suites.loaded;
    request.requested = shared.suites.requested;
    request.run_start = shared.run_start;
    // [usblab hook] a --usb lab slot: the firmware's CCID messages of failing steps
    const bool on_usb_lab = slot && shared.lab->driver_name.rfind("libccid", 0) == 0;
    StepTraces traces(on_usb_lab ? std::filesystem::path(shared.lab->dir) / "lab.sock"
                                 : std::filesystem::path(),
                      on_usb_lab ? slot->slot : std::string());
    app::SessionHooks hooks;
    hooks.cancel = &cancel_requested;
    pcsc::PcscChannel* raw_channel = channel.get();
    hooks.reconnect = [raw_channel](io::CardChannel&, bool) {
        raw_channel->card().reconnect(pcsc::Disposition::Leave);
    };
    hooks.progress = [&](const suite::Progress& p, std::size_t done, std::size_t total,
                         const std::string& card_type) {
        traces.step_started(p.suite_id, p.step_id);
        shared.board.update(title,
                            fmt::format("{} [{}/{}] {}: {}", card_type, done + p.index, total,
                                        p.suite_id, p.title_en),
                            true);
    };
    app::SessionResult ran = app::run_connected(*channel, request, hooks);
    outcome.card = ran.outcome.card;
    outcome.optional_steps = ran.outcome.optional_steps;
    const Bytes atr = session.card.atr;
    session.card = ran.session.card;
    if (!atr.empty())
        session.card.atr = atr; // as pcscd reported it when the session began
    session.suites = std::move(ran.session.suites);
    traces.attach(session); // [usblab hook]
    session.status = ran.session.status;
    session.cause = ran.session.cause;
    session.failure = ran.session.failure;
    if (session.failure == model::FailureKind::CardRemoved) {
        // A card that is back a moment later bounced (contacts), rather than being taken out.
        // Asking pcscd may fail now (it may have died): the session's steps are kept regardless.
        try {
            if (context.wait_for_card(reader, std::chrono::milliseconds(1500))) {
                const auto again = context.status_of(reader);
                outcome.card_back = again.state.present;
            }
        } catch (const Error&) {
        }
    }
    record(shared, std::move(session), outcome, title);
}

// Waits (bounded) until pcscd's state of `reader` shows the card the lab just put there: its
// event counter (SCardGetStatusChange, upper 16 bits) has counted the old card leaving and the new
// one arriving, or, for a card the reader cannot see, the reader is empty.
void await_swap(const pcsc::Context& context, const std::string& reader,
                const pcsc::ReaderStatus& before, bool visible) {
    const auto counter = [](const pcsc::ReaderStatus& s) { return s.state.raw >> 16U; };
    const unsigned events = (before.state.present ? 1U : 0U) + (visible ? 1U : 0U);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    pcsc::ReaderStatus s = context.status_of(reader);
    while (!(s.state.present == visible && ((counter(s) - counter(before)) & 0xFFFFU) >= events)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return; // the session finds what pcscd says then
        auto next = context.wait_for_change(s, left);
        if (!next)
            return;
        s = std::move(*next);
    }
}

// The matrix (issue 10): the lab gives the reader each card of plan::matrix_cells in turn, on
// the interface it is made for, and runs a session with each; the slot's own card comes first
// and is put back at the end. A reader that lacks the interface sees no card: that is its result
// for the cell (interface_not_supported), never a cell the lab did not try.
void run_matrix(Shared& shared, pcsc::Context& context, const std::string& reader) {
    const LabSlot slot = *shared.lab->slot_of(reader);
    const labd::Client client = lab_client(shared.lab->dir);
    const auto put = [&](const std::optional<std::string>& profile, const std::string& presented) {
        if (profile)
            client.insert(slot.slot, profile, slot.citizen, lab::interface_from_string(presented));
        else
            client.remove(slot.slot);
    };
    const auto cells = plan::matrix_cells(slot.card, slot.interface);
    std::optional<std::string> holds = slot.card;
    std::string presented = slot.interface;
    for (const auto& cell : cells) {
        if (cancel_requested)
            break;
        if (holds != cell.profile || presented != cell.presented) {
            shared.board.update(reader, fmt::format("the lab gives it the {} card ({})",
                                                    cell.profile, cell.presented));
            try {
                const auto before = context.status_of(reader);
                put(cell.profile, cell.presented);
                // pcscd sees a swap as events (the old card leaves, the new one arrives): wait
                // until its state has moved past the old card, so the session never meets the
                // card before. Where the model lacks the interface, the reader sees nothing.
                const auto* model = lab::find_model(shared.lab->models, slot.reader_model);
                const auto iface = lab::interface_from_string(cell.presented);
                const bool visible = model && iface && model->supports(*iface);
                await_swap(context, reader, before, visible);
            } catch (const UsageError&) {
                throw; // an unknown card profile: the installation, exit 2
            } catch (const std::exception& e) {
                const auto env = environment_now(shared);
                record_not_run(shared, reader,
                               env == model::FailureKind::None ? model::FailureKind::LabStopped
                                                               : env,
                               fmt::format("the lab could not change the card: {}", e.what()));
                return;
            }
            holds = cell.profile;
            presented = cell.presented;
        }
        run_session(shared, context, reader);
    }
    if (holds != slot.card || presented != slot.interface) {
        try {
            put(slot.card, slot.interface); // the lab as the run found it
        } catch (const std::exception& e) {
            shared.board.update(reader,
                                fmt::format("the slot's card could not be put back: {}", e.what()));
        }
    }
}

void run_reader(Shared& shared, const std::string& reader) {
    try {
        pcsc::Context context; // one PC/SC context per reader thread
        if (shared.matrix && shared.lab && shared.lab->slot_of(reader))
            run_matrix(shared, context, reader);
        else
            run_session(shared, context, reader);
    } catch (const EnvironmentError& e) {
        // pcscd could not be reached for this reader: the environment, never the reader.
        record_not_run(shared, reader, model::FailureKind::NoService,
                       fmt::format("PC/SC unavailable: {}", e.what()));
    } catch (const io::TransportError& e) {
        // The reader could not be asked at all (gone, or pcscd died under it): typed.
        model::Session session;
        session.reader.pcsc_name = reader;
        session.status = model::RunStatus::Incomplete;
        session.cause = fmt::format("reader unavailable: {}", e.what());
        session.failure =
            model::is_environment(io::kind_of(e)) ? io::kind_of(e) : model::FailureKind::None;
        session.card.card_type = "no_card";
        plan::Outcome outcome;
        outcome.reader.name = reader;
        outcome.card.card_type = "no_card";
        outcome.connect_failure = io::kind_of(e);
        outcome.connect_error = e.what();
        record(shared, std::move(session), outcome, reader);
    } catch (const std::exception& e) {
        model::Session session;
        session.reader.pcsc_name = reader;
        session.status = model::RunStatus::Incomplete;
        session.cause = fmt::format("error: {}", e.what());
        plan::Outcome outcome;
        outcome.reader.name = reader;
        outcome.card.card_type = "no_card";
        record(shared, std::move(session), outcome, reader); // untested: nothing blames the reader
    }
}

// --cards: one reader, the tester inserts each card in turn.
bool skip_pressed(bool& stdin_open) {
    if (!stdin_open)
        return false;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
        return false;
    char buffer[256];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n <= 0) {
        stdin_open = false;
        return false;
    }
    return std::find(buffer, buffer + n, '\n') != buffer + n;
}

void run_cards_in(Shared& shared, const std::string& reader,
                  const std::vector<std::string>& types) {
    pcsc::Context context;
    bool stdin_open = true;
    for (std::size_t i = 0; i < types.size(); ++i) {
        const std::string& type = types[i];
        if (cancel_requested)
            break;
        shared.board.say(fmt::format("Insert the {} card into \"{}\" (press Enter to skip it; "
                                     "waiting up to {} s)",
                                     type, reader, shared.options.card_timeout_s));
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::seconds(shared.options.card_timeout_s);
        bool present = false, skipped = false;
        while (!cancel_requested && std::chrono::steady_clock::now() < deadline) {
            if (context.wait_for_card(reader, std::chrono::milliseconds(300))) {
                present = true;
                break;
            }
            if (skip_pressed(stdin_open)) {
                skipped = true;
                break;
            }
        }
        if (!present) {
            const std::string why = skipped ? "skipped by the tester"
                                            : fmt::format("no card inserted within {} s",
                                                          shared.options.card_timeout_s);
            shared.board.say(fmt::format("{} card: {}", type, why));
            model::Session session;
            session.reader.pcsc_name = reader;
            session.status = model::RunStatus::Complete; // nothing was cut short
            session.cause = fmt::format("{} card {}", type, why);
            session.card.card_type = "no_card";
            plan::Outcome outcome;
            outcome.reader.name = reader;
            outcome.card.card_type = type;
            record(shared, std::move(session), outcome, reader);
            continue;
        }
        // Give the reader a moment to settle the ATR after insertion.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (shared.lab)
            if (auto fresh = read_lab(shared.lab->dir))
                shared.lab = std::move(fresh);
        shared.board.say(
            fmt::format("card inserted into \"{}\": running the {} card's suites", reader, type));
        run_session(shared, context, reader);
        if (i + 1 < types.size()) {
            shared.board.say(fmt::format("Remove the card from \"{}\" (waiting up to {} s)", reader,
                                         shared.options.card_timeout_s));
            context.wait_for_removal(reader, std::chrono::seconds(shared.options.card_timeout_s));
        }
    }
}

// --cards: pcscd lost while waiting for a card ends the run as the environment's failure (the
// sessions already stored stay; the run is finished, not left running).
void run_cards(Shared& shared, const std::string& reader, const std::vector<std::string>& types) {
    try {
        run_cards_in(shared, reader, types);
    } catch (const EnvironmentError& e) {
        shared.stop.request(Stop::Why::Environment, model::FailureKind::NoService,
                            fmt::format("PC/SC unavailable: {}", e.what()));
    } catch (const io::TransportError& e) {
        if (!model::is_environment(io::kind_of(e)))
            throw;
        shared.stop.request(Stop::Why::Environment, io::kind_of(e),
                            fmt::format("PC/SC unavailable: {}", e.what()));
    }
}

// ---- Output. ---------------------------------------------------------------------------------

Json failure_json(model::FailureKind kind) {
    return kind == model::FailureKind::None ? Json() : Json(model::to_string(kind));
}

Json run_json(const model::Run& run, const std::vector<Result>& results,
              const std::vector<std::string>& not_reached, std::size_t stored,
              const std::string& store_error) {
    Json suites = Json::array();
    for (const auto& s : run.suites)
        suites.push_back(Json{{"id", s.id}, {"content_hash", s.content_hash}});
    Json sessions = Json::array();
    Json verdicts = Json::array();
    for (const auto& result : results) {
        const auto& s = result.session;
        Json suite_results = Json::array();
        for (const auto& r : s.suites) {
            Json steps = Json::array();
            for (const auto& st : r.steps)
                steps.push_back(Json{{"id", st.step_id},
                                     {"group", st.group},
                                     {"title", st.title_en},
                                     {"action", st.action},
                                     {"verdict", model::to_string(st.verdict)},
                                     {"reason", st.reason_en},
                                     {"reason_ja", st.reason_ja},
                                     {"sw", st.sw ? Json(fmt::format("{:04X}", *st.sw)) : Json()},
                                     {"duration_us", st.duration_us},
                                     {"started_us", st.started_us ? Json(*st.started_us) : Json()},
                                     {"failure", failure_json(st.failure)},
                                     {"exchanges", st.exchanges.size()}});
            suite_results.push_back(Json{{"suite", r.suite.id}, {"steps", steps}});
        }
        sessions.push_back(
            Json{{"reader", s.reader.pcsc_name},
                 {"reader_model", s.reader.reader_model},
                 {"vid", s.reader.vid ? Json(fmt::format("{:04X}", *s.reader.vid)) : Json()},
                 {"pid", s.reader.pid ? Json(fmt::format("{:04X}", *s.reader.pid)) : Json()},
                 {"bcd_device",
                  s.reader.bcd_device ? Json(fmt::format("{:04X}", *s.reader.bcd_device)) : Json()},
                 {"card_id", s.card.card_id.empty() ? Json() : Json(s.card.card_id)},
                 {"card_type", s.card.card_type},
                 {"interface", s.card.interface},
                 {"emulated", s.card.emulated},
                 {"test_card", s.card.test_card},
                 {"status", model::to_string(s.status)},
                 {"cause", s.cause},
                 {"failure", failure_json(s.failure)},
                 {"stored", result.stored},
                 {"suites", suite_results}});
        const auto& v = result.verdict;
        verdicts.push_back(Json{{"reader", v.reader},
                                {"reader_model", v.reader_model},
                                {"card_type", v.card_type},
                                {"interface", v.interface},
                                {"verdict", model::to_string(v.verdict)},
                                {"diagnosis", v.diagnosis_en},
                                {"diagnosis_ja", v.diagnosis_ja},
                                {"causes", v.causes},
                                {"stored", result.stored}});
    }
    return Json{{"uuid", run.uuid},
                {"started_at", run.started_at},
                {"ended_at", run.ended_at},
                {"status", model::to_string(run.status)},
                {"cause", run.cause},
                {"lab", run.lab},
                {"owner", Json{{"host", run.owner.host}, {"pid", run.owner.pid}}},
                {"environment", Json{{"host", run.environment.host},
                                     {"os", run.environment.os},
                                     {"pcsclite_version", run.environment.pcsclite_version},
                                     {"libccid_version", run.environment.libccid_version},
                                     {"harness_version", run.environment.harness_version}}},
                {"stored_sessions", stored},
                {"not_run", not_reached},
                {"store_error", store_error.empty() ? Json() : Json(store_error)},
                {"suites", suites},
                {"sessions", sessions},
                {"verdicts", verdicts}};
}

void print_summary(const model::Run& run, const std::vector<Result>& results,
                   const std::vector<std::string>& not_reached, const std::string& db,
                   std::size_t stored, const std::string& store_error, bool run_row_final) {
    std::size_t width = 6;
    for (const auto& r : results)
        width = std::max(width, r.verdict.reader.size());
    fmt::print("\n{:<{}}  {:<9} {:<12} {:<12} {}\n", "reader", width, "card", "interface",
               "verdict", "diagnosis");
    for (const auto& r : results) {
        const auto& v = r.verdict;
        fmt::print("{:<{}}  {:<9} {:<12} {:<12} {}{}\n", v.reader, width, v.card_type, v.interface,
                   model::to_string(v.verdict), v.diagnosis_en, r.stored ? "" : " [NOT stored]");
    }
    for (const auto& r : not_reached)
        fmt::print("{:<{}}  not run: the run stopped first\n", r, width);
    // Say exactly what the database holds: never "stored" for what was not.
    if (store_error.empty() && stored == results.size() && run_row_final) {
        fmt::print("\nrun {} ({}) stored in {}\n", run.uuid, model::to_string(run.status), db);
        return;
    }
    fmt::print("\nrun {} ({}): {} of {} sessions stored in {}\n", run.uuid,
               model::to_string(run.status), stored, results.size(), db);
    if (!store_error.empty())
        fmt::print("NOT stored: {} session(s); the database could not be written: {}\n",
                   results.size() - stored, store_error);
    if (!run_row_final)
        fmt::print("the run's end could not be recorded: it stays \"running\" in {} until the "
                   "next `run` on it marks it interrupted\n",
                   db);
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

// Where the run locks of these readers live: the lab's folder, or the station state folder for
// hardware readers (keyed by pcscd socket and reader name: a private test pcscd is another one).
struct LockPlace {
    fs::path dir;
    std::string prefix;
};

LockPlace lock_place(const std::optional<LabView>& lab) {
    if (lab)
        return {fs::path(lab->dir) / "locks", "reader:"};
    const char* sock = std::getenv("PCSCLITE_CSOCK_NAME");
    return {io::paths::state_dir() / "locks",
            fmt::format("reader:{}|", sock ? sock : "/run/pcscd/pcscd.comm")};
}

int run_command(const RunOptions& options) {
    if (!options.reader.empty() && options.all)
        throw UsageError("--reader and --all exclude each other");
    const auto card_types = split_list(options.cards);
    for (const auto& t : card_types)
        if (t != "mynumber" && t != "juki" && t != "transport")
            throw UsageError(
                fmt::format("--cards: unknown card type \"{}\" (mynumber, juki, transport)", t));
    if (!card_types.empty() && options.all)
        throw UsageError("--cards runs one reader: use --reader NAME, not --all");
    if (options.matrix && options.no_matrix)
        throw UsageError("--matrix and --no-matrix exclude each other");
    if (options.matrix && !card_types.empty())
        throw UsageError("--matrix swaps the lab's cards; --cards asks a person for them");
    if (options.usb && !options.lab)
        throw UsageError("--usb goes with --lab (a running lab says its own driver)");
    if (options.usb)
        labccid::reexec_under_preload(); // the lab's USB devices send uevents only under it

    // PINs: file, then environment (never a command-line argument).
    suite::PinSource pins;
    if (!options.pins_file.empty())
        pins = suite::load_pin_file(options.pins_file);
    pins.merge(suite::pins_from_environment());

    const SuiteSet suites = load_suites(options.suites);

    // From here on SIGINT/SIGTERM end the run cleanly: the sessions stop, what ran is stored, and
    // a lab started for the run (--lab) is stopped by ~OwnedLab.
    std::signal(SIGINT, on_cancel_signal);
    std::signal(SIGTERM, on_cancel_signal);

    // The database first: a corrupt file is refused before anything starts, and runs whose
    // process died are marked interrupted.
    const auto owner_gone = [](const model::RunOwner& owner) {
        return io::liveness(owner) == io::Liveness::Gone;
    };
    store::Store db(options.db, store::Access::ReadWrite, owner_gone);
    db.check_integrity();
    for (const auto& stale : db.mark_interrupted())
        fmt::print(stderr,
                   "cardharness: run {} (started {}) was interrupted ({}); marked so in {}\n",
                   stale.uuid, stale.started_at, io::describe(stale.owner), options.db);

    model::Run run;
    run.uuid = new_uuid();
    run.started_at = now_iso();
    const auto run_start = std::chrono::steady_clock::now(); // steps' started_us count from here
    run.owner = io::current_process();
    const io::LockHolder me{run.owner, run.started_at, run.uuid};

    std::string lab_dir = options.lab_dir;
    if (lab_dir.empty())
        lab_dir = io::paths::default_lab_dir().string();
    io::RunLocks locks;
    std::unique_ptr<OwnedLab> lab_run; // stopped when the run ends; ends with us on kill -9
    if (options.lab) {
        locks.acquire(fs::path(lab_dir) / "locks", "lab", fmt::format("the lab in {}", lab_dir),
                      me);
        LabSpecRequest request;
        request.dir = lab_dir;
        request.usb = options.usb;
        lab_run = std::make_unique<OwnedLab>(request);
        ::setenv("PCSCLITE_CSOCK_NAME", lab_run->pcsc_socket().c_str(), 1);
        if (cancel_requested)
            throw EnvironmentError("interrupted (signal) while the lab started; it is stopped");
    }
    std::optional<LabView> lab = read_lab(lab_dir);
    if (lab && !options.lab) {
        // A running lab describes these readers only when we talk to its pcscd.
        const char* sock = std::getenv("PCSCLITE_CSOCK_NAME");
        if (!sock || lab->socket != sock)
            lab.reset();
    }

    pcsc::Context context; // exit 3 when pcscd cannot be reached
    std::vector<std::string> readers = context.list_readers();
    if (readers.empty())
        throw EnvironmentError("no PC/SC readers found: plug a reader in (pcscd lists none)");
    if (!options.reader.empty()) {
        if (std::find(readers.begin(), readers.end(), options.reader) == readers.end()) {
            std::string available;
            for (const auto& r : readers)
                available += fmt::format("\n  {}", r);
            throw UsageError(fmt::format("unknown reader \"{}\"; available readers:{}",
                                         options.reader, available));
        }
        readers = {options.reader};
    } else if (!options.all && readers.size() > 1) {
        std::string available;
        for (const auto& r : readers)
            available += fmt::format("\n  {}", r);
        throw UsageError(fmt::format("{} readers: choose one with --reader NAME, or --all:{}",
                                     readers.size(), available));
    }

    // One run at a time per reader (and so per lab): taken before any session starts; a second
    // run exits 3 here, naming the holder.
    {
        const LockPlace place = lock_place(lab);
        std::vector<std::string> sorted = readers;
        std::sort(sorted.begin(), sorted.end());
        for (const auto& r : sorted)
            locks.acquire(place.dir, place.prefix + r, fmt::format("reader \"{}\"", r), me);
    }

    // Prompt (no echo, terminal only) for PINs the physical cards' suites would need.
    if (::isatty(STDIN_FILENO) == 1 && !lab) {
        for (auto p : {suite::PinName::Auth, suite::PinName::Sign}) {
            if (pins.has(p))
                continue;
            if (auto value = suite::prompt_pin(p))
                pins.set(p, std::move(*value));
        }
    }

    // Station state (issue 8): the key of card ids and markers, and the failed-PIN memory.
    io::StationKey station_key = io::load_station_key(io::paths::state_dir());
    const auto failed_pins = std::make_shared<io::FilePinFailureMemory>(io::paths::state_dir());
    run.environment = host::run_environment(CARDHARNESS_VERSION);
    run.lab = lab.has_value();
    for (const auto& [id, s] : suites.loaded)
        run.suites.push_back(model::SuiteRef{id, s.suite.content_hash});
    db.begin_run(run); // visible as "running" from now on: an interrupted run stays visible

    ProgressBoard board(options.quiet);
    Stop stop;
    Sink sink(db, run.uuid, stop);
    Shared shared{options,     suites, lab,  pins, std::nullopt, std::move(station_key),
                  failed_pins, board,  sink, stop, {},           {},
                  {},          {}};
    // The matrix by default when the lab is this run's own (`run --lab --all`): its cards are ours
    // to swap. A lab that runs already is tested with the cards it holds unless --matrix.
    shared.run_start = run_start;
    shared.matrix = lab && card_types.empty() &&
                    (options.matrix || (options.lab && options.all && !options.no_matrix));
    if (options.matrix && !lab)
        throw UsageError("--matrix needs a lab (--lab, or a running lab's PCSCLITE_CSOCK_NAME): "
                         "on hardware, --cards mynumber,juki asks for each card");
    if (lab) {
        try {
            shared.persona = emu::load_persona(profiles_dir() / "cards" / "persona.csv");
        } catch (const Error&) {
        }
    }

    if (!card_types.empty()) {
        board.add(readers.front());
        run_cards(shared, readers.front(), card_types);
    } else {
        for (const auto& r : readers)
            board.add(r);
        // Lab readers spend their time waiting for emulated cards, not on the CPU: a lab run
        // tests every reader at once unless --jobs says otherwise (hardware: 4 at once).
        const std::size_t default_jobs = shared.lab ? readers.size() : std::size_t{4};
        const std::size_t jobs = std::min<std::size_t>(
            readers.size(),
            options.jobs > 0 ? static_cast<std::size_t>(options.jobs) : default_jobs);
        std::atomic<std::size_t> next{0};
        std::vector<std::thread> workers;
        for (std::size_t i = 0; i < std::max<std::size_t>(jobs, 1); ++i)
            workers.emplace_back([&] {
                for (std::size_t k = next++; k < readers.size(); k = next++) {
                    if (cancel_requested)
                        break;
                    run_reader(shared, readers[k]);
                }
            });
        for (auto& w : workers)
            w.join();
    }
    if (stop.why() == Stop::Why::None && cancel_requested)
        stop.request(Stop::Why::Signal, model::FailureKind::None, "interrupted (signal)");
    // Readers the run never reached: untested, with the reason the run stopped (stored unless the
    // database is what failed).
    if (stop.why() == Stop::Why::Environment || stop.why() == Stop::Why::Signal)
        for (const auto& r : card_types.empty() ? readers : std::vector<std::string>{})
            if (shared.reached.count(r) == 0)
                record_not_run(shared, r, stop.kind(),
                               fmt::format("not run: the run stopped ({})", stop.message()));
    OPENSSL_cleanse(shared.key.bytes.data(), shared.key.bytes.size());

    // Results in reader order (threads finish in any order).
    auto order = [&](const std::string& reader) {
        return std::find(readers.begin(), readers.end(), reader) - readers.begin();
    };
    std::stable_sort(
        shared.results.begin(), shared.results.end(), [&](const Result& a, const Result& b) {
            return order(a.session.reader.pcsc_name) < order(b.session.reader.pcsc_name);
        });
    for (const auto& r : shared.results) {
        run.sessions.push_back(r.session);
        run.verdicts.push_back(r.verdict);
    }
    run.ended_at = now_iso();
    run.status = model::RunStatus::Complete;
    std::vector<std::string> causes;
    if (stop.why() != Stop::Why::None)
        causes.push_back(stop.why() == Stop::Why::Signal ? "interrupted (signal)"
                                                         : "stopped: " + stop.message());
    std::size_t not_run = 0;
    for (const auto& s : run.sessions) {
        if (s.status == model::RunStatus::Complete)
            continue;
        if (shared.not_run.count(s.reader.pcsc_name) != 0) {
            ++not_run;
            continue;
        }
        const std::string cause = fmt::format("{}: {}", s.reader.pcsc_name, s.cause);
        if (std::find(causes.begin(), causes.end(), cause) == causes.end() &&
            cause != stop.message())
            causes.push_back(cause);
    }
    if (not_run > 0)
        causes.push_back(fmt::format("{} reader{} not run", not_run, not_run == 1 ? "" : "s"));
    if (!causes.empty()) {
        run.status = model::RunStatus::Incomplete;
        run.cause = fmt::format("{}", fmt::join(causes, "; "));
    }
    const std::string store_error = sink.error();
    bool run_row_final = true;
    try {
        db.finish_run(run.uuid, run.status, run.cause, run.ended_at);
    } catch (const std::exception& e) {
        // The database failed (again): the run row stays "running"; the next run marks it.
        run_row_final = false;
        fmt::print(stderr, "cardharness: {}\n", e.what());
    }

    // Readers without any result (the database failed before they could be recorded).
    std::vector<std::string> not_reached;
    for (const auto& r : readers)
        if (std::none_of(shared.results.begin(), shared.results.end(),
                         [&](const Result& x) { return x.session.reader.pcsc_name == r; }))
            not_reached.push_back(r);
    if (options.json)
        fmt::print("{}\n",
                   run_json(run, shared.results, not_reached, sink.stored(), store_error).dump(2));
    else
        print_summary(run, shared.results, not_reached, options.db, sink.stored(), store_error,
                      run_row_final);

    bool environment_failed =
        !store_error.empty() || !run_row_final || stop.why() == Stop::Why::Environment;
    for (const auto& s : run.sessions)
        environment_failed = environment_failed || model::is_environment(s.failure);
    if (environment_failed) {
        if (!store_error.empty() || !run_row_final)
            fmt::print(stderr,
                       "cardharness: the results database failed: {}; {} of {} session(s) NOT "
                       "stored\n",
                       store_error.empty() ? "the run's end could not be recorded" : store_error,
                       shared.results.size() - sink.stored(), shared.results.size());
        else
            fmt::print(stderr,
                       "cardharness: the environment failed ({}); the sessions it cut short are "
                       "untested, not a reader result\n",
                       stop.message());
        return exit_code::environment;
    }
    bool all_compatible = !run.verdicts.empty();
    for (const auto& v : run.verdicts)
        all_compatible = all_compatible && v.verdict == Compatibility::Compatible;
    return all_compatible ? exit_code::ok : exit_code::failure;
}

} // namespace

void add_run_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<RunOptions>();
    auto* cmd = app.add_subcommand(
        "run", "Run the conformance suites on readers and cards, store the results and judge "
               "each reader × card type × interface (compatible / partial / incompatible / "
               "untested, with a diagnosis)");
    cmd->add_flag("--lab", options->lab,
                  "Start the default virtual lab for the run and stop it after (needs root)");
    cmd->add_flag("--usb", options->usb,
                  "With --lab: the lab's readers are USB CCID devices driven by the system's "
                  "CCID driver (libccid), as `lab start --usb`");
    cmd->add_option("--lab-dir", options->lab_dir,
                    "Lab state folder (default $CARDHARNESS_LAB_DIR or results/lab)");
    cmd->add_option("--reader", options->reader, "Only this PC/SC reader (exact name)");
    cmd->add_flag("--all", options->all, "Every reader pcscd lists, in parallel");
    cmd->add_option("--suite", options->suites,
                    "Run this suite (repeatable; default: chosen by the identified card)");
    cmd->add_option("--pins", options->pins_file,
                    "PIN file: CSV with a `pin,value` header, names auth, sign, text, juki "
                    "(also $CARDHARNESS_PIN_AUTH …; PINs are never command-line arguments)");
    cmd->add_option("--test-card", options->test_cards,
                    "Declare a physical card a test card by its strong anonymous id (cert-…, from "
                    "identify); a weak id (atr-…, e.g. any Juki card) is refused")
        ->check(CLI::Validator(
            [](std::string& id) { return identify::test_card_id_problem(id).value_or(""); },
            "CARD_ID"));
    cmd->add_option("--db", options->db,
                    "Results database (default " + io::paths::default_database().string() + ")");
    add_jobs_option(*cmd, options->jobs,
                    "Readers run at once with --all (default: every reader of a lab; 4 on "
                    "hardware)");
    cmd->add_flag("--json", options->json, "Print the run as JSON");
    cmd->add_flag("--quiet", options->quiet, "No progress lines: only the summary at the end");
    cmd->add_flag("--matrix", options->matrix,
                  "Lab: test every reader with every card it could take (My Number and Juki, "
                  "contact and contactless), the lab swapping cards between sessions (default "
                  "with --lab --all)");
    cmd->add_flag("--no-matrix", options->no_matrix,
                  "Lab: test each reader only with the card its slot holds");
    cmd->add_option("--cards", options->cards,
                    "With one reader: ask for each card in turn, e.g. mynumber,juki");
    cmd->add_option("--card-timeout", options->card_timeout_s,
                    "Seconds to wait for each card with --cards (default 120)")
        ->check(CLI::Range(1, 3600));
    cmd->add_option("--min-tries-left", options->min_tries_left,
                    "PIN guard: tries that must remain before a VERIFY (at least 2)")
        ->check(CLI::Range(2, 16));
    cmd->callback([options, &context] { context.exit_code = run_command(*options); });
}

} // namespace harness::cli
