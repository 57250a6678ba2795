#pragma once
// Compatibility reports from stored runs: a report model (pure: model::Run values in, ReportModel
// out) and its renderers (HTML, CSV, Markdown, JSON, JUnit XML). Values are already redacted by
// the runner; the report adds no card ids and no certificate contents.
#include "model/result_query.hpp"
#include "model/run.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::report {

inline constexpr int schema_version = 1;

enum class Lang { Ja, En };
enum class View { Public, Technical };
enum class Selection { Newest, Latest, Run };

std::optional<Lang> lang_from(std::string_view text);
std::optional<View> view_from(std::string_view text);
const char* to_string(Lang lang);
const char* to_string(View view);
const char* to_string(Selection selection);

// The four matrix columns, in order.
struct Column {
    const char* card_type;
    const char* interface;
};
inline constexpr Column columns[] = {{"mynumber", "contact"},
                                     {"mynumber", "contactless"},
                                     {"juki", "contact"},
                                     {"juki", "contactless"}};

struct StepCounts {
    int pass = 0;
    int fail = 0;
    int skip = 0;
    int error = 0;
    int aborted = 0;
    int total() const { return pass + fail + skip + error + aborted; }
};

// The session a cell was judged from (one reader × card pass of one run).
struct CellSession {
    std::string atr; // hex
    bool emulated = false;
    bool test_card = false;
    model::RunStatus status = model::RunStatus::Complete;
    std::string cause;
    model::FailureKind failure = model::FailureKind::None; // what cut the session short
    std::vector<model::SuiteResult> suites;
};

// One reader identity × card type × interface.
struct Cell {
    std::string card_type;
    std::string interface;
    model::Compatibility verdict = model::Compatibility::Untested;
    std::string reason_en;
    std::string reason_ja;
    std::vector<std::string> causes; // the verdict's cause codes, most telling first
    std::string tested_at;           // the run's start, ISO 8601 UTC
    std::string run_uuid;
    std::string station; // the station of that run (model::Run::station; empty when unknown)
    std::vector<model::SuiteRef> suites; // id + content hash, as run
    StepCounts steps;
    std::optional<CellSession> session;
};

struct ReaderRow {
    std::string
        key; // "VID:PID/bcdDevice/maker/model" (not the driver), or "pcsc:<name>" without USB ID
    std::string maker;
    std::string model;
    std::optional<std::uint16_t> vid;
    std::optional<std::uint16_t> pid;
    std::optional<std::uint16_t> bcd_device;
    std::string driver;
    std::string pcsc_name;
    std::string reader_model;             // lab model name, empty for hardware
    std::string ccid_descriptor;          // hex, empty when unknown
    std::string descriptor_findings_json; // as stored ("{}" when unknown)
    std::string environment_run;          // uuid of the run whose environment is shown
    std::string station;                  // the station of that run (empty when unknown)
    model::Environment environment;
    std::vector<Cell> cells; // sorted by card type then interface

    std::string vid_pid() const;                 // "04E6:5116" or ""
    std::string firmware() const;                // bcdDevice as "1.02" or ""
    std::vector<std::string> interfaces() const; // tested interfaces, contact first
    const Cell* cell(std::string_view card_type, std::string_view interface) const;
};

struct RunInfo {
    std::string uuid;
    std::string station; // model::Run::station: empty when unknown
    std::string started_at;
    std::string ended_at;
    model::RunStatus status = model::RunStatus::Complete;
    std::string cause;
    bool lab = false;
    model::Environment environment;
    std::vector<model::SuiteRef> suites;
};

struct ReportModel {
    Selection selection = Selection::Newest;
    // The runs that contributed, and every run that did not complete (interrupted, incomplete,
    // still running) even without a verdict: nothing hidden. Oldest first.
    std::vector<RunInfo> runs;
    std::vector<ReaderRow> readers; // sorted by maker, model, VID:PID, firmware
};

// Newest: the newest verdict per reader identity × card type × interface over all runs.
// Latest: the newest run per reader identity × card type (older runs' cells of that card type
// are dropped). Run: the given runs as they are.
// The model reads run headers and verdicts from the query and the evidence (steps) of the chosen
// cells only.
ReportModel build(const model::ResultQuery& query, Selection selection);
ReportModel build(const std::vector<model::Run>& runs, Selection selection);

// ---- The story the report exists for: which card works on which reader (issue 10). ----------
// A card "works" on a reader when some interface is compatible; it "fails" when every interface
// tested is incompatible; "partial" when none is compatible and some is partial.
enum class CardOutcome { Works, Partial, Fails, Untested };
CardOutcome card_outcome(const ReaderRow& row, std::string_view card_type);

// Per reader: both cards work, only the Juki card, only the My Number card, neither; a reader
// where a card works only in part (and nothing else decides it) is counted apart as Partial.
enum class Story { Both, JukiOnly, MyNumberOnly, Neither, Partial, Untested };
Story story(const ReaderRow& row);
const char* to_string(Story story); // both, juki_only, mynumber_only, neither, partial, untested

// Why a card does not work on a reader: the reason of its contact cell when that one failed,
// else of its first incompatible (or partial) cell; empty when it works.
std::string why_not(Lang lang, const ReaderRow& row, std::string_view card_type);
// "住基カードは使えるがマイナンバーカードは使えない" / "works with Juki, not with My Number" …
std::string story_text(Lang lang, Story story);

struct Summary {
    int readers = 0; // readers with at least one tested cell
    int both = 0;
    int juki_only = 0;
    int mynumber_only = 0;
    int neither = 0;
    int partial = 0;   // counted apart: some card works only in part
    int simulated = 0; // of the readers tested, lab models (simulated readers, not products)
};
Summary summarize(const ReportModel& model);
std::string summary_text(Lang lang, const Summary& summary);

// A lab model (a simulated reader): never to be published as a product.
bool is_simulated(const ReaderRow& row);

// The stations the model's runs and cells came from, sorted, without the empty name. The text
// formats show a station column when there is one (the technical HTML, CSV and Markdown) or
// several (the public HTML: a prefecture gathering its municipalities' stations).
std::vector<std::string> stations(const ReportModel& model);

// One text per key in Japanese and English (texts.cpp holds the one table).
const char* text(Lang lang, std::string_view key);
const char* mark(model::Compatibility verdict);             // ◯ △ ✕ —
const char* label(Lang lang, model::Compatibility verdict); // 対応 / compatible …
std::string reason(Lang lang, const Cell& cell);            // falls back to a generic text
std::string card_label(Lang lang, std::string_view card_type, std::string_view interface);

// Renderers. Text formats are byte-stable for a given model (no clock, no host).
std::string render_json(const ReportModel& model);
ReportModel parse_json(std::string_view text, const std::string& origin); // throws UsageError
std::string render_csv(const ReportModel& model, Lang lang);              // UTF-8 with BOM
std::string render_markdown(const ReportModel& model, Lang lang);
std::string render_junit(const ReportModel& model, Lang lang);
std::string render_html(const ReportModel& model, Lang lang, View view);

} // namespace harness::report
