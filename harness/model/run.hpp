#pragma once
// A run of conformance suites, as the runner produces it and the store keeps it. Everything in
// here is already redacted: the redactor runs before a value reaches these types.
#include "pure/bytes.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::model {

enum class StepVerdict { Pass, Fail, Skip, Error, Aborted };
enum class Compatibility { Compatible, Partial, Incompatible, Untested };
// Interrupted: the run's process died while the run was `running` (marked by the next `run` on
// the database, or shown so by `report`/`diff` without writing).
enum class RunStatus { Running, Complete, Incomplete, Interrupted };

// Why a step, an exchange or a session did not reach a result of the card's own. A typed fact
// carried as a value from the channel (io::TransportError) through the runner to the verdict
// rules and the store: the rules read it, never a message text.
enum class FailureKind {
    None,
    // Transport: what the reader (or the card in it) did.
    CardRemoved,      // the card vanished (or was taken out)
    CardReset,        // another application reset the card
    ReaderGone,       // the reader went away
    Timeout,          // the reader timed out waiting for the card
    TooLong,          // the message did not fit (SCARD_E_INSUFFICIENT_BUFFER)
    Communication,    // the reader failed the exchange
    ProtocolMismatch, // no common protocol, failed PPS
    Unresponsive,     // the card does not answer the reset
    TransportOther,   // any other transport failure
    // Environment: never the reader's fault (the session is untested, `run` exits 3).
    NoService,  // pcscd stopped or cannot be reached
    LabStopped, // the virtual lab stopped under the run
    Disk,       // the results database could not be written
    // The PIN guard refused to send the command (nothing reached the card).
    RefusedByGuard,
    // The step lacked a value an earlier step should have stored (a consequence, no cause).
    MissingInput,
};
enum class FailureClass { None, Transport, Environment, Guard, Consequence };

const char* to_string(StepVerdict verdict);
const char* to_string(Compatibility compatibility);
const char* to_string(RunStatus status);
const char* to_string(FailureKind kind); // "card_removed", "no_service", …; "" for None
const char* to_string(FailureClass failure_class);
std::optional<StepVerdict> step_verdict_from(std::string_view text);
std::optional<Compatibility> compatibility_from(std::string_view text);
std::optional<RunStatus> run_status_from(std::string_view text);
std::optional<FailureKind> failure_kind_from(std::string_view text); // "" → None
FailureClass class_of(FailureKind kind);
inline bool is_environment(FailureKind kind) {
    return class_of(kind) == FailureClass::Environment;
}
inline bool is_transport(FailureKind kind) {
    return class_of(kind) == FailureClass::Transport;
}
std::ostream& operator<<(std::ostream& out, StepVerdict verdict);
std::ostream& operator<<(std::ostream& out, Compatibility compatibility);
std::ostream& operator<<(std::ostream& out, RunStatus status);
std::ostream& operator<<(std::ostream& out, FailureKind kind);

// One command/response exchange of a step, already redacted (PIN bytes, personal-data EF
// contents and certificate subjects replaced by "<redacted len=N hmac=…>" markers).
struct Exchange {
    std::string command;  // hex (spaced) or a redaction marker
    std::string response; // hex (spaced) or a redaction marker
    std::optional<std::uint16_t> sw;
    std::int64_t duration_us = 0;
    std::string note; // e.g. "GET RESPONSE followed 61 10", "transport error: timeout"
    // Typed facts (the verdict rules read these, never the texts above):
    FailureKind failure = FailureKind::None;    // the transport failure this exchange met
    std::optional<std::size_t> response_size{}; // bytes received (data + SW), also when redacted
};

// A CCID message the lab's emulated reader firmware saw or sent during a step (`lab start --usb`),
// already redacted (pure/ccid_trace.hpp): its header and framing, never card data.
struct CcidMessage {
    std::string direction;      // "out" (PC_to_RDR), "in" (RDR_to_PC), "interrupt", "control"
    std::int64_t offset_us = 0; // from the step's start
    std::string message;        // spaced hex with "<redacted len=N>" markers
    std::string note;           // what the firmware made of it
};

struct StepResult {
    std::string step_id; // stable across suite versions: results join on it
    std::string group;
    std::string title_en;
    std::string title_ja;
    std::string action;
    StepVerdict verdict = StepVerdict::Skip;
    std::string reason_en;
    std::string reason_ja;
    std::optional<std::uint16_t> sw;
    std::int64_t duration_us = 0;
    std::vector<Exchange> exchanges;
    std::string measurements_json; // e.g. latency statistics, "{}" when none
    // Typed facts: the failure the step met (None when it met none), and the `requires` tokens
    // that were not available when it was skipped for them (e.g. "pin:auth").
    FailureKind failure = FailureKind::None;
    std::vector<std::string> missing{};
    std::vector<CcidMessage> ccid_trace; // failing steps on a USB lab reader: the firmware's side
    // When the step began, in µs since the run's start (the instant of Run::started_at, on a
    // monotonic clock): sessions of one run line up on it (the report's overlap view). nullopt
    // for steps stored before the store's schema 7, or run without a run clock (unit tests).
    std::optional<std::int64_t> started_us{};
};

struct SuiteRef {
    std::string id;           // e.g. "jpki-mynumber"
    std::string content_hash; // SHA-256 of the suite file as run
};

struct SuiteResult {
    SuiteRef suite;
    std::vector<StepResult> steps;
};

// Who the reader is: PC/SC view and USB view joined (either may be missing).
struct ReaderIdentity {
    std::string pcsc_name;
    std::optional<std::uint16_t> vid;
    std::optional<std::uint16_t> pid;
    std::optional<std::uint16_t> bcd_device; // firmware: results are keyed by VID, PID, bcdDevice
    std::string manufacturer;
    std::string product;
    std::string serial;
    std::string driver;                   // e.g. "libccid 1.5.2", "cardharness lab driver"
    std::string reader_model;             // lab reader model name; empty for hardware
    Bytes ccid_descriptor;                // 54 bytes when known
    std::string descriptor_findings_json; // findings + predicted capability, "{}" when unknown
};

struct CardRecord {
    std::string card_id;   // anonymous: HMAC under the station key (cert-… strong, atr-… weak)
    std::string card_type; // mynumber, juki, jpki_phone, iso7816_unknown, no_card
    std::string interface; // contact, contactless
    Bytes atr;
    bool emulated = false;
    bool test_card = false;
};

// One reader × card pass of a run.
struct Session {
    ReaderIdentity reader;
    CardRecord card;
    std::vector<SuiteResult> suites;
    RunStatus status = RunStatus::Complete;
    std::string cause; // why incomplete, e.g. "card removed during step jpki.sign.auth"
    // What cut the session short (None when nothing did). An environment kind makes the session
    // untested whatever its steps say.
    FailureKind failure = FailureKind::None;
};

struct Verdict {
    std::string reader;       // PC/SC name
    std::string reader_model; // lab model, or empty
    std::string card_type;
    std::string interface;
    Compatibility verdict = Compatibility::Untested;
    std::string diagnosis_en;
    std::string diagnosis_ja;
    std::vector<std::string> causes{}; // cause codes, most telling first ("message_too_long", …)
};

struct Environment {
    std::string host;
    std::string os;
    std::string pcsclite_version;
    std::string libccid_version;
    std::string harness_version;
};

// The process that runs (or ran) a run: enough to tell later whether it is still alive.
struct RunOwner {
    std::string host;
    std::int64_t pid = 0;
    std::string process_start; // boot id + the process's start time: tells a reused pid apart
};

struct Run {
    std::string uuid;
    // The station the run came from: on a central server, the station that pushed it; in a
    // station's own database, the name it was last pushed as (`push --station`, central_pushes);
    // empty when the run was never pushed (the database does not know its station's name).
    std::string station;
    std::string started_at; // ISO 8601 UTC
    std::string ended_at;   // empty while running
    Environment environment;
    RunOwner owner;
    bool lab = false;
    RunStatus status = RunStatus::Running;
    std::string cause;
    std::vector<SuiteRef> suites;
    std::vector<Session> sessions;
    std::vector<Verdict> verdicts;
};

} // namespace harness::model
