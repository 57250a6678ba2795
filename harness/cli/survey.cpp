// cardharness survey: every CCID interface of a folder of real readers' descriptor dumps as an
// emulated USB reader under the system's pcscd + CCID driver, with emulated My Number, Juki and
// transport test cards; driver-level verdicts stored as survey runs (resumable) and printed as a
// table, JSON ({"readers": [...]}, README "survey --json") or the agreement table (--summary).
// Wiring only: services/survey decides, backends/survey drives the USB side.
#include "services/survey/survey.hpp"

#include "backends/host/host.hpp"
#include "backends/survey/driver_survey.hpp"
#include "cli/commands.hpp"
#include "cli/lab_ccid.hpp"
#include "cli/report_survey.hpp"
#include "cli/run_ids.hpp"
#include "cli/test_card_pins.hpp"
#include "io/paths.hpp"
#include "io/station.hpp"
#include "pure/error.hpp"
#include "services/emu/card.hpp"
#include "services/emu/persona.hpp"
#include "services/store/store.hpp"
#include "services/suite/loader.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

namespace harness::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

struct SurveyOptions {
    std::string dumps;
    std::string db = io::paths::default_database().string();
    int jobs = 8;
    std::string cards = "mynumber,juki,transport";
    std::string interfaces = "contact,contactless";
    bool json = false;
    bool summary = false;
    bool fresh = false;
    std::vector<std::string> only;
    std::string debug_dir;
};

std::atomic<bool> survey_cancel{false};
extern "C" void on_survey_signal(int) {
    survey_cancel = true;
}

std::string duration_text(double seconds) {
    const auto s = static_cast<long>(seconds + 0.5);
    return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

// One line on stderr per finished interface (rewritten in place on a terminal), with an ETA from
// the pace so far, weighed by the cells that run suites (a decided interface costs nothing).
class Progress {
public:
    Progress(const std::vector<survey_usb::Task>& tasks, std::size_t already)
        : already_(already), tty_(::isatty(STDERR_FILENO) == 1), start_(Clock::now()) {
        total_ = tasks.size();
        for (const auto& t : tasks)
            work_total_ += work_of(t.cells);
    }
    static double work_of(const std::vector<survey::PlannedCell>& cells) {
        double w = 0.05;
        for (const auto& c : cells)
            if (c.plan == survey::CellPlan::Run)
                w += 1.0;
        return w;
    }
    void done(const survey::ReaderResult& r, double work, std::chrono::milliseconds took) {
        ++done_;
        work_done_ += work;
        const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
        const double eta =
            work_done_ > 0 ? elapsed / work_done_ * std::max(0.0, work_total_ - work_done_) : 0.0;
        std::string worst;
        for (const auto& v : r.verdicts)
            if (v.cell.card_type == "mynumber" && v.cell.interface == "contact")
                worst = fmt::format("{} ({})", model::to_string(v.verdict), v.cause());
        std::string line = fmt::format(
            "survey: {}/{} interfaces ({}%), {} elapsed, ETA {}{} — {}#{} {} ({:.1f} s)",
            done_ + already_, total_ + already_,
            (done_ + already_) * 100 / std::max<std::size_t>(1, total_ + already_),
            duration_text(elapsed), duration_text(eta),
            already_ > 0 ? fmt::format(", {} resumed", already_) : std::string(), r.file, r.block,
            worst.empty() ? survey::to_string(r.driver.outcome) : worst,
            static_cast<double>(took.count()) / 1000.0);
        if (tty_) {
            if (line.size() > 150)
                line = line.substr(0, 147) + "...";
            fmt::print(stderr, "\r\x1b[K{}", line);
            if (done_ == total_)
                fmt::print(stderr, "\n");
        } else {
            fmt::print(stderr, "{}\n", line);
        }
        std::fflush(stderr);
    }
    double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

private:
    std::size_t total_ = 0;
    std::size_t already_;
    std::size_t done_ = 0;
    double work_total_ = 0;
    double work_done_ = 0;
    bool tty_;
    Clock::time_point start_;
};

std::string cell_text(const survey::ReaderResult& r, const std::string& card,
                      const std::string& face) {
    for (const auto& v : r.verdicts)
        if (v.cell.card_type == card && v.cell.interface == face)
            return model::to_string(v.verdict);
    return "-";
}

void print_table(const std::vector<survey::ReaderResult>& results) {
    fmt::print("{:<44} {:<9} {:<5} {:<13} {:<9} {:<12} {:<12} {:<12} {:<12} {}\n", "file#block",
               "vid:pid", "bcd", "level", "predict", "mn contact", "mn cl", "juki contact",
               "juki cl", "cause (My Number)");
    for (const auto& r : results) {
        // The My Number cell the agreement table compares (else the first one).
        std::string cause = survey::agreement_of(r).cause;
        const auto p = r.prediction();
        fmt::print("{:<44} {:04X}:{:04X} {:04X}  {:<13} {:<9} {:<12} {:<12} {:<12} {:<12} {}\n",
                   fmt::format("{}#{}", r.file, r.block), r.identity.vendor_id,
                   r.identity.product_id, r.identity.bcd_device,
                   r.descriptor ? ccid::to_string(r.descriptor->exchange_level()) : "-",
                   p ? ccid::to_string(*p) : "-", cell_text(r, "mynumber", "contact"),
                   cell_text(r, "mynumber", "contactless"), cell_text(r, "juki", "contact"),
                   cell_text(r, "juki", "contactless"), cause);
    }
}

void print_summary(const std::vector<survey::ReaderResult>& results, const std::string& libccid) {
    std::vector<survey::AgreementRow> rows;
    std::map<std::string, std::size_t> counts;
    for (const auto& r : results) {
        rows.push_back(survey::agreement_of(r));
        ++counts[survey::to_string(rows.back().agreement)];
    }
    fmt::print("{}", survey::agreement_csv(rows, libccid));
    fmt::print(stderr,
               "agreement (libccid {}): {} interfaces; {} agree, {} explained, {} disagree, {} not "
               "comparable\n",
               libccid, rows.size(), counts["agree"], counts["explained"], counts["disagree"],
               counts["not_comparable"]);
}

int survey_command(const SurveyOptions& o) {
    const auto cards = split_list(o.cards);
    const auto faces = split_list(o.interfaces);
    if (cards.empty() || faces.empty())
        throw UsageError("--cards and --interfaces need at least one value");
    const std::string libccid = host::installed_package_version("libccid").value_or("");
    if (libccid.empty())
        throw EnvironmentError("the CCID driver is not installed (dpkg-query finds no libccid "
                               "package; apt-get install libccid)");

    const auto rules =
        survey::load_card_interfaces(io::paths::profiles_dir() / "readers/card_interfaces.csv");
    auto folder = survey::read_dump_folder(o.dumps, rules);
    if (!o.only.empty()) {
        const std::set<std::string> only(o.only.begin(), o.only.end());
        std::erase_if(folder.items, [&](const auto& i) { return !only.count(i.file); });
        std::erase_if(folder.problems, [&](const auto& p) { return !only.count(p.file); });
    }
    for (const auto& p : folder.problems)
        fmt::print(stderr, "cardharness survey: {} (skipped; the survey goes on)\n", p.message);

    std::map<std::string, store::SurveyRecord> stored;
    if (!o.fresh) {
        const store::Store db(o.db); // closed again before a re-execution below
        for (auto& r : db.survey_records(libccid))
            stored.emplace(fmt::format("{}#{}", r.dump_file, r.block), std::move(r));
    }
    std::vector<survey_usb::Task> tasks;
    std::size_t resumed = 0;
    for (const auto& item : folder.items) {
        const auto it = stored.find(item.key());
        if (it != stored.end() && it->second.dump_sha256 == item.file_sha256) {
            ++resumed;
            continue;
        }
        tasks.push_back({item, survey::plan_cells(item, cards, faces)});
    }

    // umockdev's hotplug events come only from a process under its preload: re-execute under it
    // (this function runs again from the start) before anything is opened.
    if (!tasks.empty())
        labccid::reexec_under_preload();
    store::Store db(o.db);
    std::map<std::string, survey::ReaderResult> fresh;
    std::string run_uuid;
    if (!tasks.empty()) {
        if (::geteuid() != 0)
            throw EnvironmentError("survey: needs root (a private pcscd in its own mount "
                                   "namespace)");
        std::optional<emu::Persona> persona;
        try {
            persona = emu::load_persona(io::paths::profiles_dir() / "cards/persona.csv");
        } catch (const Error&) {
        }
        // One card of each profile first: the test PKI is generated on first use.
        std::mutex card_mutex;
        const survey_usb::CardMaker make_card = [&card_mutex](const std::string& profile) {
            std::lock_guard lock(card_mutex);
            return std::shared_ptr<io::VirtualCard>(emu::make_card(profile));
        };
        for (const char* profile :
             {"mynumber", "mynumber-contactless", "juki", "juki-contactless", "transport"})
            (void)make_card(profile);

        survey_usb::Setup setup;
        setup.work_dir = !o.debug_dir.empty()
                             ? fs::path(o.debug_dir)
                             : io::paths::ensure_private_dir(io::paths::data_dir() / "survey") /
                                   fmt::format("run-{}", ::getpid());
        setup.pcscd_debug = !o.debug_dir.empty();
        setup.libccid_version = libccid;
        setup.jobs = static_cast<std::size_t>(o.jobs);
        setup.make_card = make_card;
        setup.pins = [persona](const std::string& type) { return test_card_pins(persona, type); };
        for (const char* id : {"identify", "jpki-mynumber", "juki", "transport"})
            setup.suites.emplace(id, suite::load_shipped_suite(id));
        setup.key = io::load_station_key(io::paths::state_dir());
        setup.cancel = &survey_cancel;

        model::Run run;
        run.uuid = new_uuid();
        run_uuid = run.uuid;
        run.started_at = now_iso();
        setup.run_start = std::chrono::steady_clock::now(); // steps' started_us count from here
        run.lab = true;                                     // emulated readers and cards
        utsname u{};
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) == 0)
            run.environment.host = host;
        if (::uname(&u) == 0)
            run.environment.os = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
        run.environment.libccid_version = libccid;
        run.environment.pcsclite_version = host::installed_package_version("pcscd").value_or("");
        run.environment.harness_version = CARDHARNESS_VERSION;
        for (const auto& [id, s] : setup.suites)
            run.suites.push_back({id, s.suite.content_hash});
        db.begin_run(run);
        db.mark_survey_run(run.uuid);

        std::signal(SIGINT, on_survey_signal);
        std::signal(SIGTERM, on_survey_signal);
        Progress progress(tasks, resumed);
        std::map<std::string, double> work; // per task key, for the ETA
        for (const auto& t : tasks)
            work[t.item.key()] = Progress::work_of(t.cells);
        std::vector<model::Verdict> verdicts;
        std::vector<std::string> errors;
        std::vector<std::string> pcscd_stops; // restarted: noted, the results are complete
        const auto store_finished = [&](survey_usb::Finished f) {
            try {
                for (const auto& s : f.sessions)
                    db.add_session(run_uuid, s);
                store::SurveyRecord rec;
                rec.dump_file = f.result.file;
                rec.dump_sha256 = f.result.file_sha256;
                rec.block = static_cast<int>(f.result.block);
                rec.interface_number = f.result.interface.number;
                rec.libccid_version = libccid;
                rec.vid = f.result.identity.vendor_id;
                rec.pid = f.result.identity.product_id;
                rec.bcd_device = f.result.identity.bcd_device;
                rec.result_json = survey::to_json(f.result).dump();
                rec.run_uuid = run_uuid;
                rec.surveyed_at = now_iso();
                db.put_survey_record(rec);
            } catch (const std::exception& e) {
                errors.push_back(
                    fmt::format("storing {}#{}: {}", f.result.file, f.result.block, e.what()));
            }
            verdicts.insert(verdicts.end(), f.verdicts.begin(), f.verdicts.end());
            progress.done(f.result, work[fmt::format("{}#{}", f.result.file, f.result.block)],
                          f.took);
            fresh.emplace(fmt::format("{}#{}", f.result.file, f.result.block), std::move(f.result));
        };
        // A pcscd that dies (libccid crashed) is restarted, and the interfaces it took with it
        // are surveyed again by the new one: the environment's failure is never a result.
        std::vector<survey_usb::Task> remaining = std::move(tasks);
        for (int restarts = 0; !remaining.empty() && !survey_cancel; ++restarts) {
            try {
                survey_usb::DriverSurvey driver(setup);
                driver.run(remaining, store_finished);
                remaining.clear();
            } catch (const survey_usb::PcscdStopped& e) {
                std::erase_if(remaining, [&](const auto& t) { return fresh.count(t.item.key()); });
                if (restarts >= 3)
                    throw;
                fmt::print(stderr,
                           "\ncardharness survey: {}; starting a new pcscd for the {} "
                           "interfaces left\n",
                           e.what(), remaining.size());
                pcscd_stops.push_back(e.what());
            }
        }
        std::error_code ec;
        fs::remove_all(io::paths::data_dir() / "survey" / fmt::format("run-{}", ::getpid()), ec);
        auto status = model::RunStatus::Complete;
        std::string cause;
        if (survey_cancel) {
            status = model::RunStatus::Incomplete;
            cause = "interrupted (signal): the next `survey` resumes";
        }
        for (const auto& e : errors) {
            status = model::RunStatus::Incomplete;
            cause += (cause.empty() ? "" : "; ") + e;
        }
        for (const auto& e : pcscd_stops)
            cause += (cause.empty() ? "" : "; ") + e + " (restarted; nothing it touched is kept)";
        db.finish_run(run_uuid, status, cause, now_iso(), verdicts);
        fmt::print(stderr, "survey: {} interfaces surveyed in {} (run {}), {} resumed from {}\n",
                   fresh.size(), duration_text(progress.elapsed()), run_uuid, resumed, o.db);
    } else {
        fmt::print(stderr,
                   "survey: nothing to do: {} interfaces already surveyed with libccid {} "
                   "in {}\n",
                   resumed, libccid, o.db);
    }

    // Every interface of the folder, in folder order: this run's results and the stored ones.
    std::vector<survey::ReaderResult> results;
    for (const auto& item : folder.items) {
        if (auto it = fresh.find(item.key()); it != fresh.end()) {
            results.push_back(it->second);
            continue;
        }
        if (auto it = stored.find(item.key()); it != stored.end())
            results.push_back(survey::result_from_json(
                nlohmann::json::parse(it->second.result_json), o.db + ": " + item.key()));
    }
    if (o.json) {
        Json readers = Json::array();
        for (const auto& r : results)
            readers.push_back(survey::to_json(r));
        fmt::print("{}\n", Json{{"readers", readers}}.dump(2));
    } else if (o.summary) {
        print_summary(results, libccid);
    } else {
        print_table(results);
    }
    if (survey_cancel)
        return exit_code::failure;
    return folder.problems.empty() ? exit_code::ok : exit_code::usage;
}

} // namespace

void add_survey_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<SurveyOptions>();
    auto* cmd = app.add_subcommand(
        "survey", "Driver-level survey of real readers: each CCID interface of a folder of "
                  "descriptor dumps becomes an emulated USB reader under the system's pcscd and "
                  "CCID driver, with emulated My Number, Juki and transport test cards (not a "
                  "hardware test; needs root and umockdev)");
    cmd->add_option("--ccid-dumps", options->dumps,
                    "Folder of the CCID driver's parse dumps (one reader per *.txt)")
        ->required();
    cmd->add_option("--db", options->db,
                    "Results database (default " + io::paths::default_database().string() + ")");
    cmd->add_option("--jobs", options->jobs, "Emulated readers surveyed at once (default 8)")
        ->check(CLI::Range(1, 16));
    cmd->add_option("--cards", options->cards,
                    "Card types: mynumber, juki, transport (default all three)");
    cmd->add_option("--interfaces", options->interfaces,
                    "Interfaces: contact, contactless (default both)");
    cmd->add_flag("--json", options->json, "Print {\"readers\": [...]} (see README)");
    cmd->add_flag("--summary", options->summary,
                  "Print the agreement table (survey verdict vs the descriptor prediction) as CSV");
    cmd->add_flag("--fresh", options->fresh,
                  "Survey every interface again (default: resume, skipping interfaces already "
                  "surveyed with the installed libccid)");
    cmd->add_option("--only", options->only,
                    "Only this dump file name (repeatable; for samples and reruns)");
    cmd->add_option("--debug-dir", options->debug_dir,
                    "Keep pcscd's debug log (pcscd -d, never -a) in this folder");
    cmd->callback([options, &context] { context.exit_code = survey_command(*options); });
}

} // namespace harness::cli
