// `run`'s reader threads (cli/run_session.hpp).
#include "cli/run_session.hpp"

#include "app/session.hpp"
#include "backends/pcsc/context.hpp"
#include "backends/pcsc/pcsc_channel.hpp"
#include "backends/pcsc/reader_info.hpp"
#include "cli/json_common.hpp"
#include "cli/json_usb.hpp"
#include "cli/lab_spec.hpp"
#include "cli/run_ccid_trace.hpp"
#include "cli/test_card_pins.hpp"
#include "cli/usb_facts.hpp"
#include "io/failure_kind.hpp"
#include "pure/ccid.hpp"
#include "pure/error.hpp"
#include "services/lab/reader_model.hpp"
#include "services/plan/plan.hpp"
#include "services/plan/verdict.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <thread>
#include <unistd.h>

namespace harness::cli {
namespace {
// How long a reader still listed after a link failure is watched for pcscd dropping it.
constexpr std::chrono::milliseconds reader_gone_wait{200};

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

// Did the environment fail under this session? Asked after a session met a transport failure or
// ended early: a reader is never blamed for a lab that stopped or a pcscd that died. In a lab run
// the lab's pcscd dies with the lab (and the lab stops within 100 ms when its pcscd dies), so a
// pcscd that cannot be reached is asked about again after a moment: gone lab → LabStopped.
model::FailureKind environment_now(const RunShared& shared) {
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

// Did pcscd drop the reader? pcscd learns of an unplug from its hotplug thread a moment after
// the driver's first failed transfer, so a reader still listed is watched for a short while.
bool reader_unplugged(const std::string& reader) {
    try {
        const pcsc::Context context;
        return context.wait_for_reader_gone(reader, reader_gone_wait);
    } catch (const EnvironmentError&) {
    } catch (const pcsc::PcscError&) {
    }
    return false;
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

void record(RunShared& shared, model::Session session, const plan::Outcome& outcome_in,
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
    // An unplugged reader's last exchanges fail as plain link errors (libccid: the USB device is
    // gone, IFD_COMMUNICATION_ERROR) before pcscd drops the reader; when no later step met the
    // loss itself, pcscd is asked whether the reader is still there. Gone: incomplete, untested.
    if (session.failure == model::FailureKind::None && plan::ends_on_link_failure(session) &&
        reader_unplugged(session.reader.pcsc_name)) {
        session.failure = model::FailureKind::ReaderGone;
        session.status = model::RunStatus::Incomplete;
        session.cause = fmt::format("{} after the session's last link failure (pcscd dropped it)",
                                    model::to_string(model::FailureKind::ReaderGone));
    }
    // A session the run's stop cut short carries the stop's environment kind: untested for the
    // environment (or the disk), never for the reader.
    if (session.status == model::RunStatus::Incomplete &&
        session.failure == model::FailureKind::None &&
        (shared.stop.why() == RunStop::Why::Environment ||
         shared.stop.why() == RunStop::Why::Store))
        session.failure = shared.stop.kind();
    if (model::is_environment(session.failure))
        shared.stop.request(RunStop::Why::Environment, session.failure,
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

} // namespace

// A session that could not begin because the environment (or the run) stopped first.
void record_not_run(RunShared& shared, const std::string& reader, model::FailureKind failure,
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

namespace {

// What the lab says the slot holds now (issue 8: never the snapshot taken when the run started):
// the card, and the interface it is presented on (a matrix run swaps both).
std::optional<LabSlot> fresh_slot(const RunShared& shared, const std::string& reader) {
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

std::optional<suite::LabSlotFacts> fresh_slot_facts(const RunShared& shared,
                                                    const std::string& reader) {
    const auto slot = fresh_slot(shared, reader);
    if (!slot)
        return std::nullopt;
    return suite::LabSlotFacts{slot->card, slot->citizen, slot->generation};
}

// Runs everything on the card now in `reader`. `expected_card` is set in the lab when the slot
// holds a card (so a card the reader does not see is a finding, not an empty reader).
void run_session(RunShared& shared, pcsc::Context& context, const std::string& reader) {
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

    pcsc::Connection connection = pcsc::connect_channel(context, reader);
    std::unique_ptr<pcsc::PcscChannel> channel = std::move(connection.channel);
    outcome.connect_failure = connection.failure;
    outcome.connect_error = connection.error;
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
            return test_card_pins(shared.persona, card_type);
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
    hooks.cancel = &shared.cancel;
    pcsc::PcscChannel* raw_channel = channel.get();
    hooks.reconnect = [raw_channel](io::CardChannel&, bool) {
        raw_channel->card().reconnect(pcsc::Disposition::Leave);
    };
    hooks.progress = [&](const suite::Progress& p, std::size_t done, std::size_t total,
                         const std::string& card_type) {
        traces.step_started(p.suite_id, p.step_id);
        if (shared.board.shows_updates()) // a line per step: not formatted for nobody
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
void run_matrix(RunShared& shared, pcsc::Context& context, const std::string& reader) {
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
        if (shared.cancel)
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

} // namespace

void run_reader(RunShared& shared, const std::string& reader) {
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

namespace {

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

void run_cards_in(RunShared& shared, const std::string& reader,
                  const std::vector<std::string>& types) {
    pcsc::Context context;
    bool stdin_open = true;
    for (std::size_t i = 0; i < types.size(); ++i) {
        const std::string& type = types[i];
        if (shared.cancel)
            break;
        shared.board.say(fmt::format("Insert the {} card into \"{}\" (press Enter to skip it; "
                                     "waiting up to {} s)",
                                     type, reader, shared.options.card_timeout_s));
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::seconds(shared.options.card_timeout_s);
        bool present = false, skipped = false;
        while (!shared.cancel && std::chrono::steady_clock::now() < deadline) {
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

} // namespace

// --cards: pcscd lost while waiting for a card ends the run as the environment's failure (the
// sessions already stored stay; the run is finished, not left running).
void run_cards(RunShared& shared, const std::string& reader,
               const std::vector<std::string>& types) {
    try {
        run_cards_in(shared, reader, types);
    } catch (const EnvironmentError& e) {
        shared.stop.request(RunStop::Why::Environment, model::FailureKind::NoService,
                            fmt::format("PC/SC unavailable: {}", e.what()));
    } catch (const io::TransportError& e) {
        if (!model::is_environment(io::kind_of(e)))
            throw;
        shared.stop.request(RunStop::Why::Environment, io::kind_of(e),
                            fmt::format("PC/SC unavailable: {}", e.what()));
    }
}

} // namespace harness::cli
