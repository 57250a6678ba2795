#include "services/plan/verdict.hpp"

#include "pure/apdu.hpp"
#include "pure/atr.hpp"
#include "pure/bytes.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fmt/format.h>
#include <set>

namespace harness::plan {
namespace {

using model::Compatibility;
using model::FailureKind;
using model::StepResult;
using model::StepVerdict;

bool has(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

const model::Exchange* last_exchange(const StepResult& step) {
    return step.exchanges.empty() ? nullptr : &step.exchanges.back();
}

// The exchange that failed: the last one without a status word, else the last one.
const model::Exchange* failing_exchange(const StepResult& step) {
    for (auto it = step.exchanges.rbegin(); it != step.exchanges.rend(); ++it)
        if (!it->sw)
            return &*it;
    return last_exchange(step);
}

std::optional<apdu::Command> parse_command(const std::string& command_hex) {
    const auto bytes = hex::parse(command_hex);
    if (!bytes || bytes->size() < 4)
        return std::nullopt;
    return apdu::parse(*bytes).command;
}

// What a command is, for a diagnosis: "signature", "READ BINARY", … (never its data).
std::pair<std::string, std::string> command_kind(const StepResult& step,
                                                 const std::optional<apdu::Command>& command) {
    if (step.action == "sign" || (command && command->ins == 0x2A))
        return {"signature", "署名"};
    if (command && command->ins == 0xB0)
        return {"READ BINARY", "READ BINARY"};
    if (command && command->ins == 0xA4)
        return {"SELECT", "SELECT"};
    if (command && command->ins == 0x20)
        return {"VERIFY", "VERIFY"};
    return {fmt::format("\"{}\"", step.title_en), fmt::format("「{}」", step.title_ja)};
}

bool is_extended_exchange(const std::optional<apdu::Command>& command) {
    return command && apdu::is_extended(command->apdu_case());
}

std::string ms_text(std::int64_t us) {
    // Whole 100 ms from a second on (a lower bound: latency adds to the reader's timeout), else
    // 10 ms: timer jitter is not evidence.
    const std::int64_t ms = us >= 1000000 ? us / 100000 * 100 : us / 10000 * 10;
    return fmt::format("{}", ms);
}

// ---- The rules: each looks at one failed step and the reader, and may name a cause. ---------

struct StepContext {
    const Outcome& outcome;
    const StepResult& step;
    const model::Exchange* exchange;
    std::optional<apdu::Command> command;
    FailureKind failure; // None when the step met no failure of the transport
    bool optional_step;
};

// The environment failed: never the reader's fault, the session is untested.
Cause environment_cause(FailureKind kind, const std::string& where_en,
                        const std::string& where_ja) {
    const std::string at_en = where_en.empty() ? "" : fmt::format(" ({})", where_en);
    const std::string at_ja = where_ja.empty() ? "" : fmt::format("（{}）", where_ja);
    switch (kind) {
    case FailureKind::LabStopped:
        return Cause{
            "lab_stopped", Compatibility::Untested,
            fmt::format("the lab stopped during the session{}: not a reader result", at_en),
            fmt::format("セッション中にラボが停止した{}: リーダーの結果ではない", at_ja)};
    case FailureKind::Disk:
        return Cause{"disk", Compatibility::Untested,
                     fmt::format("the results could not be stored{}: not a reader result", at_en),
                     fmt::format("結果を保存できなかった{}: リーダーの結果ではない", at_ja)};
    default:
        return Cause{"pcscd_lost", Compatibility::Untested,
                     fmt::format("pcscd stopped or could not be reached during the session{}: "
                                 "not a reader result",
                                 at_en),
                     fmt::format("セッション中にpcscdが停止した（または接続できない）{}: "
                                 "リーダーの結果ではない",
                                 at_ja)};
    }
}

// pcscd reports a driver's IFD_RESPONSE_TIMEOUT as SCARD_E_NOT_TRANSACTED: a link failure after a
// long wait is a timeout too.
constexpr std::int64_t long_wait_us = 500000;

std::optional<Cause> rule_timeout(const StepContext& c) {
    const std::int64_t us =
        c.exchange && c.exchange->duration_us > 0 ? c.exchange->duration_us : c.step.duration_us;
    if (c.failure != FailureKind::Timeout && !(is_link_failure(c.failure) && us >= long_wait_us))
        return std::nullopt;
    const auto [kind, kind_ja] = command_kind(c.step, c.command);
    const std::string what = kind == "signature" ? "signing" : kind;
    const std::string what_ja = kind == "signature" ? "署名" : kind_ja;
    return Cause{"timeout_no_wtx", Compatibility::Incompatible,
                 fmt::format("{} timed out after {} ms: the reader does not do waiting-time "
                             "extension",
                             what, ms_text(us)),
                 fmt::format("{}が{} msでタイムアウト: リーダーが待ち時間延長 (WTX) "
                             "に対応していない",
                             what_ja, ms_text(us))};
}

std::optional<Cause> rule_message_too_long(const StepContext& c) {
    if (!is_link_failure(c.failure) || !c.command)
        return std::nullopt;
    const auto block = max_block(c.outcome.reader);
    if (!block)
        return std::nullopt;
    const auto level = exchange_level(c.outcome.reader);
    if (level == ccid::ExchangeLevel::Tpdu || level == ccid::ExchangeLevel::ExtendedApdu)
        return std::nullopt; // the driver or the reader splits long messages
    const std::size_t command_size = apdu::encode(*c.command).size();
    const std::size_t response_size = c.command->le ? *c.command->le + 2 : 2;
    const bool response_over = response_size > *block;
    const bool command_over = command_size > *block;
    if (!response_over && !command_over)
        return std::nullopt;
    const auto [kind, kind_ja] = command_kind(c.step, c.command);
    const std::size_t size = response_over ? response_size : command_size;
    const std::string limit = c.outcome.reader.descriptor
                                  ? fmt::format("a {}-byte message limit",
                                                c.outcome.reader.descriptor->max_message_length)
                                  : fmt::format("at most {} bytes per message", *block);
    const std::string limit_ja = c.outcome.reader.descriptor
                                     ? fmt::format("最大メッセージ長 {} バイト",
                                                   c.outcome.reader.descriptor->max_message_length)
                                     : fmt::format("1メッセージ最大 {} バイト", *block);
    const std::string level_en = level ? "is " + level_text(*level) + " level with" : "has";
    const std::string level_ja = level ? level_text_ja(*level) + "、" : "";
    return Cause{"message_too_long", Compatibility::Incompatible,
                 fmt::format("{}-byte {} {} failed; the reader {} {}", size, kind,
                             response_over ? "response" : "command", level_en, limit),
                 fmt::format("{}バイトの{}{}が失敗: リーダーは{}{}", size, kind_ja,
                             response_over ? "応答" : "コマンド", level_ja, limit_ja)};
}

// A short command with Le=00 (Ne 256) got its 9000 answer in this session.
bool le_zero_worked(const Outcome& o) {
    if (!o.session)
        return false;
    for (const auto& suite : o.session->suites)
        for (const auto& step : suite.steps)
            for (const auto& e : step.exchanges) {
                if (e.sw != std::uint16_t{0x9000})
                    continue;
                const auto command = parse_command(e.command);
                if (command && !is_extended_exchange(command) && command->le == std::size_t{256})
                    return true;
            }
    return false;
}

std::optional<Cause> rule_le_zero(const StepContext& c) {
    if (!is_link_failure(c.failure) || !c.command || is_extended_exchange(c.command))
        return std::nullopt;
    if (c.command->le != std::size_t{256})
        return std::nullopt;
    // Not when this reader carried a short Le=00 command in the same session: the failure is
    // something else (e.g. a flaky contact, which the CCID driver reports at TPDU level as a plain
    // communication error).
    if (le_zero_worked(c.outcome))
        return std::nullopt;
    const auto block = max_block(c.outcome.reader);
    if (block && *block < 258)
        return std::nullopt;
    const auto [kind, kind_ja] = command_kind(c.step, c.command);
    const std::string fits =
        c.outcome.reader.descriptor
            ? fmt::format(" although 258 bytes fit the reader's {}-byte messages",
                          c.outcome.reader.descriptor->max_message_length)
            : "";
    const std::string fits_ja = c.outcome.reader.descriptor
                                    ? fmt::format("（258バイトは{}バイトのメッセージに収まる）",
                                                  c.outcome.reader.descriptor->max_message_length)
                                    : "";
    return Cause{"le_zero_rejected", Compatibility::Incompatible,
                 fmt::format("{} with a short Le of 00 (256 bytes) failed{}: the reader "
                             "mishandles Le=00",
                             kind, fits),
                 fmt::format("Le=00（256バイト）の{}が失敗{}: リーダーがLe=00を正しく扱えない",
                             kind_ja, fits_ja)};
}

std::optional<Cause> rule_chaining(const StepContext& c) {
    const auto level = exchange_level(c.outcome.reader);
    // An extended exchange that failed, or a capability step (requires extended_apdu) whose data
    // check failed on an extended-level reader (e.g. a certificate read in one extended READ
    // BINARY that does not chain to its CA).
    const bool data_check = c.optional_step && c.failure == FailureKind::None &&
                            level == ccid::ExchangeLevel::ExtendedApdu;
    if (!is_extended_exchange(c.command) && !data_check)
        return std::nullopt;
    if (level && level != ccid::ExchangeLevel::ExtendedApdu)
        return std::nullopt;
    if (c.failure != FailureKind::None && !is_link_failure(c.failure))
        return std::nullopt;
    const auto [kind, kind_ja] = command_kind(c.step, c.command);
    std::size_t size = 0;
    if (c.exchange)
        size = c.exchange->response_size.value_or(0);
    const std::string size_en = size > 0 ? fmt::format(" ({}-byte response)", size) : "";
    const std::string size_ja = size > 0 ? fmt::format("（応答{}バイト）", size) : "";
    const bool failed = c.failure != FailureKind::None;
    const std::string how = failed ? "failed in transport" : "came back wrong";
    const std::string how_ja = failed ? "が通信エラー" : "の内容が不正";
    const std::string limit =
        c.outcome.reader.descriptor
            ? fmt::format(" ({}-byte messages)", c.outcome.reader.descriptor->max_message_length)
            : "";
    return Cause{"extended_chaining_faulty",
                 c.optional_step ? Compatibility::Partial : Compatibility::Incompatible,
                 fmt::format("extended-length {}{} {}: the reader's CCID chaining of long "
                             "messages is faulty{}; short APDUs are unaffected",
                             kind, size_en, how, limit),
                 fmt::format("拡張長の{}{}{}: リーダーのCCIDチェイニング（長いメッセージの分割）"
                             "に不具合{}。ショートAPDUは影響なし",
                             kind_ja, size_ja, how_ja, limit)};
}

std::optional<Cause> rule_removed(const StepContext& c) {
    if (c.failure != FailureKind::CardRemoved && c.failure != FailureKind::CardReset)
        return std::nullopt;
    if (c.outcome.card_back)
        return Cause{"card_lost", Compatibility::Incompatible,
                     fmt::format("the card dropped out during \"{}\" and came back: the reader "
                                 "lost contact with the card mid-session",
                                 c.step.title_en),
                     fmt::format("「{}」の途中でカードが一時的に失われた（再検出あり）: "
                                 "リーダーの接触が不安定",
                                 c.step.title_ja)};
    return Cause{
        "card_removed", Compatibility::Untested,
        fmt::format("the card was removed during \"{}\": the session is incomplete",
                    c.step.title_en),
        fmt::format("「{}」の途中でカードが抜かれた: セッションは未完了", c.step.title_ja)};
}

std::optional<Cause> rule_lost(const StepContext& c) {
    if (c.failure == FailureKind::ReaderGone)
        return Cause{"reader_lost", Compatibility::Untested,
                     fmt::format("reader removed during \"{}\": the reader was unplugged or pcscd "
                                 "lost it; the session is incomplete",
                                 c.step.title_en),
                     fmt::format("「{}」の途中でリーダーが取り外された（抜去、またはpcscdが"
                                 "見失った）: セッションは未完了",
                                 c.step.title_ja)};
    if (model::is_environment(c.failure))
        return environment_cause(c.failure, c.step.title_en, c.step.title_ja);
    return std::nullopt;
}

std::optional<Cause> rule_generic(const StepContext& c) {
    const std::string reason = c.step.reason_en.empty() ? "failed" : c.step.reason_en;
    const std::string reason_ja = c.step.reason_ja.empty() ? "失敗" : c.step.reason_ja;
    return Cause{c.failure != FailureKind::None ? "transport_failure" : "step_failed",
                 c.optional_step ? Compatibility::Partial : Compatibility::Incompatible,
                 fmt::format("\"{}\" failed: {}", c.step.title_en, reason),
                 fmt::format("「{}」が失敗: {}", c.step.title_ja, reason_ja)};
}

using Rule = std::optional<Cause> (*)(const StepContext&);
constexpr std::array<Rule, 7> step_rules{&rule_removed, &rule_lost,     &rule_message_too_long,
                                         &rule_timeout, &rule_chaining, &rule_le_zero,
                                         &rule_generic};

// ---- Rules on the reader × card before any step ran. -------------------------------------

std::optional<Cause> rule_not_seen(const Outcome& o) {
    if (o.card_seen)
        return std::nullopt;
    const auto& ifs = o.reader.interfaces;
    if (!o.presented_interface.empty() && !ifs.empty() && !has(ifs, o.presented_interface)) {
        std::string en, ja;
        if (o.presented_interface == "type_b" && ifs == std::vector<std::string>{"type_a"}) {
            en = "a Type A-only reader sees no Type B card";
            ja = "Type A専用リーダーはType Bカードを検出できない";
        } else if (o.presented_interface != "contact" &&
                   ifs == std::vector<std::string>{"contact"}) {
            en = "a contact-only reader sees no contactless card";
            ja = "接触専用リーダーは非接触カードを検出できない";
        } else if (o.presented_interface == "contact" && !has(ifs, "contact")) {
            en = "a contactless-only reader has no contact slot for the card";
            ja = "非接触専用リーダーには接触カードを挿すスロットがない";
        } else {
            en = fmt::format("the card is presented on {}, which the reader lacks (it has {})",
                             o.presented_interface, fmt::join(ifs, "+"));
            ja = fmt::format(
                "カードは{}で提示されたが、リーダーにはそのインターフェースがない（{}のみ）",
                o.presented_interface, fmt::join(ifs, "+"));
        }
        return Cause{"interface_not_supported", Compatibility::Incompatible, en, ja};
    }
    return Cause{"no_card", Compatibility::Untested, "no card seen in the reader",
                 "リーダーにカードが検出されない"};
}

std::optional<Cause> rule_connect(const Outcome& o) {
    if (!o.connect_failure)
        return std::nullopt;
    // Nothing to connect to: the reader went away, or the card was taken out first.
    if (*o.connect_failure == FailureKind::ReaderGone)
        return Cause{"reader_lost", Compatibility::Untested,
                     fmt::format("the reader went away before the session ({})", o.connect_error),
                     fmt::format("セッション前にリーダーが失われた（{}）", o.connect_error)};
    if (*o.connect_failure == FailureKind::CardRemoved)
        return Cause{"card_removed", Compatibility::Untested,
                     fmt::format("the card was removed before the session ({})", o.connect_error),
                     fmt::format("セッション前にカードが抜かれた（{}）", o.connect_error)};
    const atr::Atr decoded = o.card.atr.empty() ? atr::Atr{} : atr::decode(o.card.atr);
    // A contact card offers no protocol the reader declares (dwProtocols): nothing to negotiate,
    // so no PPS or other later step is to blame. (A contactless pseudo-ATR's protocols are
    // nominal: not judged here.)
    const bool contactless_card = decoded.contactless.has_value() ||
                                  o.presented_interface == "type_a" ||
                                  o.presented_interface == "type_b";
    if (o.reader.descriptor && !o.card.atr.empty() && !contactless_card) {
        const auto& d = *o.reader.descriptor;
        const auto spoken = [&](int t) {
            return (t == 0 && d.supports_t0()) || (t == 1 && d.supports_t1());
        };
        if (std::none_of(decoded.protocols.begin(), decoded.protocols.end(), spoken)) {
            std::vector<std::string> card_t, reader_t;
            for (const int t : decoded.protocols)
                card_t.push_back(fmt::format("T={}", t));
            if (d.supports_t0())
                reader_t.emplace_back("T=0");
            if (d.supports_t1())
                reader_t.emplace_back("T=1");
            const std::string declared = reader_t.empty()
                                             ? std::string("neither T=0 nor T=1")
                                             : fmt::format("only {}", fmt::join(reader_t, " and "));
            const std::string declared_ja =
                reader_t.empty() ? std::string("T=0もT=1も宣言していない")
                                 : fmt::format("{}のみを宣言している", fmt::join(reader_t, "と"));
            return Cause{
                "protocol_unsupported", Compatibility::Incompatible,
                fmt::format("the card speaks {}; the reader declares {} (dwProtocols "
                            "{:#010x}): connecting failed ({})",
                            fmt::join(card_t, " and "), declared, d.protocols, o.connect_error),
                fmt::format("カードは{}で通信するが、リーダーは{}（dwProtocols "
                            "{:#010x}）: 接続失敗（{}）",
                            fmt::join(card_t, "と"), declared_ja, d.protocols, o.connect_error)};
        }
    }
    const bool needs_pps = decoded.ta1_present && (decoded.fi_index != 1 || decoded.di_index != 1);
    const bool reader_pps =
        o.reader.descriptor && o.reader.descriptor->has_feature(ccid::feature::auto_pps);
    const bool reader_no_pps =
        o.reader.descriptor && !reader_pps &&
        o.reader.descriptor->max_data_rate_bps <= o.reader.descriptor->data_rate_bps;
    if (needs_pps && (o.connect_failure == FailureKind::ProtocolMismatch ||
                      o.connect_failure == FailureKind::Unresponsive || reader_no_pps)) {
        const std::uint8_t ta1 = decoded.raw.size() > 2 ? decoded.raw[2] : 0;
        const std::string evidence =
            reader_no_pps ? fmt::format(" (no automatic PPS, dwMaxDataRate {} bps = the default "
                                        "rate)",
                                        o.reader.descriptor->max_data_rate_bps)
                          : "";
        return Cause{"pps_unsupported", Compatibility::Incompatible,
                     fmt::format("the card's TA1={:02X} needs PPS the reader does not do{}: "
                                 "connecting failed ({})",
                                 ta1, evidence, o.connect_error),
                     fmt::format("カードのTA1={:02X}にはPPSが必要だが、リーダーがPPSを行わない: "
                                 "接続失敗（{}）",
                                 ta1, o.connect_error)};
    }
    return Cause{"connect_failed", Compatibility::Incompatible,
                 fmt::format("connecting to the card failed: {}", o.connect_error),
                 fmt::format("カードに接続できない: {}", o.connect_error)};
}

int rank(Compatibility c) {
    switch (c) {
    case Compatibility::Incompatible:
        return 3;
    case Compatibility::Partial:
        return 2;
    case Compatibility::Untested:
        return 1;
    case Compatibility::Compatible:
        return 0;
    }
    return 0;
}

void add_unique(std::vector<Cause>& causes, Cause cause) {
    // Losing the card or the reader is told once: the steps after it fail the same way.
    const bool once = cause.code == "card_lost" || cause.code == "card_removed" ||
                      cause.code == "reader_lost" || cause.code == "pcscd_lost" ||
                      cause.code == "lab_stopped" || cause.code == "disk";
    for (const auto& c : causes)
        if (c.code == cause.code && (once || c.en == cause.en))
            return;
    causes.push_back(std::move(cause));
}

void finish(Judgement& j) {
    std::stable_sort(j.causes.begin(), j.causes.end(), [](const Cause& a, const Cause& b) {
        return rank(a.effect) > rank(b.effect);
    });
    std::vector<std::string> en, ja;
    for (const auto& c : j.causes) {
        en.push_back(c.en);
        ja.push_back(c.ja);
    }
    j.diagnosis_en = fmt::format("{}", fmt::join(en, "; "));
    j.diagnosis_ja = fmt::format("{}", fmt::join(ja, "。"));
}

} // namespace

std::string level_text(ccid::ExchangeLevel level) {
    switch (level) {
    case ccid::ExchangeLevel::Character:
        return "character";
    case ccid::ExchangeLevel::Tpdu:
        return "TPDU";
    case ccid::ExchangeLevel::ShortApdu:
        return "short-APDU";
    case ccid::ExchangeLevel::ExtendedApdu:
        return "extended-APDU";
    case ccid::ExchangeLevel::Reserved:
        return "reserved";
    }
    return "unknown";
}

std::string level_text_ja(ccid::ExchangeLevel level) {
    switch (level) {
    case ccid::ExchangeLevel::Character:
        return "キャラクタレベル";
    case ccid::ExchangeLevel::Tpdu:
        return "TPDUレベル";
    case ccid::ExchangeLevel::ShortApdu:
        return "ショートAPDUレベル";
    case ccid::ExchangeLevel::ExtendedApdu:
        return "拡張APDUレベル";
    case ccid::ExchangeLevel::Reserved:
        return "予約値";
    }
    return "不明";
}

FailureKind failure_of(const StepResult& step) {
    if (step.failure != FailureKind::None && step.failure != FailureKind::RefusedByGuard &&
        step.failure != FailureKind::MissingInput)
        return step.failure;
    for (auto it = step.exchanges.rbegin(); it != step.exchanges.rend(); ++it)
        if (it->failure != FailureKind::None)
            return it->failure;
    return FailureKind::None;
}

bool is_link_failure(FailureKind failure) {
    return failure == FailureKind::Communication || failure == FailureKind::TooLong ||
           failure == FailureKind::TransportOther;
}

bool ends_on_link_failure(const model::Session& session) {
    FailureKind last = FailureKind::None;
    for (const auto& suite : session.suites)
        for (const auto& step : suite.steps)
            if (step.verdict == StepVerdict::Fail || step.verdict == StepVerdict::Error ||
                step.verdict == StepVerdict::Aborted)
                if (step.failure != FailureKind::MissingInput &&
                    step.failure != FailureKind::RefusedByGuard)
                    last = failure_of(step); // None for a status word: the reader was there
    return is_link_failure(last);
}

FailureKind environment_failure(const Outcome& o) {
    if (o.session && model::is_environment(o.session->failure))
        return o.session->failure;
    if (o.connect_failure && model::is_environment(*o.connect_failure))
        return *o.connect_failure;
    return FailureKind::None;
}

std::optional<std::size_t> expected_response_size(const std::string& command_hex) {
    const auto command = parse_command(command_hex);
    if (!command || !command->le)
        return std::nullopt;
    return *command->le + 2;
}

Judgement judge(const Outcome& o) {
    Judgement j;
    // The environment failed (pcscd, the lab, the disk): nothing in this session is evidence
    // about the reader, whatever its steps say.
    if (const FailureKind env = environment_failure(o); env != FailureKind::None) {
        const std::string where = o.session ? o.session->cause : o.connect_error;
        j.verdict = Compatibility::Untested;
        j.causes.push_back(environment_cause(env, where, where));
        finish(j);
        return j;
    }
    if (auto cause = rule_not_seen(o)) {
        j.verdict = cause->effect;
        j.causes.push_back(std::move(*cause));
        finish(j);
        return j;
    }
    if (auto cause = rule_connect(o)) {
        j.verdict = cause->effect;
        j.causes.push_back(std::move(*cause));
        finish(j);
        return j;
    }
    if (!o.session) {
        j.verdict = Compatibility::Untested;
        j.causes.push_back(Cause{"not_run", Compatibility::Untested, "no suite ran",
                                 "スイートが実行されなかった"});
        finish(j);
        return j;
    }

    std::size_t passed = 0, skipped = 0, failed = 0;
    std::vector<std::string> skipped_pins;
    // The reader or pcscd went away: the link failures just before it (the failing steps back to
    // the last one that passed) were its first signs, not the reader's doing. The CCID driver's
    // T=1 layer, for one, reports an unplug during a block as a plain communication error.
    std::set<const model::StepResult*> shadowed;
    {
        std::vector<const model::StepResult*> ordered;
        for (const auto& suite : o.session->suites)
            for (const auto& step : suite.steps)
                ordered.push_back(&step);
        const auto lost = std::find_if(ordered.begin(), ordered.end(), [](const auto* s) {
            const FailureKind f = failure_of(*s);
            return f == FailureKind::ReaderGone || f == FailureKind::NoService;
        });
        const auto k = static_cast<std::size_t>(lost - ordered.begin());
        // No step met the loss, but the run found the reader gone after the session (it asks
        // pcscd when a session ends on link failures): the session's trailing link failures were
        // the unplug's first signs, and the first of them is where the reader was lost.
        const bool lost_after =
            k == ordered.size() && o.session->failure == FailureKind::ReaderGone;
        const model::StepResult* first_sign = nullptr;
        if (k < ordered.size() || lost_after)
            for (std::size_t i = k; i-- > 0;) {
                const auto* s = ordered[i];
                if (s->verdict == StepVerdict::Pass)
                    break;
                if (is_link_failure(failure_of(*s))) {
                    shadowed.insert(s);
                    first_sign = s;
                }
            }
        if (lost_after && first_sign != nullptr) {
            const StepContext c{o,    *first_sign, nullptr, std::nullopt, FailureKind::ReaderGone,
                                false};
            if (auto cause = rule_lost(c))
                add_unique(j.causes, std::move(*cause));
        }
    }
    bool after_timeout = false; // a step timed out (timeout_no_wtx) and none passed since
    for (const auto& suite : o.session->suites) {
        for (const auto& step : suite.steps) {
            switch (step.verdict) {
            case StepVerdict::Pass:
                ++passed;
                after_timeout = false;
                continue;
            case StepVerdict::Skip:
                ++skipped;
                for (const auto& token : step.missing)
                    if (token.rfind("pin:", 0) == 0 && !has(skipped_pins, token))
                        skipped_pins.push_back(token);
                continue;
            case StepVerdict::Fail:
            case StepVerdict::Error:
            case StepVerdict::Aborted:
                break;
            }
            ++failed;
            const model::Exchange* exchange = failing_exchange(step);
            StepContext c{o,
                          step,
                          exchange,
                          exchange ? parse_command(exchange->command) : std::nullopt,
                          failure_of(step),
                          has(o.optional_steps, step.step_id)};
            if (shadowed.count(&step) != 0)
                continue;
            // An aborted step that met no failure of its own follows an earlier one: no cause.
            if (step.verdict == StepVerdict::Aborted && c.failure == FailureKind::None)
                continue;
            // A step that lacks a value an earlier failed step should have stored adds nothing.
            if (step.failure == FailureKind::MissingInput)
                continue;
            // A command the reader timed out on may still run in the card: the link failures that
            // follow (until a step passes) are that timeout's consequences, not causes of their
            // own.
            if (after_timeout && is_link_failure(c.failure))
                continue;
            for (Rule rule : step_rules)
                if (auto cause = rule(c)) {
                    after_timeout = after_timeout || cause->code == "timeout_no_wtx";
                    add_unique(j.causes, std::move(*cause));
                    break;
                }
        }
    }
    if (o.session->status == model::RunStatus::Incomplete && j.causes.empty())
        j.causes.push_back(Cause{"session_incomplete", Compatibility::Untested,
                                 fmt::format("the session is incomplete: {}", o.session->cause),
                                 fmt::format("セッションは未完了: {}", o.session->cause)});

    if (j.causes.empty()) {
        if (passed == 0) {
            j.verdict = Compatibility::Untested;
            j.causes.push_back(Cause{"nothing_passed", Compatibility::Untested,
                                     "no step ran to a result", "結果の出たステップがない"});
        } else {
            j.verdict = Compatibility::Compatible;
            std::string en = fmt::format("all {} steps that ran passed", passed);
            std::string ja = fmt::format("実行した{}ステップすべて合格", passed);
            if (skipped > 0) {
                en += fmt::format(" ({} skipped", skipped);
                ja += fmt::format("（{}ステップはスキップ", skipped);
                if (!skipped_pins.empty()) {
                    en += fmt::format("; not tested without a supplied PIN: {}",
                                      fmt::join(skipped_pins, ", "));
                    ja += fmt::format("。PIN未指定のため未試験: {}", fmt::join(skipped_pins, ", "));
                }
                en += ")";
                ja += "）";
            }
            j.causes.push_back(Cause{"all_passed", Compatibility::Compatible, en, ja});
        }
        finish(j);
        return j;
    }
    Compatibility worst = Compatibility::Compatible;
    for (const auto& c : j.causes)
        if (rank(c.effect) > rank(worst))
            worst = c.effect;
    // Only optional capabilities failed while the card's own functions passed: partial.
    j.verdict = worst;
    if (worst == Compatibility::Untested && passed > 0 && failed > 0)
        j.verdict = Compatibility::Untested;
    finish(j);
    return j;
}

} // namespace harness::plan
