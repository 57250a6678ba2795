#pragma once
// `cardharness survey` below the CCID driver (issue 12): every surveyed CCID interface becomes an
// emulated USB device with that dump's VID, PID, bcdDevice, strings and CCID descriptor, run by a
// CcidFirmware that honours the descriptor exactly, in a umockdev testbed; ONE private pcscd under
// the umockdev preload opens them with the system's CCID driver and its own Info.plist (nothing
// added: an unlisted VID:PID is a result). Devices come and go by hotplug, at most `max_slots`
// PC/SC readers at a time (pcscd serves 16). Emulated My Number, Juki and transport test cards go
// into each device that can physically take them, and the suites run through PC/SC exactly as
// `run` does; what the driver did (opened, refused, left alone, which messages it sent) is read
// from the device's side. Results are survey values (services/survey) plus the sessions to store.
#include "io/station.hpp"
#include "io/virtual_card.hpp"
#include "model/run.hpp"
#include "pure/error.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/pin_source.hpp"
#include "services/survey/survey.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace harness::survey_usb {

using CardMaker = std::function<std::shared_ptr<io::VirtualCard>(const std::string& profile)>;
using PinMaker = std::function<suite::PinSource(const std::string& card_type)>;

struct Setup {
    std::filesystem::path work_dir; // pcscd's socket folder, its (empty) reader.conf folder, log
    std::string libccid_version;    // the installed package's version (for diagnoses)
    std::size_t max_slots = 16;     // PC/SC readers plugged at once (pcscd serves 16)
    std::size_t jobs = 8;           // devices surveyed at once
    // How long after pcscd took a device's hotplug event, with no later event, the survey waits
    // for the driver before it concludes that the driver does not list it (the usual way is
    // sooner: pcscd logs each hotplug event before handing it to the driver, so a later event in
    // its log shows it is done with the device).
    std::chrono::milliseconds driver_wait{20000};
    CardMaker make_card;
    PinMaker pins; // PINs of the emulated test cards, per card type
    // identify, jpki-mynumber, juki and transport, as the loader planned them.
    std::map<std::string, suite::LoadedSuite> suites;
    io::StationKey key; // card ids and redaction HMACs (the station key, never stored)
    const std::atomic<bool>* cancel = nullptr; // set: no new device is started
    bool pcscd_debug = false; // pcscd -d (its log in work_dir/pcscd.log; never -a: APDUs)
    // The instant of the run's started_at: each step's started_us counts from it (none: no
    // start times are stored).
    std::optional<std::chrono::steady_clock::time_point> run_start;
};

struct Task {
    survey::Item item;
    std::vector<survey::PlannedCell> cells;
};

struct Finished {
    survey::ReaderResult result;
    std::vector<model::Session> sessions; // one per cell that reached a PC/SC reader
    std::vector<model::Verdict> verdicts; // one per cell, grid order
    std::chrono::milliseconds took{0};
};

// The steps of the transport suite the survey runs: selection and the single extended APDUs
// (not the sweeps).
inline constexpr const char* transport_steps[] = {"transport.select", "transport.ext.case2.le257",
                                                  "transport.ext.case2.le65536",
                                                  "transport.ext.case3.lc65535"};

// The private pcscd stopped during the survey (it crashed): the environment's failure, never a
// reader's. Tasks in flight are not reported; the caller may start a new DriverSurvey for them.
class PcscdStopped : public EnvironmentError {
public:
    using EnvironmentError::EnvironmentError;
};

class DriverSurvey {
public:
    // Creates the testbed and starts the private pcscd. This process must run under the umockdev
    // preload (LD_PRELOAD; the CLI re-executes itself): umockdev sends hotplug events only from
    // there. Throws EnvironmentError without root, umockdev, pcscd or the CCID driver.
    explicit DriverSurvey(Setup setup);
    ~DriverSurvey();
    DriverSurvey(const DriverSurvey&) = delete;
    DriverSurvey& operator=(const DriverSurvey&) = delete;

    int pcscd_pid() const;
    // Surveys every task; `done` runs once per task, serialised, from the worker threads.
    // Throws PcscdStopped when pcscd dies (the tasks reported so far stay reported).
    void run(std::vector<Task> tasks, const std::function<void(Finished)>& done);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace harness::survey_usb
