#pragma once
// A run of conformance suites, as the runner produces it and the store keeps it. Everything in
// here is already redacted: the redactor runs before a value reaches these types.
#include "pure/bytes.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace harness::model {

enum class StepVerdict { Pass, Fail, Skip, Error, Aborted };
enum class Compatibility { Compatible, Partial, Incompatible, Untested };
enum class RunStatus { Running, Complete, Incomplete };

const char* to_string(StepVerdict verdict);
const char* to_string(Compatibility compatibility);
const char* to_string(RunStatus status);
std::optional<StepVerdict> step_verdict_from(std::string_view text);
std::optional<Compatibility> compatibility_from(std::string_view text);
std::optional<RunStatus> run_status_from(std::string_view text);
std::ostream& operator<<(std::ostream& out, StepVerdict verdict);
std::ostream& operator<<(std::ostream& out, Compatibility compatibility);
std::ostream& operator<<(std::ostream& out, RunStatus status);

// One command/response exchange of a step, already redacted (PIN bytes, personal-data EF
// contents and certificate subjects replaced by "<redacted len=N sha256=…>" markers).
struct Exchange {
    std::string command;  // hex (spaced) or a redaction marker
    std::string response; // hex (spaced) or a redaction marker
    std::optional<std::uint16_t> sw;
    std::int64_t duration_us = 0;
    std::string note; // e.g. "GET RESPONSE followed 61 10", "transport error: timeout"
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
    std::string measurements_json;       // e.g. latency statistics, "{}" when none
    std::vector<CcidMessage> ccid_trace; // failing steps on a USB lab reader: the firmware's side
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
    std::string card_id;   // anonymous: salted hash, stable per database
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
};

struct Verdict {
    std::string reader;       // PC/SC name
    std::string reader_model; // lab model, or empty
    std::string card_type;
    std::string interface;
    Compatibility verdict = Compatibility::Untested;
    std::string diagnosis_en;
    std::string diagnosis_ja;
};

struct Environment {
    std::string host;
    std::string os;
    std::string pcsclite_version;
    std::string libccid_version;
    std::string harness_version;
};

struct Run {
    std::string uuid;
    std::string started_at; // ISO 8601 UTC
    std::string ended_at;   // empty while running
    Environment environment;
    bool lab = false;
    RunStatus status = RunStatus::Running;
    std::string cause;
    std::vector<SuiteRef> suites;
    std::vector<Session> sessions;
    std::vector<Verdict> verdicts;
};

} // namespace harness::model
