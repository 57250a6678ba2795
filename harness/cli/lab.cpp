// cardharness lab start|status|insert|remove|reset|stop: the virtual lab (emulated cards behind
// emulated readers, served to a real pcscd through our reader driver libifdcardharness.so).
#include "backends/lab/lab_client.hpp"
#include "cli/commands.hpp"
#include "cli/lab_ccid.hpp"
#include "cli/lab_spec.hpp"
#include "services/lab/reader_model.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace harness::cli {
namespace {

using Json = nlohmann::ordered_json;

struct Options {
    std::string dir;
    std::string lab_file;
    std::string driver;
    bool system_pcscd = false;
    bool foreground = false;
    bool pcscd_debug = false;
    bool json = false;
    std::string slot;
    std::string card;
    std::string interface; // lab insert --interface
    bool citizen = false;
    int owner_pid = 0;
    std::vector<std::string> reader_confs;
    bool usb = false; // `lab start --usb`: USB CCID devices + the system's libccid
};

void start(const Options& o, Context& context) {
    if (o.usb && !o.system_pcscd)
        labccid::reexec_under_preload(); // umockdev sends uevents only under its preload
    LabSpecRequest request;
    request.dir = o.dir;
    request.lab_file = o.lab_file;
    request.driver = o.driver;
    request.system_pcscd = o.system_pcscd;
    request.pcscd_debug = o.pcscd_debug;
    request.extra_reader_confs = o.reader_confs;
    request.usb = o.usb;
    const labd::Client client = lab_client(o.dir);
    labd::LabSpec spec = make_lab_spec(request);
    labd::StartOptions options;
    if (o.owner_pid > 0)
        options.owner_pid = o.owner_pid;
    options.foreground = o.foreground;
    if (o.usb)
        options.keep_fds = labccid::preload_fds();
    const auto announce = [&](const std::string& socket, std::size_t readers,
                              const nlohmann::ordered_json& extra) {
        fmt::print("export PCSCLITE_CSOCK_NAME={}\n", socket);
        for (const auto& [name, value] : labccid::usb_environment(extra))
            fmt::print("export {}={}\n", name, value); // a --usb lab: what libusb clients need
        std::fflush(stdout);
        fmt::print(stderr, "cardharness: lab up with {} readers (dir {}, log {})\n", readers,
                   client.folder().dir.string(), client.folder().log().string());
    };
    const std::size_t readers = spec.slots.size();
    if (o.foreground)
        options.on_ready = [&](const std::string& socket) {
            const auto state = client.running();
            announce(socket, readers, state ? state->extra : nlohmann::ordered_json::object());
        };
    const labd::StartResult result = client.start(std::move(spec), options);
    if (result.cleaned_stale)
        fmt::print(stderr, "cardharness: removed the leftovers of a lab that had ended in {}\n",
                   client.folder().dir.string());
    if (o.foreground) {
        context.exit_code = result.exit_code;
        return;
    }
    announce(result.pcsc_socket, result.readers, result.extra);
}

Json slot_json(const labd::SlotInfo& info) {
    const lab::SlotStatus& s = info.status;
    Json pins = Json::object();
    for (const auto& [name, left] : s.pins)
        pins[name] = left;
    Json out{{"slot", s.slot},
             {"pcsc_reader", s.pcsc_reader},
             {"reader_model", s.reader_model},
             {"interface", lab::to_string(s.interface)},
             {"card", s.card ? Json(*s.card) : Json(nullptr)},
             {"citizen", s.citizen},
             {"pins", pins},
             {"opened", s.opened},
             {"usb",
              {{"vendor_id", fmt::format("{:04x}", info.usb.vendor_id)},
               {"product_id", fmt::format("{:04x}", info.usb.product_id)},
               {"bcd_device", fmt::format("{:04x}", info.usb.bcd_device)},
               {"manufacturer", info.usb.manufacturer},
               {"product", info.usb.product},
               {"serial", info.usb.serial}}}};
    out["generation"] = s.generation;
    if (info.pcsc_reader_prefix)
        out["pcsc_reader_prefix"] = *info.pcsc_reader_prefix;
    for (const auto& [key, value] : info.device.items())
        out[key] = value;
    return out;
}

void status(const Options& o) {
    labd::LabStatus st = lab_client(o.dir).status();
    if (st.extra.value("driver", "cardharness") == "ccid") // the names pcscd gave libccid's readers
        labccid::resolve_reader_names(st.slots, st.pcsc_socket);
    if (o.json) {
        Json out;
        out["socket"] = st.pcsc_socket;
        out["lab_socket"] = st.lab_socket;
        out["dir"] = st.dir.string();
        out["pid"] = st.pid;
        out["pcscd_pid"] = st.pcscd_pid;
        out["system_pcscd"] = st.system_pcscd;
        out["driver"] = st.extra.value("driver", "cardharness");
        out["driver_name"] = st.extra.value("driver_name", "cardharness lab driver");
        if (st.extra.contains("usb_environment"))
            out["usb_environment"] = st.extra["usb_environment"];
        if (st.owner_pid)
            out["owner_pid"] = *st.owner_pid;
        out["slots"] = Json::array();
        for (const auto& slot : st.slots)
            out["slots"].push_back(slot_json(slot));
        fmt::print("{}\n", out.dump(2));
        return;
    }
    fmt::print("lab in {} (pid {}{}); export PCSCLITE_CSOCK_NAME={}\n", st.dir.string(), st.pid,
               st.owner_pid ? fmt::format(", ends with pid {}", *st.owner_pid) : "",
               st.pcsc_socket);
    fmt::print("{:<5} {:<34} {:<18} {:<8} {:<22} {}\n", "slot", "PC/SC reader", "model",
               "interface", "card", "PIN tries left");
    for (const auto& info : st.slots) {
        const lab::SlotStatus& s = info.status;
        std::string pins;
        for (const auto& [name, left] : s.pins)
            pins += fmt::format("{}{}={}", pins.empty() ? "" : " ", name, left);
        std::string card = s.card.value_or("-");
        if (s.citizen)
            card += " (citizen)";
        fmt::print("{:<5} {:<34} {:<18} {:<8} {:<22} {}\n", s.slot, s.pcsc_reader, s.reader_model,
                   lab::to_string(s.interface), card, pins);
    }
}

void stop(const Options& o) {
    const labd::Client client = lab_client(o.dir);
    const labd::StopResult result = client.stop();
    fmt::print(stderr, "cardharness: lab in {} {}\n", client.folder().dir.string(),
               result.was_running ? "stopped" : "had ended; its leftovers are removed");
}

} // namespace

void add_lab_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<Options>();
    auto* lab =
        app.add_subcommand("lab", "Run the virtual lab: emulated readers and cards behind a "
                                  "real pcscd");
    lab->require_subcommand(1);
    const auto add_dir = [&](CLI::App* cmd) {
        cmd->add_option("--dir", options->dir,
                        "Lab state folder (default $CARDHARNESS_LAB_DIR or results/lab)");
    };

    auto* start_cmd = lab->add_subcommand(
        "start", "Start the lab process and a private pcscd with one reader per lab slot; prints "
                 "the PCSCLITE_CSOCK_NAME to export (needs root)");
    add_dir(start_cmd);
    start_cmd->add_option("--lab", options->lab_file,
                          "Lab file (default profiles/labs/default.csv)");
    start_cmd->add_flag("--system-pcscd", options->system_pcscd,
                        "Register the readers with the system pcscd instead (writes "
                        "/etc/reader.conf.d/cardharness-lab.conf and restarts pcscd)");
    start_cmd->add_option(
        "--driver", options->driver,
        "Reader driver (default $CARDHARNESS_IFD_DRIVER or ../lib/libifdcardharness.so)");
    start_cmd->add_flag("--foreground", options->foreground,
                        "Run the lab in this process (debugging)");
    start_cmd->add_flag("--pcscd-debug", options->pcscd_debug,
                        "Run pcscd with -d (logs in the lab dir)");
    start_cmd
        ->add_option("--owner-pid", options->owner_pid,
                     "The lab belongs to this process: it stops (with its pcscd) when that "
                     "process ends, also on kill -9")
        ->check(CLI::PositiveNumber);
    start_cmd->add_option("--reader-conf", options->reader_confs,
                          "Also load the readers of this reader.conf file into the lab's private "
                          "pcscd (repeatable; e.g. a vpcd reader to compare the lab readers with)");
    start_cmd->add_flag("--usb", options->usb,
                        "Serve the readers as emulated USB CCID devices (umockdev) to the system's "
                        "CCID driver (libccid) instead of our reader driver; prints the USB "
                        "environment (LD_PRELOAD, UMOCKDEV_DIR) too");
    start_cmd->callback([options, &context] { start(*options, context); });

    auto* status_cmd =
        lab->add_subcommand("status", "Show the lab's slots, cards and PIN tries left");
    add_dir(status_cmd);
    status_cmd->add_flag("--json", options->json, "JSON output");
    status_cmd->callback([options] { status(*options); });

    auto* insert_cmd = lab->add_subcommand("insert", "Insert a card into a slot");
    add_dir(insert_cmd);
    insert_cmd->add_option("slot", options->slot, "Slot id (see lab status)")->required();
    insert_cmd->add_option("--card", options->card, "Card profile (default: the slot's card)");
    insert_cmd->add_flag("--citizen", options->citizen,
                         "The card stands for a citizen's card (the PIN guard applies)");
    insert_cmd
        ->add_option("--interface", options->interface,
                     "How the card is presented: contact, type_a, type_b (default: the slot's)")
        ->check(CLI::IsMember({"contact", "type_a", "type_b"}));
    insert_cmd->callback([options] {
        lab_client(options->dir)
            .insert(options->slot,
                    options->card.empty() ? std::nullopt : std::optional(options->card),
                    options->citizen,
                    options->interface.empty() ? std::nullopt
                                               : lab::interface_from_string(options->interface));
    });

    auto* remove_cmd =
        lab->add_subcommand("remove", "Remove the card from a slot (also mid-command)");
    add_dir(remove_cmd);
    remove_cmd->add_option("slot", options->slot, "Slot id")->required();
    remove_cmd->callback([options] { lab_client(options->dir).remove(options->slot); });

    auto* reset_cmd =
        lab->add_subcommand("reset", "Restore every card's state (PIN retry counters)");
    add_dir(reset_cmd);
    reset_cmd->callback([options] { lab_client(options->dir).reset(); });

    // [usblab hook] hot-unplug / re-plug the USB device of a slot (`lab start --usb`)
    auto* unplug_cmd = lab->add_subcommand(
        "unplug", "Hot-remove the USB device that holds a slot (labs started with --usb)");
    add_dir(unplug_cmd);
    unplug_cmd->add_option("slot", options->slot, "Slot id")->required();
    unplug_cmd->callback([options] { lab_client(options->dir).unplug(options->slot); });
    auto* plug_cmd = lab->add_subcommand(
        "plug", "Plug the USB device of a slot back in (labs started with --usb)");
    add_dir(plug_cmd);
    plug_cmd->add_option("slot", options->slot, "Slot id")->required();
    plug_cmd->callback([options] { lab_client(options->dir).plug(options->slot); });

    auto* stop_cmd = lab->add_subcommand("stop", "Stop pcscd and the lab process");
    add_dir(stop_cmd);
    stop_cmd->callback([options] { stop(*options); });
}

} // namespace harness::cli
