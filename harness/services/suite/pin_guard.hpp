#pragma once
// The PIN guard (issue 4 §3, issue 8 §1): an io::CardChannel decorator through which the runner
// sends everything, so raw `apdu` steps cannot bypass it. Which commands can carry a PIN is
// pin_policy.hpp's one classifier. On a card that is neither an emulated test card nor a declared
// (strong-id) test card, the only PIN-bearing command ever sent is a plain VERIFY 00 20 00 80 of
// a PIN the user supplied, with the bytes equal to it and its format right (domain.md §5), and
// only inside one transaction (io::Transaction: SCardBeginTransaction) that re-selects the PIN's
// EF, reads its retry counter (case-1 VERIFY, no try spent) and finds at least `min_tries_left`
// tries, and finds no earlier failure of that PIN on that card — in this run or any earlier one
// (the station's io::PinFailureMemory, keyed by card id). Everything else that can carry a PIN
// (other classes, logical channels, secure messaging, chaining, odd INS, CHANGE REFERENCE DATA,
// ENABLE/DISABLE VERIFICATION REQUIREMENT, RESET RETRY COUNTER, ENVELOPE) is refused unsent.
#include "io/card_channel.hpp"
#include "io/failure_kind.hpp"
#include "io/station.hpp"
#include "services/suite/actions.hpp"
#include "services/suite/pin_policy.hpp"
#include "services/suite/pin_source.hpp"
#include "services/suite/redactor.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace harness::suite {

// The exact sentence a refused or failed PIN is reported with, and its Japanese equivalent.
inline constexpr std::string_view no_further_attempts_en = "no further attempts were made";
inline constexpr std::string_view no_further_attempts_ja = "これ以上の試行は行っていません";

struct GuardPolicy {
    CardTrust trust = CardTrust::Physical;
    std::string card_type;  // mynumber, juki, …: the Juki signing password has its own format
    int min_tries_left = 2; // configurable, never lower than 2 (clamped)
    // The key of the failure memory: this session's card id (from identify).
    std::string card_id;
    // Failures of earlier runs on this station (not owned); nullptr: this session's only.
    io::PinFailureMemory* remembered = nullptr;
};

// Survives the suites of one session: a failed PIN is never tried again in this run (and, through
// GuardPolicy::remembered, never again on this station until forgotten).
struct PinGuardState {
    std::set<PinName> failed;
    std::map<PinName, int> tries_left; // last counter read or reported
};

// A PIN the guard would not send (nothing reached the card).
class PinRefused : public Error {
public:
    PinRefused(std::optional<PinName> pin, std::optional<int> tries_left, std::string reason_en,
               std::string reason_ja);
    const std::optional<PinName>& pin() const { return pin_; }
    const std::optional<int>& tries_left() const { return tries_left_; }
    const std::string& reason_en() const { return reason_en_; }
    const std::string& reason_ja() const { return reason_ja_; }

private:
    std::optional<PinName> pin_;
    std::optional<int> tries_left_;
    std::string reason_en_, reason_ja_;
};

// A PIN that was sent and not accepted (63Cx, 6984, or anything but 9000).
struct PinFailure {
    PinName pin = PinName::Auth;
    std::optional<int> tries_left;
    std::uint16_t sw = 0;
    std::string reason_en, reason_ja; // end with the "no further attempts" sentence
};

// One exchange as it reached (or did not reach) the card, unredacted: observers redact.
struct WireExchange {
    Bytes command;
    Bytes response; // empty when not sent or on a transport error
    std::chrono::microseconds duration{0};
    std::string note;    // "PIN guard: retry counter query", "refused by the PIN guard: …"
    Selection selection; // in force when the command was sent
    bool sent = true;
    model::FailureKind failure = model::FailureKind::None; // the transport failure it met
};
// The observer owns what it is given (the guard keeps no part of it).
using ExchangeObserver = std::function<void(WireExchange)>;
using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

// The PIN a PIN EF guards: jpki/0018 auth, jpki/001B sign, text/0011 text, juki_ap/001C juki.
std::optional<PinName> pin_of(const std::string& app, std::uint16_t ef);
// The application and EF of a PIN (for select=yes steps).
std::pair<std::string, std::uint16_t> pin_location(PinName pin);
// domain.md §5: auth/text/juki 4 digits; sign 6–16 of A–Z 0–9; Juki signing password 4–16
// alphanumerics. Returns the reason when the value does not fit (never the value).
std::optional<std::string> pin_format_error(PinName pin, const std::string& card_type,
                                            ByteView value);

class PinGuard : public io::CardChannel {
public:
    PinGuard(io::CardChannel& inner, const PinSource& pins, GuardPolicy policy,
             PinGuardState& state, SteadyClock clock = {});

    // Throws PinRefused (after telling the observer, with sent=false) when the guard refuses;
    // io::TransportError from the inner channel passes through (the observer sees it first).
    Bytes transmit(ByteView command) override;
    Bytes atr() const override { return inner_.atr(); }
    io::Protocol protocol() const override { return inner_.protocol(); }
    void reset(io::ResetKind kind) override; // clears the selection
    std::string reader_name() const override { return inner_.reader_name(); }
    bool begin_transaction() override { return inner_.begin_transaction(); }
    void end_transaction() override { inner_.end_transaction(); }

    void set_observer(ExchangeObserver observer) { observer_ = std::move(observer); }
    // Note attached to the next exchange sent (e.g. "GET RESPONSE followed 61 10").
    void set_next_note(std::string note) { next_note_ = std::move(note); }
    // Forget the selection (after a reconnect the caller did on the inner channel).
    void clear_selection() { selection_ = {}; }
    const Selection& selection() const { return selection_; }
    const GuardPolicy& policy() const { return policy_; }
    // The last PIN failure since the previous call, if any.
    std::optional<PinFailure> take_failure();

private:
    Bytes send(ByteView command, std::string note);
    [[noreturn]] void refuse(ByteView command, std::optional<PinName> pin, std::optional<int> tries,
                             std::string reason_en, std::string reason_ja);
    Bytes guarded(ByteView command, const PinCommand& pin_command);
    void remember_failure(PinName pin, const std::string& what, std::string& note_en);

    io::CardChannel& inner_;
    const PinSource& pins_;
    GuardPolicy policy_;
    PinGuardState& state_;
    SteadyClock clock_;
    ExchangeObserver observer_;
    std::string next_note_;
    Selection selection_;
    std::optional<PinFailure> failure_;
};

} // namespace harness::suite
