// cardharness lab start|status|insert|remove|reset|stop: the virtual lab (emulated cards behind
// emulated readers, served to a real pcscd through our reader driver libifdcardharness.so).
#include "services/lab/lab.hpp"

#include "backends/lab/lab_process.hpp"
#include "backends/lab/lab_socket.hpp"
#include "cli/commands.hpp"
#include "cli/lab_ccid.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"
#include "services/emu/card.hpp"
#include "services/lab/lab_config.hpp"
#include "services/lab/reader_model.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace harness::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::size_t max_pcscd_readers = 16; // pcsc-lite PCSCLITE_MAX_READERS_CONTEXTS
const char* system_conf = "/etc/reader.conf.d/cardharness-lab.conf";

struct Paths {
    fs::path dir;
    fs::path socket() const { return dir / "lab.sock"; }
    fs::path state() const { return dir / "state.json"; }
    fs::path log() const { return dir / "lab.log"; }
    fs::path pcscd_log() const { return dir / "pcscd.log"; }
    fs::path conf_dir() const { return dir / "reader.conf.d"; }
    fs::path run_dir() const { return dir / "run"; }
};

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
    bool citizen = false;
    bool usb = false; // [usblab hook] `lab start --usb`: USB CCID devices + the system's libccid
};

Paths paths_of(const Options& o) {
    fs::path dir = o.dir;
    if (dir.empty()) {
        dir = io::paths::default_lab_dir();
    }
    return Paths{fs::absolute(dir).lexically_normal()};
}

fs::path profiles_dir() {
    return io::paths::profiles_dir();
}

fs::path driver_path(const Options& o) {
    if (!o.driver.empty())
        return fs::absolute(o.driver);
    if (const char* env = std::getenv("CARDHARNESS_IFD_DRIVER"); env && *env)
        return fs::absolute(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (const auto& candidate :
             {exe.parent_path().parent_path() / "lib" / "libifdcardharness.so",
              exe.parent_path() / "libifdcardharness.so"})
            if (fs::exists(candidate))
                return candidate;
    }
    return "/usr/lib/pcsc/drivers/serial/libifdcardharness.so";
}

std::string now_text() {
    const std::time_t t = std::time(nullptr);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return buffer;
}

void log_line(const std::string& line) {
    fmt::print(stderr, "{} {}\n", now_text(), line);
    std::fflush(stderr);
}

void write_json(const fs::path& file, const Json& json) {
    const fs::path tmp = file.string() + ".tmp";
    {
        std::ofstream out(tmp);
        out << json.dump(2) << "\n";
    }
    fs::rename(tmp, file);
}

std::optional<Json> read_json(const fs::path& file) {
    std::ifstream in(file);
    if (!in)
        return std::nullopt;
    try {
        return Json::parse(in);
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

Json running_state(const Paths& p) {
    auto state = read_json(p.state());
    if (!state || !state->contains("pid"))
        throw EnvironmentError(fmt::format(
            "no lab is running in {} (start one with `cardharness lab start`)", p.dir.string()));
    return *state;
}

std::string reply_text(const labwire::Reply& reply) {
    return std::string(reply.data.begin(), reply.data.end());
}

labwire::Reply control(const Paths& p, labwire::Op op, const std::string& slot = {},
                       std::uint32_t arg = 0, Bytes data = {}) {
    running_state(p);
    auto reply = labd::call(p.socket(), labwire::Request{op, slot, arg, std::move(data)});
    if (reply.code == ifd::Code::BadRequest)
        throw UsageError(reply_text(reply));
    if (reply.code != ifd::Code::Success)
        throw EnvironmentError(
            fmt::format("lab: {} failed ({})", labwire::to_string(op), ifd::to_string(reply.code)));
    return reply;
}

std::string reader_conf(const lab::Lab& lab, const fs::path& socket, const fs::path& driver) {
    std::string out =
        "# Written by `cardharness lab start`: one reader per lab slot, on our driver.\n";
    for (const auto& slot : lab.slot_ids())
        out += fmt::format("FRIENDLYNAME \"{}\"\nDEVICENAME {}:{}\nLIBPATH {}\n\n",
                           lab.friendly_name(slot), socket.string(), slot, driver.string());
    return out;
}

std::shared_ptr<io::VirtualCard> make_card(const std::string& profile, bool citizen) {
    emu::Options options;
    options.citizen = citizen;
    try {
        return std::shared_ptr<io::VirtualCard>(emu::make_card(profile, options));
    } catch (const ConfigError& e) {
        throw UsageError(fmt::format("card profile \"{}\": {}", profile, e.what()));
    }
}

std::map<std::string, int> pins_of(io::VirtualCard& card) {
    if (auto* emulated = dynamic_cast<emu::Card*>(&card))
        return emulated->state().tries_left;
    return {};
}

std::atomic<bool> stop_signal{false};
extern "C" void on_stop_signal(int) {
    stop_signal = true;
}

// The lab process: serve the socket, run pcscd, wait for stop. Returns the exit code.
int run_lab(const Paths& p, const Options& o, std::vector<lab::ReaderModel> models,
            std::vector<lab::SlotConfig> slots, const fs::path& driver, const fs::path& pcscd) {
    Json state{{"pid", ::getpid()}, {"ready", false}};
    try {
        ::signal(SIGTERM, on_stop_signal);
        ::signal(SIGINT, on_stop_signal);
        log_line(fmt::format("lab starting: {} slots, dir {}", slots.size(), p.dir.string()));
        lab::Lab lab(std::move(models), std::move(slots), make_card, pins_of, log_line);
        lab.set_real_time(true);
        // [usblab hook] the readers as USB devices for the system's CCID driver
        std::unique_ptr<labccid::UsbRuntime> usb;
        if (o.usb) {
            usb = std::make_unique<labccid::UsbRuntime>(lab, p.dir, log_line);
            usb->plug_all();
        }
        labd::Server server(lab, p.socket(), log_line);
        std::thread serving([&] { server.run(); });
        struct Joiner {
            labd::Server& server;
            std::thread& thread;
            ~Joiner() {
                server.stop();
                if (thread.joinable())
                    thread.join();
            }
        } joiner{server, serving};

        const std::string conf =
            o.usb ? std::string("# `cardharness lab start --usb`: the readers are USB "
                                "devices (libccid hotplug)\n")
                  : reader_conf(lab, p.socket(), driver);
        pid_t pcscd_pid = -1;
        fs::path pcsc_socket;
        if (o.system_pcscd) {
            std::ofstream(system_conf) << conf;
            pcsc_socket = "/run/pcscd/pcscd.comm";
            // The system pcscd reads reader.conf.d only when it starts: restart it.
            std::ifstream pid_file("/run/pcscd/pcscd.pid");
            pid_t old_pid = 0;
            if (pid_file >> old_pid && old_pid > 0) {
                log_line(fmt::format("restarting the system pcscd (pid {})", old_pid));
                labd::terminate(old_pid);
            }
            const int rc = std::system(
                fmt::format("'{}' >>'{}' 2>&1", pcscd.string(), p.pcscd_log().string()).c_str());
            if (rc != 0)
                throw EnvironmentError("could not start the system pcscd");
        } else {
            fs::create_directories(p.conf_dir());
            std::ofstream(p.conf_dir() / "cardharness-lab.conf") << conf;
            labd::PcscdOptions po;
            po.pcscd = pcscd;
            po.conf_dir = p.conf_dir();
            po.run_dir = p.run_dir();
            po.log = p.pcscd_log();
            po.debug = o.pcscd_debug;
            if (usb)
                usb->configure(po); // [usblab hook]
            pcscd_pid = labd::spawn_private_pcscd(po);
            pcsc_socket = labd::pcscd_socket(p.run_dir());
            log_line(fmt::format("private pcscd started (pid {})", pcscd_pid));
        }
        state["pcscd_pid"] = pcscd_pid;
        state["system_pcscd"] = o.system_pcscd;
        state["socket"] = pcsc_socket.string();
        state["lab_socket"] = p.socket().string();
        state["driver"] = "cardharness";
        if (usb)
            state.update(usb->state_json()); // [usblab hook] driver "ccid", USB environment
        write_json(p.state(), state);

        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        const auto opened = [&] { return usb ? usb->ready() : lab.all_slots_opened(); };
        while (!(opened() && fs::exists(pcsc_socket))) {
            if (usb && std::chrono::steady_clock::now() > deadline)
                throw EnvironmentError(fmt::format(
                    "libccid did not open the USB readers of slots {} within 60 s (see {})",
                    fmt::join(usb->unclaimed(), ", "), p.pcscd_log().string()));
            if (std::chrono::steady_clock::now() > deadline)
                throw EnvironmentError("pcscd did not open every lab reader within 60 s (see " +
                                       p.pcscd_log().string() + ")");
            if (pcscd_pid > 0 && !labd::process_alive(pcscd_pid))
                throw EnvironmentError("pcscd exited during start-up (see " +
                                       p.pcscd_log().string() + ")");
            if (stop_signal)
                throw EnvironmentError("stopped during start-up");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        state["ready"] = true;
        write_json(p.state(), state);
        log_line("lab ready: pcscd lists every lab reader");

        // Until `lab stop` (a Stop request), SIGTERM/SIGINT, or pcscd's death.
        while (!stop_signal && !server.stopped()) {
            if (pcscd_pid > 0 && !labd::process_alive(pcscd_pid)) {
                log_line("pcscd exited: stopping the lab");
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        log_line("lab stopping");
        if (pcscd_pid > 0)
            labd::terminate(pcscd_pid);
        if (o.system_pcscd) {
            fs::remove(system_conf);
            std::ifstream pid_file("/run/pcscd/pcscd.pid");
            pid_t old_pid = 0;
            if (pid_file >> old_pid && old_pid > 0)
                labd::terminate(old_pid); // a socket-activated pcscd restarts without our readers
        }
        std::error_code ec;
        fs::remove(p.state(), ec);
        log_line("lab stopped");
        return 0;
    } catch (const std::exception& e) {
        log_line(fmt::format("lab failed: {}", e.what()));
        state["ready"] = false;
        state["error"] = e.what();
        try {
            write_json(p.state(), state);
        } catch (...) {
        }
        if (state.contains("pcscd_pid") && state["pcscd_pid"].get<int>() > 0)
            labd::terminate(state["pcscd_pid"].get<int>());
        return 1;
    }
}

void start(const Options& o, Context& context) {
    const Paths p = paths_of(o);
    if (auto state = read_json(p.state());
        state && state->contains("pid") && labd::process_alive((*state)["pid"].get<int>()))
        throw EnvironmentError(fmt::format("a lab is already running in {} (pid {}); stop it with "
                                           "`cardharness lab stop --dir {}`",
                                           p.dir.string(), (*state)["pid"].get<int>(),
                                           p.dir.string()));
    const fs::path lab_file =
        o.lab_file.empty() ? profiles_dir() / "labs" / "default.csv" : fs::path(o.lab_file);
    auto models = lab::load_reader_model_dir(profiles_dir() / "readers");
    auto slots = lab::load_lab(lab_file, models);
    if (slots.size() > max_pcscd_readers)
        throw ConfigError(fmt::format("{}:1:1: expected at most {} slots (pcscd's reader limit)",
                                      lab_file.string(), max_pcscd_readers));
    const auto known = emu::profile_names();
    for (const auto& slot : slots)
        if (slot.card && std::find(known.begin(), known.end(), *slot.card) == known.end())
            throw UsageError(fmt::format("{}: slot {}: unknown card profile \"{}\" (known: {})",
                                         lab_file.string(), slot.slot, *slot.card,
                                         fmt::join(known, ", ")));
    if (o.usb && o.system_pcscd)
        throw UsageError(
            "lab start: --usb runs its own pcscd under umockdev; it cannot be combined "
            "with --system-pcscd");
    if (o.usb)
        labccid::reexec_under_preload(); // [usblab hook] umockdev uevents need the preload
    if (::geteuid() != 0)
        throw EnvironmentError(
            o.system_pcscd ? "lab start --system-pcscd needs root (writes /etc/reader.conf.d "
                             "and restarts pcscd)"
                           : "lab start needs root: the private pcscd runs in its own mount "
                             "namespace (unshare) with a bind mount over /run/pcscd");
    const auto pcscd = labd::find_executable("pcscd");
    if (!pcscd)
        throw EnvironmentError("pcscd not found (apt-get install pcscd)");
    if (!o.system_pcscd && !labd::unshare_permitted())
        throw EnvironmentError("unshare(CLONE_NEWNS) is not permitted here (a container without "
                               "CAP_SYS_ADMIN?); try --system-pcscd");
    const fs::path driver = driver_path(o);
    if (!o.usb && !fs::exists(driver))
        throw EnvironmentError(
            fmt::format("reader driver not found at {} (build the ifdcardharness "
                        "target, or pass --driver / $CARDHARNESS_IFD_DRIVER)",
                        driver.string()));
    fs::create_directories(p.dir);
    std::error_code ec;
    fs::remove(p.state(), ec);
    if (p.socket().string().size() >= 100)
        throw UsageError(fmt::format(
            "lab dir path too long for a Unix socket: {} (use a shorter --dir)", p.dir.string()));

    if (o.foreground) {
        context.exit_code = run_lab(p, o, std::move(models), std::move(slots), driver, *pcscd);
        return;
    }
    if (labd::become_daemon(p.log()))
        std::_Exit(run_lab(p, o, std::move(models), std::move(slots), driver, *pcscd));

    // The calling process: wait until the lab reports ready (the first start may generate the
    // emulators' test PKI, which takes a few seconds).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (true) {
        if (auto state = read_json(p.state())) {
            if (state->contains("error"))
                throw EnvironmentError(fmt::format("the lab failed to start: {} (log: {})",
                                                   (*state)["error"].get<std::string>(),
                                                   p.log().string()));
            if ((*state)["ready"] == true) {
                const std::string socket = (*state)["socket"].get<std::string>();
                fmt::print("export PCSCLITE_CSOCK_NAME={}\n", socket);
                for (const auto& [name, value] : labccid::usb_environment(*state))
                    fmt::print("export {}={}\n", name, value); // [usblab hook]
                fmt::print(
                    stderr, "cardharness: lab up with {} readers (dir {}, log {})\n",
                    lab::load_lab(lab_file, lab::load_reader_model_dir(profiles_dir() / "readers"))
                        .size(),
                    p.dir.string(), p.log().string());
                return;
            }
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw EnvironmentError(
                "the lab did not come up within 120 s (log: " + p.log().string() + ")");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void status(const Options& o) {
    const Paths p = paths_of(o);
    const Json state = running_state(p);
    const auto reply = control(p, labwire::Op::Status);
    Json slots = Json::parse(reply_text(reply))["slots"];
    if (state.value("driver", "cardharness") == "ccid") // [usblab hook] names pcscd gave
        labccid::resolve_reader_names(slots, state.value("socket", ""));
    Json out;
    out["socket"] = state.value("socket", "");
    out["lab_socket"] = p.socket().string();
    out["dir"] = p.dir.string();
    out["pid"] = state["pid"];
    out["system_pcscd"] = state.value("system_pcscd", false);
    out["driver"] = state.value("driver", "cardharness");
    out["driver_name"] = state.value("driver_name", "cardharness lab driver");
    out["pcscd_pid"] = state.value("pcscd_pid", -1);
    if (state.contains("usb_environment"))
        out["usb_environment"] = state["usb_environment"];
    out["slots"] = slots;
    if (o.json) {
        fmt::print("{}\n", out.dump(2));
        return;
    }
    fmt::print("lab in {} (pid {}); export PCSCLITE_CSOCK_NAME={}\n", p.dir.string(),
               state["pid"].dump(), out["socket"].get<std::string>());
    fmt::print("{:<5} {:<34} {:<18} {:<8} {:<22} {}\n", "slot", "PC/SC reader", "model",
               "interface", "card", "PIN tries left");
    for (const auto& s : slots) {
        std::string pins;
        for (const auto& [name, left] : s["pins"].items())
            pins += fmt::format("{}{}={}", pins.empty() ? "" : " ", name, left.get<int>());
        std::string card = s["card"].is_null() ? "-" : s["card"].get<std::string>();
        if (s["citizen"] == true)
            card += " (citizen)";
        fmt::print("{:<5} {:<34} {:<18} {:<8} {:<22} {}\n", s["slot"].get<std::string>(),
                   s["pcsc_reader"].get<std::string>(), s["reader_model"].get<std::string>(),
                   s["interface"].get<std::string>(), card, pins);
    }
}

void stop(const Options& o) {
    const Paths p = paths_of(o);
    const Json state = running_state(p);
    const pid_t pid = state["pid"].get<int>();
    try {
        labd::call(p.socket(), labwire::Request{labwire::Op::Stop, "", 0, {}});
    } catch (const EnvironmentError&) {
        // A lab that no longer answers is ended by signal.
        labd::terminate(pid);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (labd::process_alive(pid) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (labd::process_alive(pid))
        labd::terminate(pid);
    if (const int pcscd = state.value("pcscd_pid", -1); pcscd > 0 && labd::process_alive(pcscd))
        labd::terminate(pcscd);
    std::error_code ec;
    fs::remove(p.state(), ec);
    fs::remove(p.socket(), ec);
    fmt::print(stderr, "cardharness: lab in {} stopped\n", p.dir.string());
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
    insert_cmd->callback([options] {
        control(paths_of(*options), labwire::Op::Insert, options->slot, options->citizen ? 1U : 0U,
                bytes_of(options->card));
    });

    auto* remove_cmd =
        lab->add_subcommand("remove", "Remove the card from a slot (also mid-command)");
    add_dir(remove_cmd);
    remove_cmd->add_option("slot", options->slot, "Slot id")->required();
    remove_cmd->callback(
        [options] { control(paths_of(*options), labwire::Op::Remove, options->slot); });

    auto* reset_cmd =
        lab->add_subcommand("reset", "Restore every card's state (PIN retry counters)");
    add_dir(reset_cmd);
    reset_cmd->callback([options] { control(paths_of(*options), labwire::Op::Reset); });

    // [usblab hook] hot-unplug / re-plug the USB device of a slot (`lab start --usb`)
    auto* unplug_cmd = lab->add_subcommand(
        "unplug", "Hot-remove the USB device that holds a slot (labs started with --usb)");
    add_dir(unplug_cmd);
    unplug_cmd->add_option("slot", options->slot, "Slot id")->required();
    unplug_cmd->callback(
        [options] { control(paths_of(*options), labwire::Op::Unplug, options->slot); });
    auto* plug_cmd = lab->add_subcommand(
        "plug", "Plug the USB device of a slot back in (labs started with --usb)");
    add_dir(plug_cmd);
    plug_cmd->add_option("slot", options->slot, "Slot id")->required();
    plug_cmd->callback(
        [options] { control(paths_of(*options), labwire::Op::Plug, options->slot); });

    auto* stop_cmd = lab->add_subcommand("stop", "Stop pcscd and the lab process");
    add_dir(stop_cmd);
    stop_cmd->callback([options] { stop(*options); });
}

} // namespace harness::cli
