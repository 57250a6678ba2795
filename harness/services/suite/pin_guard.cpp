#include "services/suite/pin_guard.hpp"

#include "pure/apdu.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fmt/core.h>

namespace harness::suite {

namespace {

constexpr std::uint8_t ins_verify = 0x20;

std::string pin_title_ja(PinName pin) {
    switch (pin) {
    case PinName::Auth:
        return "利用者証明用暗証番号";
    case PinName::Sign:
        return "署名用暗証番号";
    case PinName::Text:
        return "券面事項入力補助用暗証番号";
    case PinName::Juki:
        return "住基暗証番号";
    }
    return "暗証番号";
}

std::string tries_en(std::optional<int> tries) {
    return tries ? fmt::format("{} tries left", *tries) : std::string("tries left unknown");
}

std::string tries_ja(std::optional<int> tries) {
    return tries ? fmt::format("残り試行回数 {} 回", *tries) : std::string("残り試行回数は不明");
}

using apdu::sw_of; // a raw response's status word (pure/apdu)

// The tries a VERIFY's status word reports: 63Cx (apdu::retry_count), or none left when the PIN
// is blocked (6983 authentication method blocked, 6984 reference data not usable).
std::optional<int> tries_reported(std::uint16_t sw) {
    if (const auto count = apdu::retry_count(sw))
        return static_cast<int>(*count);
    if (sw == 0x6984 || sw == 0x6983)
        return 0;
    return std::nullopt;
}

} // namespace

PinRefused::PinRefused(std::optional<PinName> pin, std::optional<int> tries_left,
                       std::string reason_en, std::string reason_ja)
    : Error(reason_en), pin_(pin), tries_left_(tries_left), reason_en_(std::move(reason_en)),
      reason_ja_(std::move(reason_ja)) {}

std::optional<PinName> pin_of(const std::string& app, std::uint16_t ef) {
    if (app == "jpki" && ef == 0x0018)
        return PinName::Auth;
    if (app == "jpki" && ef == 0x001B)
        return PinName::Sign;
    if (app == "text" && ef == 0x0011)
        return PinName::Text;
    if (app == "juki_ap" && ef == 0x001C)
        return PinName::Juki;
    return std::nullopt;
}

std::pair<std::string, std::uint16_t> pin_location(PinName pin) {
    switch (pin) {
    case PinName::Auth:
        return {"jpki", 0x0018};
    case PinName::Sign:
        return {"jpki", 0x001B};
    case PinName::Text:
        return {"text", 0x0011};
    case PinName::Juki:
        return {"juki_ap", 0x001C};
    }
    return {"jpki", 0x0018};
}

std::optional<std::string> pin_format_error(PinName pin, const std::string& card_type,
                                            ByteView value) {
    const auto all = [&](auto predicate) {
        return std::all_of(value.begin(), value.end(), [&](std::uint8_t b) {
            return predicate(static_cast<unsigned char>(b));
        });
    };
    const auto digit = [](unsigned char c) { return c >= '0' && c <= '9'; };
    const auto upper_alnum = [](unsigned char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    };
    const auto alnum = [](unsigned char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    };
    const std::size_t n = value.size();
    switch (pin) {
    case PinName::Auth:
    case PinName::Text:
    case PinName::Juki:
        if (n != 4 || !all(digit))
            return fmt::format("the {} PIN must be 4 digits (got {} characters)", to_string(pin),
                               n);
        return std::nullopt;
    case PinName::Sign:
        if (card_type == "juki") {
            if (n < 4 || n > 16 || !all(alnum))
                return fmt::format(
                    "the Juki signing password must be 4-16 letters or digits (got {} characters)",
                    n);
            return std::nullopt;
        }
        if (n < 6 || n > 16 || !all(upper_alnum))
            return fmt::format(
                "the signing password must be 6-16 characters A-Z 0-9 (got {} characters)", n);
        return std::nullopt;
    }
    return std::string("unknown PIN");
}

PinGuard::PinGuard(io::CardChannel& inner, const PinSource& pins, GuardPolicy policy,
                   PinGuardState& state, SteadyClock clock)
    : inner_(inner), pins_(pins), policy_(std::move(policy)), state_(state),
      clock_(std::move(clock)) {
    policy_.min_tries_left = std::max(policy_.min_tries_left, 2);
    if (!clock_)
        clock_ = [] { return std::chrono::steady_clock::now(); };
}

void PinGuard::reset(io::ResetKind kind) {
    selection_ = {};
    inner_.reset(kind);
}

std::optional<PinFailure> PinGuard::take_failure() {
    auto out = std::move(failure_);
    failure_.reset();
    return out;
}

Bytes PinGuard::send(ByteView command, std::string note) {
    if (!next_note_.empty()) {
        note = note.empty() ? next_note_ : next_note_ + "; " + note;
        next_note_.clear();
    }
    WireExchange exchange;
    exchange.command.assign(command.begin(), command.end());
    exchange.selection = selection_;
    const auto start = clock_();
    try {
        exchange.response = inner_.transmit(command);
    } catch (const io::TransportError& error) {
        exchange.failure = io::kind_of(error);
        exchange.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock_() - start);
        exchange.note = note.empty() ? fmt::format("transport error: {}", error.what())
                                     : fmt::format("{}; transport error: {}", note, error.what());
        if (observer_)
            observer_(std::move(exchange));
        throw;
    }
    exchange.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock_() - start);
    exchange.note = std::move(note);
    track_selection(selection_, command, exchange.response);
    if (!observer_)
        return std::move(exchange.response);
    Bytes response = exchange.response; // the observer takes the exchange, with its own copy
    observer_(std::move(exchange));
    return response;
}

[[noreturn]] void PinGuard::refuse(ByteView command, std::optional<PinName> pin,
                                   std::optional<int> tries, std::string reason_en,
                                   std::string reason_ja) {
    reason_en = fmt::format("refused by the PIN guard: {}; {}; {}", reason_en, tries_en(tries),
                            no_further_attempts_en);
    reason_ja = fmt::format("PINガードが送信を拒否しました: {}。{}。{}。", reason_ja,
                            tries_ja(tries), no_further_attempts_ja);
    next_note_.clear();
    if (observer_) {
        WireExchange exchange;
        exchange.command.assign(command.begin(), command.end());
        exchange.selection = selection_;
        exchange.sent = false;
        exchange.note = "not sent: " + reason_en;
        observer_(std::move(exchange));
    }
    throw PinRefused(pin, tries, std::move(reason_en), std::move(reason_ja));
}

Bytes PinGuard::transmit(ByteView command) {
    const PinCommand pin_command = classify_pin_command(command);
    if (policy_.trust != CardTrust::Physical || pin_command.kind == PinCommandKind::None ||
        pin_command.counter_query())
        return send(command, {}); // test cards: wrong-PIN and blocking tests may run
    switch (pin_command.kind) {
    case PinCommandKind::Verify:
        return guarded(command, pin_command);
    case PinCommandKind::Envelope:
        refuse(command, std::nullopt, std::nullopt,
               "ENVELOPE could carry a PIN past the guard and is never sent to a card that is "
               "not a test card",
               "ENVELOPE は暗証番号を運べるため、テストカード以外には送信しません");
    default:
        refuse(command, std::nullopt, std::nullopt,
               fmt::format("{} is never sent to a card that is not a test card",
                           to_string(pin_command.kind)),
               fmt::format("テストカード以外に {} は送信しません", to_string(pin_command.kind)));
    }
}

void PinGuard::remember_failure(PinName pin, const std::string& what, std::string& note_en) {
    state_.failed.insert(pin);
    if (policy_.remembered == nullptr)
        return;
    try {
        io::PinFailureRecord record;
        record.card_id = policy_.card_id;
        record.pin = to_string(pin);
        const std::time_t t = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char when[32];
        std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        record.when = when;
        record.what = what;
        policy_.remembered->remember(record);
        note_en = fmt::format("; remembered on this station: not sent to card {} again until "
                              "`cardharness pins forget --card {}`",
                              policy_.card_id, policy_.card_id);
    } catch (const std::exception& e) {
        note_en = fmt::format("; the failure could not be remembered for later runs: {}", e.what());
    }
}

Bytes PinGuard::guarded(ByteView command, const PinCommand& pin_command) {
    // Logical channels, secure messaging, chaining, the odd INS and references other than the
    // selected EF would make the file the card acts on not the one the guard checked: a PIN goes
    // only as a plain 00 20 00 80.
    if (!pin_command.plain || command[1] != ins_verify)
        refuse(command, std::nullopt, std::nullopt,
               fmt::format("a PIN is sent only as a plain VERIFY (CLA 00 INS 20: basic channel, "
                           "no secure messaging or chaining), not CLA {:02X} INS {:02X}",
                           command[0], command[1]),
               fmt::format("暗証番号は CLA 00 INS 20 の VERIFY でのみ送信します (CLA {:02X} INS "
                           "{:02X} は不可)",
                           command[0], command[1]));
    if (!pin_command.current_ef_reference)
        refuse(command, std::nullopt, std::nullopt,
               fmt::format("a PIN is sent only with P1 00 P2 80 (the selected PIN EF), not P1 "
                           "{:02X} P2 {:02X}",
                           command[2], command[3]),
               "暗証番号は P1 00 P2 80 (選択中の暗証番号 EF) でのみ送信します");
    const auto pin = selection_.known && selection_.aid && selection_.ef
                         ? pin_of(selection_.app, *selection_.ef)
                         : std::nullopt;
    if (!pin)
        refuse(command, std::nullopt, std::nullopt,
               "the PIN EF this VERIFY addresses is not a known PIN (select auth 0018, sign "
               "001B, text 0011 or juki 001C in its application first)",
               "この VERIFY の対象が既知の暗証番号 EF ではありません");
    const auto known_tries = [&]() -> std::optional<int> {
        const auto it = state_.tries_left.find(*pin);
        return it == state_.tries_left.end() ? std::nullopt : std::optional<int>(it->second);
    };
    if (state_.failed.count(*pin) != 0)
        refuse(command, pin, known_tries(),
               fmt::format("an earlier attempt on the {} PIN failed in this run", to_string(*pin)),
               fmt::format("この実行で{}の試行が既に失敗しています", pin_title_ja(*pin)));
    const auto supplied = pins_.get(*pin);
    const Bytes supplied_bytes = supplied ? bytes_of(*supplied) : Bytes{};
    const apdu::ParseResult parsed = apdu::parse(command);
    std::optional<std::string> why_en;
    std::string why_ja;
    if (!supplied) {
        why_en = fmt::format("the {} PIN was not supplied (--pins FILE, {} or the prompt)",
                             to_string(*pin), pin_environment_variable(*pin));
        why_ja = fmt::format("{}が指定されていません", pin_title_ja(*pin));
    } else if (!parsed.command || parsed.command->data != supplied_bytes || parsed.command->le) {
        why_en = fmt::format("the bytes do not equal the supplied {} PIN", to_string(*pin));
        why_ja = fmt::format("送信内容が指定された{}と一致しません", pin_title_ja(*pin));
    } else if (const auto format = pin_format_error(*pin, policy_.card_type, supplied_bytes)) {
        why_en = *format;
        why_ja = fmt::format("{}の形式が正しくありません", pin_title_ja(*pin));
    }
    if (policy_.card_id.empty())
        refuse(command, pin, known_tries(),
               "the card has no id, so a failure could not be remembered for it",
               "カード ID がないため、失敗を記憶できません");

    // One transaction: no other client can select another EF, spend a try or reset the card
    // between the failure memory check, the counter read and the VERIFY.
    io::Transaction transaction(inner_);
    if (!transaction.held())
        refuse(
            command, pin, known_tries(),
            "this connection cannot keep other clients out (no PC/SC transaction), so the "
            "retry counter read and the VERIFY could not be one atomic step",
            "この接続では他のクライアントを排除できない (トランザクションなし) ため送信しません");
    bool remembered = false;
    if (policy_.remembered != nullptr) {
        try {
            remembered = policy_.remembered->has_failed(policy_.card_id, to_string(*pin));
        } catch (const std::exception& e) {
            refuse(command, pin, known_tries(),
                   fmt::format("the memory of failed PINs could not be read ({})", e.what()),
                   "失敗した暗証番号の記録を読み取れませんでした");
        }
    }
    if (remembered) {
        state_.failed.insert(*pin);
        refuse(command, pin, known_tries(),
               fmt::format("the {} PIN failed on card {} before (remembered on this station); it "
                           "is not sent to this card again until `cardharness pins forget --card "
                           "{}`",
                           to_string(*pin), policy_.card_id, policy_.card_id),
               fmt::format("このカード ({}) では以前に{}が失敗しています。`cardharness pins forget "
                           "--card {}` で記録を消すまで送信しません",
                           policy_.card_id, pin_title_ja(*pin), policy_.card_id));
    }
    // Re-select the PIN's application and EF inside the transaction: VERIFY 00 20 00 80 acts on
    // the current EF, which another client could have changed since the suite selected it.
    const Bytes aid = *selection_.aid;
    const std::uint16_t ef = *selection_.ef;
    const auto reselect = [&](const Bytes& select, const char* what) {
        const Bytes answer = send(select, fmt::format("PIN guard: re-select the {} inside the "
                                                      "transaction",
                                                      what));
        if (sw_of(answer) != 0x9000)
            refuse(command, pin, known_tries(),
                   fmt::format("the {} PIN's {} could not be selected again (SW {:04X})",
                               to_string(*pin), what, sw_of(answer)),
                   fmt::format("{}の {} を再選択できませんでした", pin_title_ja(*pin), what));
    };
    reselect(apdu::encode(apdu::select_aid(aid)), "application");
    reselect(apdu::encode(apdu::select_ef(ef)), "PIN EF");
    // The retry counter, read without spending a try (domain.md §4): also for a refusal, so the
    // report can say how many tries are left.
    const Bytes query{0x00, ins_verify, 0x00, 0x80};
    const Bytes answer =
        send(query, "PIN guard: retry counter query (case-1 VERIFY, no try spent)");
    const std::uint16_t query_sw = sw_of(answer);
    const std::optional<int> tries = tries_reported(query_sw);
    if (tries)
        state_.tries_left[*pin] = *tries;
    if (why_en)
        refuse(command, pin, tries, *why_en, why_ja);
    if (!tries)
        refuse(command, pin, std::nullopt,
               fmt::format("the retry counter of the {} PIN could not be read (SW {:04X})",
                           to_string(*pin), query_sw),
               fmt::format("{}の残り試行回数を読み取れませんでした", pin_title_ja(*pin)));
    if (*tries < policy_.min_tries_left)
        refuse(command, pin, tries,
               fmt::format("the {} PIN has {} tries left and the guard needs at least {}",
                           to_string(*pin), *tries, policy_.min_tries_left),
               fmt::format("{}の残り試行回数が {} 回で、必要な {} 回に足りません",
                           pin_title_ja(*pin), *tries, policy_.min_tries_left));

    Bytes result;
    std::string memory_note;
    try {
        result = send(command, fmt::format("PIN guard: {} PIN sent with {} tries left",
                                           to_string(*pin), *tries));
    } catch (const io::TransportError& error) {
        // The card may have counted a try before the answer was lost: never again.
        remember_failure(*pin, fmt::format("no answer ({})", io::to_string(error.failure())),
                         memory_note);
        throw;
    }
    const std::uint16_t sw = sw_of(result);
    if (sw == 0x9000)
        return result;
    const std::optional<int> left = tries_reported(sw);
    remember_failure(*pin, fmt::format("SW {:04X}", sw), memory_note);
    if (left)
        state_.tries_left[*pin] = *left;
    PinFailure failure;
    failure.pin = *pin;
    failure.tries_left = left;
    failure.sw = sw;
    failure.reason_en =
        fmt::format("the card did not accept the {} PIN (SW {:04X}); {}; {}{}", to_string(*pin), sw,
                    tries_en(left), no_further_attempts_en, memory_note);
    failure.reason_ja = fmt::format("カードが{}を受け付けませんでした (SW {:04X})。{}。{}。",
                                    pin_title_ja(*pin), sw, tries_ja(left), no_further_attempts_ja);
    failure_ = std::move(failure);
    return result;
}

} // namespace harness::suite
