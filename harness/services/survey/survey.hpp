#pragma once
// The driver-level survey of real readers' descriptors (`cardharness survey`, issue 12): what to
// survey (every CCID interface of every dump file), which cards can physically go in, and what a
// surveyed interface's result is. A result is a DRIVER-LEVEL verdict: what the descriptor and the
// installed CCID driver allow an emulated firmware that honours the descriptor exactly — never a
// hardware verdict (firmware bugs, antennas and the timing of the real device are not in a
// descriptor). The USB side (emulated devices, pcscd, libccid) lives in backends/survey; this
// layer is values in, values out.
#include "model/run.hpp"
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"
#include "pure/ccid_dump.hpp"
#include "services/survey/card_interfaces.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace harness::survey {

// ---- What to survey. ------------------------------------------------------------------------

// One CCID interface block of one dump file.
struct Item {
    std::string file;        // the dump's file name within the surveyed folder
    std::string file_sha256; // of the file's bytes: a changed dump is surveyed again
    std::size_t block = 0;   // 0-based index of the interface block in the file
    ccid::DumpBlock dump;
    Physical physical;
    std::string key() const;    // "file#block"
    std::string serial() const; // the emulated device's iSerialNumber: "SV" + 10 hex of key()
};

// Why the emulated firmware cannot stand in for this interface (nullopt: it can): character
// level (and reserved levels), ICCD (control-pipe transfers), fewer than two endpoints.
std::optional<std::string> not_emulated_reason(const ccid::DumpBlock& block);

// A dump that does not parse: the survey names it and goes on with the rest.
struct DumpProblem {
    std::string file;
    std::string message; // "path:line:column: expected …" (the parser's words)
};

struct Folder {
    std::vector<Item> items; // file name order, then block order
    std::vector<DumpProblem> problems;
    std::size_t files = 0; // dump files read (with or without problems)
};

// Every *.txt of `dir` except supported_readers.txt, by name. Throws UsageError when `dir` is not
// a folder; a bad dump is a DumpProblem, never an exception.
Folder read_dump_folder(const std::filesystem::path& dir, const std::vector<InterfaceRule>& rules);
// One dump's text (the folder reader's per-file step, for tests).
std::vector<Item> items_of_dump(std::string_view text, const std::string& file,
                                const std::vector<InterfaceRule>& rules);

// ---- Which card goes where. --------------------------------------------------------------------

// mynumber, juki (the report's grid) and transport (its extended-APDU steps, contact only).
inline constexpr const char* card_type_names[] = {"mynumber", "juki", "transport"};
inline constexpr const char* interface_names[] = {"contact", "contactless"};

enum class CellPlan {
    Run,                // an emulated card goes in and the suites run through the driver
    NotPhysical,        // the interface cannot take this card (reviewed data): incompatible
    ContactlessUnknown, // not in the reviewed list: whether it has a contactless side is unknown
    NotEmulated,        // character-level exchange: the emulated firmware does not do it
    NoDescriptor,       // the dump has no CCID descriptor for this interface
};

struct Cell {
    std::string card_type; // mynumber, juki, transport
    std::string interface; // contact, contactless
    friend bool operator==(const Cell&, const Cell&) = default;
};

struct PlannedCell {
    Cell cell;
    CellPlan plan = CellPlan::Run;
    std::string profile; // the emulated card (profiles/cards/cards.csv) for Run cells
};

// The cells of an interface for the requested card types and interfaces, grid order (mynumber
// contact, mynumber contactless, juki …, then transport contact when the interface takes contact
// cards). Throws UsageError for an unknown card type or interface name.
std::vector<PlannedCell> plan_cells(const Item& item, const std::vector<std::string>& card_types,
                                    const std::vector<std::string>& interfaces);

// ---- What happened. -----------------------------------------------------------------------------

// One reason (the cause codes are those of the verdict rules, services/plan/verdict.hpp, plus the
// survey's own: interface_not_supported, no_card_slot, contactless_unknown, not_emulated,
// no_descriptor, driver_not_listed, driver_refused_firmware, driver_open_failed,
// driver_level_override, driver_exceeds_message_length).
struct Cause {
    std::string code;
    model::Compatibility effect = model::Compatibility::Untested;
    std::string en;
    std::string ja;
};

struct CellResult {
    Cell cell;
    model::Compatibility verdict = model::Compatibility::Untested;
    std::vector<Cause> causes; // most telling first
    std::string diagnosis_en;
    std::string diagnosis_ja;
    std::string cause() const; // the first code, "" when none
};

// What the installed CCID driver did with the emulated device, as seen from the device's side
// (opens, claims, messages) and from pcscd's (readers listed, its log).
enum class DriverOutcome {
    NotRun,          // no cell needed the driver
    Opened,          // pcscd + libccid opened it: PC/SC readers appeared
    NotListed,       // nobody opened the device: the driver's Info.plist does not list it
    RefusedFirmware, // opened and claimed, then closed without one CCID message, no reader
    OpenFailed,      // opened and talked to, but no PC/SC reader appeared
};
const char* to_string(DriverOutcome outcome); // not_run, opened, not_listed, refused, open_failed
std::optional<DriverOutcome> driver_outcome_from(std::string_view text);

struct DriverFacts {
    DriverOutcome outcome = DriverOutcome::NotRun;
    std::string libccid_version;
    std::uint64_t opens = 0;    // device node connections
    std::uint64_t claims = 0;   // CLAIMINTERFACE requests
    std::uint64_t messages = 0; // PC_to_RDR messages before the driver's outcome was clear
    std::uint64_t escapes = 0;  // of them, vendor Escape commands (PC_to_RDR_Escape)
    std::size_t readers = 0;    // PC/SC readers pcscd listed for the device (one per slot)
    std::string log_line;       // pcscd's own words about the device (empty when none)
};
// The outcome from what was seen once the driver had its chance (`settled`: pcscd handled the
// device's plug event, or the wait ended).
DriverOutcome classify_driver(const DriverFacts& facts);

// What the driver sent: the PC_to_RDR messages the emulated firmware received, summarised.
struct LevelObservation {
    std::size_t messages = 0;
    std::size_t xfr_blocks = 0;
    std::size_t chained = 0;     // XfrBlocks with wLevelParameter != 0 (CCID chaining)
    std::size_t t1_blocks = 0;   // XfrBlock data that is a well-formed T=1 block
    std::size_t apdus = 0;       // XfrBlock data that is an APDU and no T=1 block, under T=1
                                 // (a T=0 TPDU looks like an APDU: not counted)
    std::size_t pps = 0;         // PPS requests (TPDU level)
    std::size_t over_length = 0; // messages longer than dwMaxCCIDMessageLength
    std::size_t longest = 0;     // longest message seen
    std::vector<std::uint16_t> level_parameters; // distinct wLevelParameter values seen
    std::optional<std::size_t> ifsd;             // the IFSD the driver asked for with S(IFS)
    std::optional<std::uint8_t> protocol; // from the last SetParameters since the last power-on
    std::size_t overruns = 0; // replies the firmware failed with XFR_OVERRUN (too long for it)
    std::size_t chained_replies = 0; // DataBlocks that begin or continue a chained response
    std::size_t continuations = 0;   // XfrBlocks asking for the next part (wLevelParameter 0x10)
    // Adds one PC_to_RDR message.
    void add(const ccid::Descriptor& descriptor, ByteView message);
    // Adds one RDR_to_PC reply the firmware sent.
    void add_reply(ByteView message);
    LevelObservation& operator+=(const LevelObservation& other);
};
// Causes for what the driver did beyond the declared level: chained extended APDUs to a short-APDU
// reader, a chained response an extended-APDU reader began that the driver never asked the rest
// of (it treats the reader as short-APDU), T=1 blocks to an APDU reader, APDUs to a TPDU reader,
// messages above the declared
// dwMaxCCIDMessageLength, an IFSD whose T=1 blocks do not fit it. Empty when the driver kept to
// the descriptor.
std::vector<Cause> level_causes(const ccid::Descriptor& descriptor, const LevelObservation& seen);

// Cells decided without the driver (NotPhysical, ContactlessUnknown, NotEmulated, NoDescriptor).
CellResult decided_cell(const Item& item, const PlannedCell& planned);
// A Run cell whose reader the driver never offered to PC/SC (outcome not Opened).
CellResult driver_cell(const Item& item, const PlannedCell& planned, const DriverFacts& driver);
// A Run cell the suites ran on: the verdict rules' judgement plus what the driver did to the
// messages (a driver cause comes first when the verdict is not compatible).
CellResult judged_cell(const PlannedCell& planned, model::Compatibility verdict,
                       std::vector<Cause> judged, const ccid::Descriptor& descriptor,
                       const LevelObservation& level);

// One surveyed interface.
struct ReaderResult {
    std::string file;
    std::string file_sha256;
    std::size_t block = 0;
    ccid::DeviceIdentity identity;
    ccid::InterfaceInfo interface;
    std::optional<ccid::Descriptor> descriptor;
    Physical physical;
    DriverFacts driver;
    std::vector<CellResult> verdicts;
    std::optional<ccid::Likelihood> prediction() const; // nullopt without a descriptor
};
// A result with every cell decided without the driver (and the Run cells left to fill).
ReaderResult start_result(const Item& item);

// The JSON object `survey --json` prints per interface (README "survey --json"): file, vid, pid,
// bcd_device (integers), exchange_level, max_message_length, prediction, verdicts [{card_type,
// interface, verdict, cause, diagnosis, diagnosis_ja, causes}], plus block, interface_number,
// manufacturer, product, takes, takes_source, takes_evidence, driver {libccid, outcome, …}.
nlohmann::ordered_json to_json(const ReaderResult& result);
// Back from the stored JSON (resume, report). Throws UsageError naming `origin` on bad JSON.
ReaderResult result_from_json(const nlohmann::json& json, const std::string& origin);

// ---- Survey verdict vs the pure prediction.
// ------------------------------------------------------

enum class Agreement {
    Agree,         // prediction likely/at_risk/unlikely = verdict compatible/partial/incompatible
    Explained,     // they differ for a reason the survey names (a driver cause, a card-side one)
    Disagree,      // they differ and nothing explains it: a defect of the predictor or the survey
    NotComparable, // no My Number cell ran (no slot, not emulated, no descriptor)
};
const char* to_string(Agreement agreement); // agree, explained, disagree, not_comparable

struct AgreementRow {
    std::string file;
    std::size_t block = 0;
    std::uint16_t vid = 0, pid = 0, bcd_device = 0;
    std::string exchange_level;
    std::string prediction; // likely, at_risk, unlikely, "" without a descriptor
    std::string interface;  // the My Number cell compared: contact, else contactless
    std::string verdict;
    std::string cause;
    Agreement agreement = Agreement::NotComparable;
    std::string explanation; // why they differ (Explained), empty otherwise
};
AgreementRow agreement_of(const ReaderResult& result);
// The fixture / `survey --summary` CSV: a "# libccid VERSION" line, the header
// file,block,vid,pid,bcd_device,exchange_level,prediction,interface,verdict,cause,agreement,
// explanation, then one row per result.
std::string agreement_csv(const std::vector<AgreementRow>& rows, const std::string& libccid);

} // namespace harness::survey
