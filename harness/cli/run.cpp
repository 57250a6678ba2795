// cardharness run: the options and the wiring. Plans and runs the conformance suites on every
// chosen reader × card: readers in parallel, one PC/SC context per reader thread
// (cli/run_session), every session written with its verdict through one ResultSink
// (cli/run_sink), progress on a ProgressBoard (cli/progress_board), and at the end a summary or
// the run as JSON (cli/run_output).
#include "model/run.hpp"

#include "backends/host/environment.hpp"
#include "backends/pcsc/context.hpp"
#include "cli/commands.hpp"
#include "cli/lab_ccid.hpp"
#include "cli/lab_spec.hpp"
#include "cli/progress_board.hpp"
#include "cli/reader_choice.hpp"
#include "cli/run_ids.hpp"
#include "cli/run_lab_view.hpp"
#include "cli/run_output.hpp"
#include "cli/run_session.hpp"
#include "cli/run_sink.hpp"
#include "io/paths.hpp"
#include "io/process.hpp"
#include "io/run_lock.hpp"
#include "io/station.hpp"
#include "pure/error.hpp"
#include "services/emu/persona.hpp"
#include "services/identify/identify.hpp"
#include "services/store/store.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/pin_source.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <openssl/crypto.h>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace harness::cli {
namespace {

namespace fs = std::filesystem;
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
    const std::vector<std::string> readers = listed_readers(context, options.reader);
    if (options.reader.empty() && !options.all && readers.size() > 1)
        throw UsageError(fmt::format("{} readers: choose one with --reader NAME, or --all:{}",
                                     readers.size(), reader_list(readers)));

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
    RunStop stop(cancel_requested);
    ResultSink sink(db, run.uuid, stop);
    RunShared shared{
        .options = {options.test_cards, options.card_timeout_s, options.min_tries_left},
        .suites = suites,
        .lab = lab,
        .user_pins = pins,
        .persona = std::nullopt,
        .key = std::move(station_key),
        .failed_pins = failed_pins,
        .board = board,
        .sink = sink,
        .stop = stop,
        .cancel = cancel_requested};
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
            shared.persona = emu::load_persona(io::paths::profiles_dir() / "cards" / "persona.csv");
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
    if (stop.why() == RunStop::Why::None && cancel_requested)
        stop.request(RunStop::Why::Signal, model::FailureKind::None, "interrupted (signal)");
    // Readers the run never reached: untested, with the reason the run stopped (stored unless the
    // database is what failed).
    if (stop.why() == RunStop::Why::Environment || stop.why() == RunStop::Why::Signal)
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
        shared.results.begin(), shared.results.end(), [&](const RunResult& a, const RunResult& b) {
            return order(a.session.reader.pcsc_name) < order(b.session.reader.pcsc_name);
        });
    // The sessions stay in shared.results (stored already, printed from there): no copy of
    // every step into run.sessions (a per-step cost, issue 11).
    for (const auto& r : shared.results)
        run.verdicts.push_back(r.verdict);
    run.ended_at = now_iso();
    run.status = model::RunStatus::Complete;
    std::vector<std::string> causes;
    if (stop.why() != RunStop::Why::None)
        causes.push_back(stop.why() == RunStop::Why::Signal ? "interrupted (signal)"
                                                            : "stopped: " + stop.message());
    std::size_t not_run = 0;
    for (const auto& r : shared.results) {
        const model::Session& s = r.session;
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
                         [&](const RunResult& x) { return x.session.reader.pcsc_name == r; }))
            not_reached.push_back(r);
    if (options.json)
        fmt::print("{}\n",
                   run_json(run, shared.results, not_reached, sink.stored(), store_error).dump(2));
    else
        print_summary(run, shared.results, not_reached, options.db, sink.stored(), store_error,
                      run_row_final);

    bool environment_failed =
        !store_error.empty() || !run_row_final || stop.why() == RunStop::Why::Environment;
    for (const auto& r : shared.results)
        environment_failed = environment_failed || model::is_environment(r.session.failure);
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
