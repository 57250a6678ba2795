#include "services/suite/runner.hpp"

#include "io/csv.hpp"
#include "pure/apdu.hpp"
#include "pure/openssl.hpp"
#include "pure/status_words.hpp"
#include "pure/tlv.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace harness::suite {

namespace {

using model::StepVerdict;

constexpr std::size_t max_recorded_exchanges = 200; // then only failures and notes
constexpr std::size_t max_extra_exchanges = 100;
constexpr int max_follow = 300; // 61xx / 6Cxx follow-ups per command

using apdu::data_of; // a raw response's data and status word (pure/apdu)
using apdu::sw_of;

// Failures after which nothing more can reach the card in this session.
bool aborts_run(model::FailureKind kind) {
    return kind == model::FailureKind::CardRemoved || kind == model::FailureKind::ReaderGone ||
           model::is_environment(kind);
}

// A value an earlier step should have stored is missing: a consequence of that step's failure.
class MissingInput : public Error {
public:
    using Error::Error;
};

std::string failure_ja(io::TransportFailure failure) {
    switch (failure) {
    case io::TransportFailure::CardRemoved:
        return "カードが取り外されました";
    case io::TransportFailure::ReaderGone:
        return "リーダーが切断されました";
    case io::TransportFailure::ServiceGone:
        return "PC/SC サービス (pcscd) が停止しました";
    case io::TransportFailure::Timeout:
        return "リーダーが応答待ちでタイムアウトしました";
    case io::TransportFailure::Communication:
        return "リーダーとの通信エラー";
    default:
        return "伝送エラー";
    }
}

// A step's outcome before the common bookkeeping (timeouts, PIN failures, redaction).
struct Outcome {
    StepVerdict verdict = StepVerdict::Pass;
    std::string en, ja;
    std::optional<std::uint16_t> sw;
    nlohmann::json measurements = nlohmann::json::object();
    model::FailureKind failure = model::FailureKind::None; // typed: what the step met
};

Outcome pass(std::string en, std::string ja) {
    return {StepVerdict::Pass, std::move(en), std::move(ja), std::nullopt, {}};
}
Outcome fail(std::string en, std::string ja) {
    return {StepVerdict::Fail, std::move(en), std::move(ja), std::nullopt, {}};
}

// A SELECT the card refused: a failure with its status word ("SELECT EF 000A answered SW 6A82").
Outcome select_refused(std::uint16_t sw, const std::string& what_en, const std::string& what_ja) {
    Outcome out = fail(fmt::format("SELECT {} answered SW {}", what_en, sw::format(sw)),
                       fmt::format("{} の SELECT が SW {} を返しました", what_ja, sw::format(sw)));
    out.sw = sw;
    return out;
}
Outcome skip(std::string en, std::string ja) {
    return {StepVerdict::Skip, std::move(en), std::move(ja), std::nullopt, {}};
}

const EVP_MD* md_of(HashAlgorithm hash) {
    switch (hash) {
    case HashAlgorithm::Sha1:
        return EVP_sha1();
    case HashAlgorithm::Sha256:
        return EVP_sha256();
    case HashAlgorithm::Sha384:
        return EVP_sha384();
    case HashAlgorithm::Sha512:
        return EVP_sha512();
    }
    return EVP_sha256();
}

Bytes digest(HashAlgorithm hash, std::string_view message) {
    return openssl::digest(
        md_of(hash),
        ByteView(reinterpret_cast<const std::uint8_t*>(message.data()), message.size()));
}

using openssl::parse_certificate;
using openssl::X509Ptr;

// The pieces joined, with one allocation (the reasons of every step are built here).
std::string concat(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (const auto part : parts)
        size += part.size();
    std::string out(size, '\0');
    char* at = out.data();
    for (const auto part : parts) {
        if (!part.empty()) // memcpy from a null pointer is undefined, even for 0 bytes
            std::memcpy(at, part.data(), part.size());
        at += part.size();
    }
    return out;
}

std::string wrong_pin_for(PinName pin, const std::optional<std::string>& supplied) {
    std::string wrong = pin == PinName::Sign ? "WRONG0PW" : "0000";
    if (supplied && *supplied == wrong)
        wrong = pin == PinName::Sign ? "WRONG1PW" : "9999";
    return wrong;
}

class Runner {
public:
    Runner(io::CardChannel& channel, RunContext& ctx)
        : channel_(channel), ctx_(ctx), redactor_(ctx.the_redactor()),
          guard_(channel, ctx.pins,
                 GuardPolicy{ctx.trust, ctx.card_type, std::max(ctx.min_tries_left, 2), ctx.card_id,
                             ctx.failed_pins.get()},
                 ctx.guard_state, ctx.clock) {
        guard_.set_observer([this](WireExchange w) { record(std::move(w)); });
        for (const auto& value : ctx_.pins.values())
            redactor_.add_secret(value);
    }

    model::SuiteResult run(const model::Suite& suite, const std::vector<StepPlan>& plan);

private:
    Bytes xmit(ByteView command, Follow follow);
    Outcome execute(const model::SuiteStep& step, const StepPlan& plan);
    // The verdict of a response against the step's expectations, worded with `what`; with
    // Words::None only the verdict and SW (a loop that words only its first failure).
    enum class Words { All, None };
    Outcome judge(const StepPlan& plan, ByteView response, const std::string& what,
                  Words words = Words::All);
    Outcome select_app(const std::string& app);
    Outcome select_file(std::uint16_t fid, bool fci = false);
    // SELECT the PIN's application, then its EF: the first refusal is the outcome.
    Outcome select_pin(PinName pin);
    void store(const std::optional<std::string>& name, ByteView value, bool personal);
    Bytes var(const std::string& name) const;
    void record(WireExchange w);
    void redact_step(model::StepResult& r, Outcome& out);
    void record_event(std::string command, std::string response, std::int64_t duration_us,
                      std::string note);
    std::int64_t now_us() const;

    Outcome do_apdu(const ApduArgs& a, const StepPlan& plan);
    Outcome do_select_aid(const SelectAidArgs& a, const StepPlan& plan);
    Outcome do_select_ef(const SelectEfArgs& a, const StepPlan& plan);
    Outcome do_read_ef(const ReadEfArgs& a, const StepPlan& plan);
    Outcome do_pin_tries(const PinTriesArgs& a, const StepPlan& plan);
    Outcome do_verify_pin(const VerifyPinArgs& a, const StepPlan& plan);
    Outcome do_sign(const SignArgs& a, const StepPlan& plan);
    Outcome do_check_cert(const CheckCertArgs& a);
    Outcome do_reset(const ResetArgs& a, const StepPlan& plan);
    Outcome do_reconnect(const ReconnectArgs& a);
    Outcome do_expect_removed(const ExpectRemovedArgs& a);
    Outcome do_atr(const AtrArgs& a, const StepPlan& plan);
    Outcome do_repeat(const RepeatArgs& a, const StepPlan& plan);
    Outcome do_sweep(const SweepArgs& a, const StepPlan& plan);

    io::CardChannel& channel_;
    RunContext& ctx_;
    Redactor& redactor_;
    PinGuard guard_;
    model::StepResult* current_ = nullptr;
    // This step's exchanges as they went over the wire, redacted once when the step ends (after
    // every secret the step learnt is known): index into current_->exchanges + the raw exchange.
    std::vector<std::pair<std::size_t, WireExchange>> pending_;
    bool step_personal_ = false;
    std::size_t omitted_ = 0;
    std::size_t extra_recorded_ = 0;
};

std::int64_t Runner::now_us() const {
    const auto t = ctx_.clock ? ctx_.clock() : std::chrono::steady_clock::now();
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void Runner::record(WireExchange w) {
    if (current_ == nullptr)
        return;
    const bool personal = w.response.size() > 2 && redactor_.is_personal(w.selection, w.command);
    if (personal) {
        step_personal_ = true;
        redactor_.add_secret(data_of(w.response));
    }
    const std::uint16_t sw = sw_of(w.response);
    const bool notable = !w.note.empty() || !w.sent || (sw != 0x9000 && (sw >> 8) != 0x61);
    if (current_->exchanges.size() >= max_recorded_exchanges) {
        if (!notable || extra_recorded_ >= max_extra_exchanges) {
            ++omitted_;
            return;
        }
        ++extra_recorded_;
    }
    current_->exchanges.emplace_back(); // filled by redact_step
    pending_.emplace_back(current_->exchanges.size() - 1, std::move(w));
}

// Once per step: every exchange, the reasons and the measurements pass the redactor here, after
// the step registered every secret it met (a value read at the end of a step is scrubbed from
// the step's earlier exchanges too).
void Runner::redact_step(model::StepResult& r, Outcome& out) {
    for (auto& [index, w] : pending_) {
        RedactedExchange x = redactor_.redact(w.command, w.response, w.selection);
        model::Exchange& e = r.exchanges[index];
        e.command = std::move(x.command);
        if (w.sent)
            e.response = std::move(x.response);
        if (w.response.size() >= 2)
            e.sw = sw_of(w.response);
        e.duration_us = w.duration.count();
        e.note = std::move(w.note);
        redactor_.scrub_in_place(e.note);
        e.failure = w.failure;
        if (w.sent && w.failure == model::FailureKind::None)
            e.response_size = w.response.size();
        OPENSSL_cleanse(w.response.data(), w.response.size());
        OPENSSL_cleanse(w.command.data(), w.command.size());
    }
    pending_.clear();
    r.reason_en = std::move(out.en);
    redactor_.scrub_in_place(r.reason_en);
    r.reason_ja = std::move(out.ja);
    redactor_.scrub_in_place(r.reason_ja);
    // Numbers and names the runner made; most steps have none ("{}", as dump() writes it).
    r.measurements_json =
        out.measurements.is_object() && out.measurements.empty() ? "{}" : out.measurements.dump();
}

void Runner::record_event(std::string command, std::string response, std::int64_t duration_us,
                          std::string note) {
    if (current_ == nullptr)
        return;
    model::Exchange e;
    e.command = std::move(command);
    e.response = std::move(response);
    e.duration_us = duration_us;
    e.note = std::move(note);
    current_->exchanges.push_back(std::move(e));
}

// Sends through the guard; follows 61xx (GET RESPONSE) and 6Cxx (Le correction) only when the
// step says so, each extra exchange recorded with a note. Returns the data gathered + last SW.
Bytes Runner::xmit(ByteView command, Follow follow) {
    Bytes response = guard_.transmit(command);
    const bool follow_61 = follow == Follow::GetResponse || follow == Follow::Both;
    const bool follow_6c = follow == Follow::LeCorrection || follow == Follow::Both;
    Bytes gathered;
    for (int i = 0; i < max_follow; ++i) {
        const std::uint16_t sw = sw_of(response);
        const auto sw1 = static_cast<std::uint8_t>(sw >> 8);
        const auto sw2 = static_cast<std::uint8_t>(sw & 0xFF);
        if (sw1 == 0x61 && follow_61) {
            const ByteView data = data_of(response);
            gathered.insert(gathered.end(), data.begin(), data.end());
            guard_.set_next_note(fmt::format("GET RESPONSE followed 61 {:02X}", sw2));
            const Bytes get = apdu::encode(apdu::get_response(sw2 == 0 ? 256 : sw2));
            response = guard_.transmit(get);
            continue;
        }
        if (sw1 == 0x6C && follow_6c && command.size() >= 5) {
            // ISO 7816-4 §5.1.3: re-send the same command with Le = SW2 (short Le field).
            Bytes again(command.begin(), command.end());
            const apdu::ParseResult parsed = apdu::parse(command);
            if (parsed.command && !parsed.command->le &&
                parsed.command->form != apdu::Form::Extended)
                again.push_back(sw2);
            else
                again.back() = sw2;
            guard_.set_next_note(fmt::format("re-sent with Le={:02X} after 6C {:02X}", sw2, sw2));
            response = guard_.transmit(again);
            continue;
        }
        break;
    }
    if (gathered.empty())
        return response;
    gathered.insert(gathered.end(), response.begin(), response.end());
    return gathered;
}

Outcome Runner::judge(const StepPlan& plan, ByteView response, const std::string& what,
                      Words words) {
    Outcome out;
    const std::uint16_t sw = sw_of(response);
    out.sw = sw;
    if (!plan.expect_sw.matches(sw)) {
        out.verdict = StepVerdict::Fail;
        if (words == Words::None)
            return out;
        const auto d = sw::describe(sw);
        const std::string sws = sw::format(sw);
        const std::string expected = plan.expect_sw.to_string();
        out.en = concat({what, ": SW ", sws, " (", d.text, "), expected ", expected});
        out.ja = concat({what, ": SW ", sws, " (", d.text_ja, ")、期待値 ", expected});
        return out;
    }
    if (!plan.expect_data.empty()) {
        if (auto why = plan.expect_data.check(data_of(response))) {
            out.verdict = StepVerdict::Fail;
            if (words == Words::None)
                return out;
            const std::string sws = sw::format(sw);
            const std::string_view detail =
                step_personal_ ? std::string_view("details withheld: personal data") : *why;
            out.en = concat({what, ": SW ", sws, " but the data do not match ",
                             plan.expect_data.text, ": ", detail});
            out.ja = concat({what, ": SW ", sws, " ですがデータが期待 (", plan.expect_data.text,
                             ") と一致しません: ", detail});
            return out;
        }
    }
    if (words == Words::None)
        return out;
    const std::string sws = sw::format(sw);
    const std::string expected = plan.expect_sw.to_string();
    const std::string size = std::to_string(data_of(response).size());
    out.en = concat({what, ": SW ", sws, " as expected (", expected, "), ", size, " data bytes"});
    out.ja =
        concat({what, ": SW ", sws, " は期待どおり (", expected, ")、データ ", size, " バイト"});
    return out;
}

Bytes Runner::var(const std::string& name) const {
    const auto it = ctx_.variables.find(name);
    if (it == ctx_.variables.end())
        throw MissingInput(
            fmt::format("variable {} has no value (no earlier step stored it)", name));
    return it->second;
}

void Runner::store(const std::optional<std::string>& name, ByteView value, bool personal) {
    if (!name)
        return;
    ctx_.variables[*name] = Bytes(value.begin(), value.end());
    if (personal) {
        ctx_.personal_variables.insert(*name);
        redactor_.add_secret(value);
    }
}

Outcome Runner::select_app(const std::string& app) {
    std::vector<std::string> names{"aid." + app};
    if (app == "juki_ap")
        names.push_back("aid.juki_ap_alt");
    std::uint16_t sw = 0;
    for (const auto& name : names) {
        const auto it = ctx_.variables.find(name);
        if (it == ctx_.variables.end())
            continue;
        sw = sw_of(xmit(apdu::encode(apdu::select_aid(it->second)), Follow::None));
        if (sw == 0x9000)
            return pass({}, {});
    }
    return select_refused(sw, fmt::format("of the {} application", app), fmt::format("{} AP", app));
}

Outcome Runner::select_file(std::uint16_t fid, bool fci) {
    const Bytes response =
        xmit(apdu::encode(apdu::select_ef(fid, fci ? 0x00 : 0x0C)), Follow::None);
    const std::uint16_t sw = sw_of(response);
    if (sw == 0x9000)
        return pass({}, {});
    return select_refused(sw, fmt::format("EF {:04X}", fid), fmt::format("EF {:04X}", fid));
}

Outcome Runner::select_pin(PinName pin) {
    const auto [app, ef] = pin_location(pin);
    Outcome s = select_app(app);
    if (s.verdict != StepVerdict::Pass)
        return s;
    return select_file(ef);
}

Outcome Runner::do_apdu(const ApduArgs& a, const StepPlan& plan) {
    const Bytes command = a.command.substitute(ctx_.variables);
    // Asked before sending: the selection in force when the command went (no copy of it kept).
    const bool personal_target = redactor_.is_personal(guard_.selection(), command);
    const Bytes response = xmit(command, a.follow);
    const bool personal = personal_target && response.size() > 2;
    store(a.store, data_of(response), personal);
    return judge(plan, response, "APDU");
}

Outcome Runner::do_select_aid(const SelectAidArgs& a, const StepPlan& plan) {
    const Bytes aid = a.aid.substitute(ctx_.variables);
    apdu::Command command = apdu::select_aid(aid, a.fci ? 0x00 : 0x0C);
    if (a.fci)
        command.le = 256;
    return judge(plan, xmit(apdu::encode(command), Follow::None), "SELECT AID");
}

Outcome Runner::do_select_ef(const SelectEfArgs& a, const StepPlan& plan) {
    const Bytes fid = a.fid.substitute(ctx_.variables);
    if (fid.size() != 2)
        throw Error(fmt::format("select_ef: the file id must be 2 bytes, got {}", fid.size()));
    apdu::Command command =
        apdu::select_ef(static_cast<std::uint16_t>((fid[0] << 8) | fid[1]), a.fci ? 0x00 : 0x0C);
    if (a.fci)
        command.le = 256;
    return judge(plan, xmit(apdu::encode(command), Follow::None), "SELECT EF");
}

// Header-driven (DER length from the first bytes), fixed-length or one extended-Le read.
Outcome Runner::do_read_ef(const ReadEfArgs& a, const StepPlan& plan) {
    if (a.fid) {
        const Bytes fid = a.fid->substitute(ctx_.variables);
        if (fid.size() != 2)
            throw Error("read_ef: the file id must be 2 bytes");
        Outcome sel = select_file(static_cast<std::uint16_t>((fid[0] << 8) | fid[1]));
        if (sel.verdict != StepVerdict::Pass)
            return sel;
    }
    const Selection selection = guard_.selection();
    Bytes content;
    std::uint16_t last_sw = 0;
    std::size_t reads = 0;
    bool complete = false;
    std::string problem_en, problem_ja;
    const auto read = [&](std::size_t offset, std::size_t le) -> std::optional<Bytes> {
        const Bytes response = xmit(
            apdu::encode(apdu::read_binary(static_cast<std::uint16_t>(offset), le)), Follow::None);
        ++reads;
        last_sw = sw_of(response);
        if (last_sw != 0x9000 && last_sw != 0x6282)
            return std::nullopt;
        const ByteView data = data_of(response);
        return Bytes(data.begin(), data.end());
    };
    if (a.mode == ReadMode::Extended) {
        if (auto data = read(0, apdu::max_extended_ne)) {
            content = std::move(*data);
            complete = true;
        }
    } else {
        std::size_t total = a.length;
        if (a.mode == ReadMode::Header) {
            if (auto first = read(0, a.header)) {
                content = std::move(*first);
                const auto length = tlv::total_der_length(content);
                if (!length) {
                    problem_en = "the first bytes are not a DER header with a definite length";
                    problem_ja = "先頭のバイトが長さ確定の DER ヘッダーではありません";
                } else {
                    total = *length;
                }
            }
        }
        while (problem_en.empty() && content.size() < total && last_sw != 0x6282 &&
               (reads == 0 || last_sw == 0x9000)) {
            if (content.size() > 0x7FFF) {
                problem_en = "the EF is longer than a 15-bit READ BINARY offset reaches";
                problem_ja = "EF が 15 ビットのオフセットで届く長さを超えています";
                break;
            }
            const std::size_t chunk =
                a.fit ? std::max<std::size_t>(1, std::min(a.chunk, ctx_.max_short_le)) : a.chunk;
            const std::size_t le = std::min(chunk, total - content.size());
            auto data = read(content.size(), le);
            if (!data)
                break;
            if (data->empty()) {
                problem_en = "READ BINARY returned no data before the end of the object";
                problem_ja = "オブジェクトの終わりの前に READ BINARY がデータを返しませんでした";
                break;
            }
            content.insert(content.end(), data->begin(), data->end());
        }
        complete = problem_en.empty() && content.size() >= total && total > 0;
        if (content.size() > total && total > 0)
            content.resize(total);
    }
    const bool personal = redactor_.is_personal(selection, Bytes{0x00, 0xB0, 0x00, 0x00});
    if (personal && !content.empty())
        redactor_.add_secret(content);
    Outcome out;
    out.sw = last_sw;
    out.measurements = {{"bytes", content.size()}, {"reads", reads}, {"mode", to_string(a.mode)}};
    if (!complete) {
        out.verdict = StepVerdict::Fail;
        out.en = problem_en.empty()
                     ? fmt::format("READ BINARY answered SW {} after {} bytes in {} reads",
                                   sw::format(last_sw), content.size(), reads)
                     : fmt::format("{} (after {} bytes, SW {})", problem_en, content.size(),
                                   sw::format(last_sw));
        out.ja =
            problem_en.empty()
                ? fmt::format("READ BINARY が {} バイト・{} 回の読み出し後に SW {} を返しました",
                              content.size(), reads, sw::format(last_sw))
                : fmt::format("{} ({} バイト後、SW {})", problem_ja, content.size(),
                              sw::format(last_sw));
        return out;
    }
    store(a.store, content, personal);
    // A read that ended normally counts as 9000 even when the card flagged the end with 62 82.
    Bytes whole = content;
    const std::uint16_t judged = plan.expect_sw.matches(last_sw) ? last_sw : 0x9000;
    whole.push_back(static_cast<std::uint8_t>(judged >> 8));
    whole.push_back(static_cast<std::uint8_t>(judged & 0xFF));
    Outcome j =
        judge(plan, whole, fmt::format("read {} bytes in {} READ BINARY", content.size(), reads));
    j.sw = last_sw;
    j.measurements = out.measurements;
    return j;
}

Outcome Runner::do_pin_tries(const PinTriesArgs& a, const StepPlan& plan) {
    if (a.select)
        if (Outcome s = select_pin(a.pin); s.verdict != StepVerdict::Pass)
            return s;
    const Bytes response = xmit(apdu::encode(apdu::case1(0x00, 0x20, 0x00, 0x80)), Follow::None);
    const auto parsed = apdu::parse_response(response).response;
    Outcome out =
        judge(plan, response, fmt::format("retry counter of the {} PIN", to_string(a.pin)));
    if (parsed) {
        if (const auto tries = parsed->retry_count(); tries && parsed->sw1 == 0x63) {
            ctx_.guard_state.tries_left[a.pin] = static_cast<int>(*tries);
            store(a.store, Bytes{static_cast<std::uint8_t>(*tries)}, false);
            out.measurements["tries_left"] = *tries;
            out.en += fmt::format("; {} tries left", *tries);
            out.ja += fmt::format("。残り {} 回", *tries);
        }
    }
    return out;
}

Outcome Runner::do_verify_pin(const VerifyPinArgs& a, const StepPlan& plan) {
    const auto supplied = ctx_.pins.get(a.pin);
    std::string value;
    if (a.value == PinValue::Supplied) {
        if (!supplied)
            return skip(fmt::format("the {} PIN was not supplied", to_string(a.pin)),
                        fmt::format("暗証番号 {} が指定されていません", to_string(a.pin)));
        value = *supplied;
    } else {
        value = wrong_pin_for(a.pin, supplied);
    }
    if (a.select)
        if (Outcome s = select_pin(a.pin); s.verdict != StepVerdict::Pass)
            return s;
    const Bytes command = apdu::encode(apdu::case3(0x00, 0x20, 0x00, 0x80, bytes_of(value)));
    const Bytes response = xmit(command, Follow::None);
    Outcome out =
        judge(plan, response,
              fmt::format("VERIFY of the {} PIN ({} value)", to_string(a.pin), to_string(a.value)));
    const auto parsed = apdu::parse_response(response).response;
    if (parsed && parsed->sw1 == 0x63)
        if (const auto tries = parsed->retry_count()) {
            ctx_.guard_state.tries_left[a.pin] = static_cast<int>(*tries);
            out.measurements["tries_left"] = *tries;
        }
    return out;
}

Outcome Runner::do_sign(const SignArgs& a, const StepPlan& plan) {
    const Bytes cert_der = var(a.cert);
    const std::uint16_t key_ef = a.key == SignKey::Auth ? 0x0017 : 0x001A;
    if (a.select) {
        Outcome s = select_file(key_ef);
        if (s.verdict != StepVerdict::Pass)
            return s;
    }
    const Bytes hash = digest(a.hash, a.message);
    Bytes digest_info = digest_info_prefix(a.hash);
    digest_info.insert(digest_info.end(), hash.begin(), hash.end());
    // JPKI PSO: COMPUTE DIGITAL SIGNATURE 80 2A 00 80 Lc DigestInfo 00 (domain.md §4).
    const Bytes command = apdu::encode(apdu::case4(0x80, 0x2A, 0x00, 0x80, digest_info, 256));
    const Bytes response = xmit(command, Follow::None);
    Outcome out = judge(plan, response, fmt::format("signature with the {} key", to_string(a.key)));
    const ByteView signature = data_of(response);
    out.measurements["signature_bytes"] = signature.size();
    if (out.verdict != StepVerdict::Pass)
        return out;
    store(a.store, signature, false);
    const X509Ptr cert = parse_certificate(cert_der);
    if (!cert)
        return {
            StepVerdict::Error, fmt::format("variable {} does not hold a DER certificate", a.cert),
            fmt::format("変数 {} は DER 証明書ではありません", a.cert), out.sw, out.measurements};
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    const openssl::PkeyCtxPtr pctx(key ? EVP_PKEY_CTX_new(key, nullptr) : nullptr);
    const bool verified = pctx && EVP_PKEY_verify_init(pctx.get()) == 1 &&
                          EVP_PKEY_CTX_set_rsa_padding(pctx.get(), RSA_PKCS1_PADDING) == 1 &&
                          EVP_PKEY_CTX_set_signature_md(pctx.get(), md_of(a.hash)) == 1 &&
                          EVP_PKEY_verify(pctx.get(), signature.data(), signature.size(),
                                          hash.data(), hash.size()) == 1;
    const int bits = key ? EVP_PKEY_get_bits(key) : 0;
    out.measurements["key_bits"] = bits;
    if (!verified)
        return {StepVerdict::Fail,
                fmt::format("the {}-byte signature does not verify with the RSA-{} key of "
                            "certificate {}",
                            signature.size(), bits, a.cert),
                fmt::format("{} バイトの署名が証明書 {} の RSA-{} 鍵で検証できません",
                            signature.size(), a.cert, bits),
                out.sw, out.measurements};
    out.en = fmt::format("{}-byte signature (SW {}) verified with the RSA-{} key of certificate {}",
                         signature.size(), sw::format(*out.sw), bits, a.cert);
    out.ja = fmt::format("{} バイトの署名 (SW {}) を証明書 {} の RSA-{} 鍵で検証しました",
                         signature.size(), sw::format(*out.sw), a.cert, bits);
    return out;
}

// Key size, validity, chain. Never the subject or SubjectAltName, nor the dates (an end-entity
// certificate's notAfter follows the holder's birthday).
Outcome Runner::do_check_cert(const CheckCertArgs& a) {
    const X509Ptr cert = parse_certificate(var(a.cert));
    if (!cert)
        return fail(fmt::format("variable {} does not parse as a DER X.509 certificate", a.cert),
                    fmt::format("変数 {} は DER の X.509 証明書として解析できません", a.cert));
    Outcome out;
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    const int bits = key ? EVP_PKEY_get_bits(key) : 0;
    const bool rsa = key != nullptr && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
    out.measurements["key_bits"] = bits;
    out.measurements["rsa"] = rsa;
    std::vector<std::string> problems_en, problems_ja, info_en, info_ja;
    if (!rsa) {
        problems_en.push_back("the key is not RSA");
        problems_ja.push_back("鍵が RSA ではありません");
    } else if (static_cast<std::size_t>(bits) < a.min_bits ||
               (a.bits && static_cast<std::size_t>(bits) != *a.bits)) {
        problems_en.push_back(fmt::format("RSA-{} key, expected {}", bits,
                                          a.bits ? fmt::format("RSA-{}", *a.bits)
                                                 : fmt::format("at least {} bits", a.min_bits)));
        problems_ja.push_back(fmt::format("RSA-{} 鍵 (期待: {})", bits,
                                          a.bits ? fmt::format("RSA-{}", *a.bits)
                                                 : fmt::format("{} ビット以上", a.min_bits)));
    }
    std::time_t now = std::time(nullptr);
    const bool not_yet = X509_cmp_time(X509_get0_notBefore(cert.get()), &now) > 0;
    const bool expired = X509_cmp_time(X509_get0_notAfter(cert.get()), &now) < 0;
    out.measurements["expired"] = expired;
    out.measurements["not_yet_valid"] = not_yet;
    if (not_yet) {
        problems_en.push_back("not yet valid");
        problems_ja.push_back("有効期間の開始前です");
    }
    if (expired) {
        if (a.expired == ExpiredPolicy::Fail) {
            problems_en.push_back("expired");
            problems_ja.push_back("有効期限切れです");
        } else {
            info_en.push_back("expired (info: an expired certificate is not a reader failure)");
            info_ja.push_back("有効期限切れ (情報: リーダーの不具合ではありません)");
        }
    }
    if (a.ca) {
        const X509Ptr ca = parse_certificate(var(*a.ca));
        bool chained = false;
        if (ca) {
            EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
            chained = X509_check_issued(ca.get(), cert.get()) == X509_V_OK && ca_key != nullptr &&
                      X509_verify(cert.get(), ca_key) == 1;
        }
        out.measurements["chain_ok"] = chained;
        if (!chained) {
            problems_en.push_back(fmt::format("not issued (or not signed) by the CA in {}", *a.ca));
            problems_ja.push_back(fmt::format("{} の CA による発行・署名ではありません", *a.ca));
        } else {
            info_en.push_back(fmt::format("signed by the CA in {}", *a.ca));
            info_ja.push_back(fmt::format("{} の CA の署名を確認", *a.ca));
        }
    }
    const auto join = [](const std::vector<std::string>& parts) {
        std::string s;
        for (const auto& p : parts)
            s += (s.empty() ? "" : "; ") + p;
        return s;
    };
    if (!problems_en.empty()) {
        out.verdict = StepVerdict::Fail;
        out.en = fmt::format("certificate {}: {}", a.cert, join(problems_en));
        out.ja = fmt::format("証明書 {}: {}", a.cert, join(problems_ja));
        return out;
    }
    out.en = fmt::format("certificate {}: RSA-{}{}{}", a.cert, bits, info_en.empty() ? "" : "; ",
                         join(info_en));
    out.ja = fmt::format("証明書 {}: RSA-{}{}{}", a.cert, bits, info_ja.empty() ? "" : "; ",
                         join(info_ja));
    return out;
}

Outcome Runner::do_reset(const ResetArgs& a, const StepPlan& plan) {
    const std::int64_t start = now_us();
    guard_.reset(a.kind);
    const Bytes atr = guard_.atr();
    const char* kind = a.kind == io::ResetKind::Warm ? "warm" : "cold";
    record_event(fmt::format("<{} reset>", kind), hex::format(atr), now_us() - start,
                 "ATR after the reset");
    store(a.store, atr, false);
    if (!plan.expect_data.empty())
        if (auto why = plan.expect_data.check(atr))
            return fail(fmt::format("{} reset: the ATR does not match {}: {}", kind,
                                    plan.expect_data.text, *why),
                        fmt::format("{} リセット: ATR が期待 ({}) と一致しません", kind,
                                    plan.expect_data.text));
    return pass(fmt::format("{} reset: ATR of {} bytes", kind, atr.size()),
                fmt::format("{} リセット: ATR {} バイト",
                            kind == std::string("warm") ? "ウォーム" : "コールド", atr.size()));
}

Outcome Runner::do_reconnect(const ReconnectArgs& a) {
    const std::int64_t start = now_us();
    std::string note;
    if (ctx_.reconnect) {
        ctx_.reconnect(channel_, a.exclusive);
        note = a.exclusive ? "reconnected (exclusive)" : "reconnected (shared)";
    } else {
        channel_.reset(io::ResetKind::Warm);
        note = "no reconnect on this channel: a warm reset stood in for it";
    }
    guard_.clear_selection();
    record_event("<reconnect>", hex::format(channel_.atr()), now_us() - start, note);
    return pass(note, "再接続しました");
}

Outcome Runner::do_expect_removed(const ExpectRemovedArgs& a) {
    if (!ctx_.wait_removed) {
        Outcome out = skip("requires removal: nobody can remove the card during this run",
                           "カードを取り外せないためスキップ (removal が必要)");
        out.measurements["missing_capabilities"] = {"removal"};
        return out;
    }
    if (!ctx_.wait_removed(a.prompt_en))
        return fail("the card was not removed in time", "時間内にカードが取り外されませんでした");
    try {
        const Bytes response = channel_.transmit(apdu::encode(apdu::case1(0x00, 0xA4, 0x00, 0x0C)));
        record_event(hex::format(Bytes{0x00, 0xA4, 0x00, 0x0C}), hex::format(response), 0,
                     "probe after removal");
        return fail("the card still answers after its removal",
                    "取り外し後もカードが応答しています");
    } catch (const io::TransportError& error) {
        record_event("00 A4 00 0C", "", 0,
                     fmt::format("probe after removal: transport error: {}", error.what()));
        if (error.failure() == io::TransportFailure::CardRemoved)
            return pass("the reader reports the removal (card removed)",
                        "リーダーがカードの取り外しを報告しました");
        return fail(
            fmt::format("after the removal the reader reports {} instead of a removed card",
                        io::to_string(error.failure())),
            fmt::format("取り外し後のリーダーの報告が {} でした", io::to_string(error.failure())));
    }
}

Outcome Runner::do_atr(const AtrArgs& a, const StepPlan& plan) {
    const Bytes atr = guard_.atr();
    store(a.store, atr, false);
    if (!plan.expect_data.empty())
        if (auto why = plan.expect_data.check(atr))
            return fail(fmt::format("the ATR does not match {}: {}", plan.expect_data.text, *why),
                        fmt::format("ATR が期待 ({}) と一致しません", plan.expect_data.text));
    return pass(fmt::format("ATR {}", hex::format(atr)), fmt::format("ATR {}", hex::format(atr)));
}

Outcome Runner::do_repeat(const RepeatArgs& a, const StepPlan& plan) {
    const Bytes command = a.command.substitute(ctx_.variables);
    for (std::size_t i = 0; i < a.warmup; ++i) {
        guard_.set_next_note("warm-up (not counted)");
        xmit(command, a.follow);
    }
    std::vector<std::int64_t> samples;
    std::size_t failures = 0;
    std::optional<Outcome> first_failure;
    std::uint16_t last = 0;
    for (std::size_t i = 0; i < a.count; ++i) {
        const std::int64_t start = now_us();
        const Bytes response = xmit(command, a.follow);
        samples.push_back(now_us() - start);
        last = sw_of(response);
        // Only the first failure is worded (the loop's cost per APDU is the issue 11 figure).
        if (judge(plan, response, {}, Words::None).verdict != StepVerdict::Pass) {
            ++failures;
            if (!first_failure)
                first_failure = judge(plan, response, fmt::format("exchange {}", i + 1));
        }
    }
    Outcome out;
    out.sw = last;
    if (a.statistics)
        out.measurements = nlohmann::json::parse(latency_statistics_json(samples));
    out.measurements["failures"] = failures;
    out.measurements["count"] = a.count;
    if (first_failure) {
        out.verdict = StepVerdict::Fail;
        out.en = fmt::format("{} of {} exchanges failed; first: {}", failures, a.count,
                             first_failure->en);
        out.ja = fmt::format("{} 回中 {} 回失敗。最初: {}", a.count, failures, first_failure->ja);
        return out;
    }
    if (a.statistics) {
        out.en = fmt::format("{} exchanges: median {} µs, p95 {} µs, max {} µs", a.count,
                             out.measurements["median_us"].get<std::int64_t>(),
                             out.measurements["p95_us"].get<std::int64_t>(),
                             out.measurements["max_us"].get<std::int64_t>());
        out.ja = fmt::format("{} 回: 中央値 {} µs、p95 {} µs、最大 {} µs", a.count,
                             out.measurements["median_us"].get<std::int64_t>(),
                             out.measurements["p95_us"].get<std::int64_t>(),
                             out.measurements["max_us"].get<std::int64_t>());
    } else {
        out.en = fmt::format("{} exchanges, all as expected", a.count);
        out.ja = fmt::format("{} 回すべて期待どおり", a.count);
    }
    return out;
}

Outcome Runner::do_sweep(const SweepArgs& a, const StepPlan& plan) {
    std::size_t points = 0, failures = 0;
    std::vector<std::size_t> failed_at;
    std::optional<std::size_t> max_passed;
    std::string first_en, first_ja;
    std::uint16_t last = 0;
    model::FailureKind first_failure = model::FailureKind::None;
    for (std::size_t n = a.from; n <= a.to; n += a.step) {
        ++points;
        apdu::Command command;
        const std::uint8_t ins = a.ins_for_case();
        std::size_t expect_len = 0;
        switch (a.apdu_case) {
        case 1:
            command = apdu::case1(a.cla, ins, a.p1, a.p2);
            break;
        case 2:
            command = apdu::case2(a.cla, ins, a.p1, a.p2, n);
            expect_len = n;
            break;
        case 3:
            command = apdu::case3(a.cla, ins, a.p1, a.p2, transport_pattern(n));
            break;
        default:
            expect_len = a.le.value_or(n);
            command = apdu::case4(a.cla, ins, a.p1, a.p2, transport_pattern(n), expect_len);
            break;
        }
        command.form = a.form;
        std::string why;
        const auto encoded = apdu::try_encode(command, &why);
        bool ok = false;
        std::string detail;
        if (!encoded) {
            detail = "cannot be encoded: " + why;
        } else {
            try {
                const Bytes response = xmit(*encoded, a.follow);
                last = sw_of(response);
                const ByteView data = data_of(response);
                if (!plan.expect_sw.matches(last))
                    detail = fmt::format("SW {}", sw::format(last));
                else if (data.size() != expect_len)
                    detail = fmt::format("{} data bytes instead of {}", data.size(), expect_len);
                else if (expect_len != 0 && !std::equal(data.begin(), data.end(),
                                                        transport_pattern(expect_len).begin()))
                    detail = "the data differ from the pattern";
                else
                    ok = true;
            } catch (const io::TransportError& error) {
                if (aborts_run(io::kind_of(error)))
                    throw;
                if (first_failure == model::FailureKind::None)
                    first_failure = io::kind_of(error);
                detail = fmt::format("transport error: {}", model::to_string(io::kind_of(error)));
            }
        }
        if (ok) {
            max_passed = n;
        } else {
            ++failures;
            if (failed_at.size() < 16)
                failed_at.push_back(n);
            if (first_en.empty()) {
                first_en = fmt::format("case {} n={}: {}", a.apdu_case, n, detail);
                first_ja = fmt::format("ケース {} n={}: {}", a.apdu_case, n, detail);
            }
        }
        if (a.to - n < a.step)
            break;
    }
    Outcome out;
    out.sw = last;
    out.failure = first_failure;
    out.measurements = {{"points", points}, {"failures", failures}, {"failed_at", failed_at}};
    if (max_passed)
        out.measurements["max_passed"] = *max_passed;
    const char* form = a.form == apdu::Form::Extended ? "extended" : "short";
    if (failures != 0) {
        out.verdict = StepVerdict::Fail;
        out.en = fmt::format("{} sweep case {} {}..{}: {} of {} lengths failed; first {}", form,
                             a.apdu_case, a.from, a.to, failures, points, first_en);
        out.ja = fmt::format("{} スイープ ケース {} {}..{}: {} 点中 {} 点失敗。最初 {}", form,
                             a.apdu_case, a.from, a.to, points, failures, first_ja);
        return out;
    }
    out.en = fmt::format("{} sweep case {} {}..{}: all {} lengths passed", form, a.apdu_case,
                         a.from, a.to, points);
    out.ja = fmt::format("{} スイープ ケース {} {}..{}: {} 点すべて成功", form, a.apdu_case, a.from,
                         a.to, points);
    return out;
}

Outcome Runner::execute(const model::SuiteStep&, const StepPlan& plan) {
    return std::visit(
        [&](const auto& a) -> Outcome {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, ApduArgs>)
                return do_apdu(a, plan);
            else if constexpr (std::is_same_v<T, SelectAidArgs>)
                return do_select_aid(a, plan);
            else if constexpr (std::is_same_v<T, SelectEfArgs>)
                return do_select_ef(a, plan);
            else if constexpr (std::is_same_v<T, ReadEfArgs>)
                return do_read_ef(a, plan);
            else if constexpr (std::is_same_v<T, PinTriesArgs>)
                return do_pin_tries(a, plan);
            else if constexpr (std::is_same_v<T, VerifyPinArgs>)
                return do_verify_pin(a, plan);
            else if constexpr (std::is_same_v<T, SignArgs>)
                return do_sign(a, plan);
            else if constexpr (std::is_same_v<T, CheckCertArgs>)
                return do_check_cert(a);
            else if constexpr (std::is_same_v<T, ResetArgs>)
                return do_reset(a, plan);
            else if constexpr (std::is_same_v<T, ReconnectArgs>)
                return do_reconnect(a);
            else if constexpr (std::is_same_v<T, ExpectRemovedArgs>)
                return do_expect_removed(a);
            else if constexpr (std::is_same_v<T, AtrArgs>)
                return do_atr(a, plan);
            else if constexpr (std::is_same_v<T, RepeatArgs>)
                return do_repeat(a, plan);
            else
                return do_sweep(a, plan);
        },
        plan.args);
}

model::SuiteResult Runner::run(const model::Suite& suite, const std::vector<StepPlan>& plan) {
    // A citizen's card: one transaction for the whole suite, so no other program can select
    // another file (and so change what is personal) or spend a try between our commands. Every
    // suite starts with an unknown selection, so what others did before it cannot mislead us.
    std::optional<io::Transaction> held;
    if (ctx_.trust == CardTrust::Physical) {
        try {
            held.emplace(guard_);
        } catch (const io::TransportError&) {
            // The card is gone: the first step records it.
        }
    }
    model::SuiteResult result;
    result.suite = {suite.id, suite.content_hash};
    const auto caps = ctx_.effective_capabilities();
    std::optional<std::string> stopped_by; // on_fail=stop
    std::set<std::string> skipped_groups;  // on_fail=skip_group
    const std::int64_t run_start_us = ctx_.run_start
                                          ? std::chrono::duration_cast<std::chrono::microseconds>(
                                                ctx_.run_start->time_since_epoch())
                                                .count()
                                          : 0;
    const std::size_t total = suite.steps.size();
    result.steps.reserve(total);
    for (std::size_t i = 0; i < total; ++i) {
        const model::SuiteStep& step = suite.steps[i];
        const StepPlan& p = plan[i];
        model::StepResult r;
        r.step_id = step.id;
        r.group = step.group;
        r.title_en = step.title_en;
        r.title_ja = step.title_ja;
        r.action = step.action;
        r.measurements_json = "{}";
        if (ctx_.run_start) // when the runner reached the step (replaced below if it runs)
            r.started_us = now_us() - run_start_us;
        if (ctx_.progress)
            ctx_.progress({i + 1, total, suite.id, step.id, step.title_en, step.title_ja});

        if (ctx_.status == model::RunStatus::Incomplete) {
            r.verdict = StepVerdict::Aborted;
            r.reason_en = "not run: " + ctx_.cause;
            r.reason_ja = "未実行: 実行が中断されました (" + ctx_.cause + ")";
            result.steps.push_back(std::move(r));
            continue;
        }
        if (ctx_.cancel != nullptr && ctx_.cancel->load()) {
            ctx_.status = model::RunStatus::Incomplete;
            ctx_.cause = fmt::format("cancelled before step {}", step.id);
            r.verdict = StepVerdict::Aborted;
            r.reason_en = "not run: the run was cancelled";
            r.reason_ja = "未実行: 実行がキャンセルされました";
            result.steps.push_back(std::move(r));
            continue;
        }
        if (stopped_by) {
            r.verdict = StepVerdict::Skip;
            r.reason_en =
                fmt::format("not run: step {} failed and its on_fail is stop", *stopped_by);
            r.reason_ja =
                fmt::format("未実行: ステップ {} が失敗し on_fail が stop です", *stopped_by);
            result.steps.push_back(std::move(r));
            continue;
        }
        if (!step.group.empty() && skipped_groups.count(step.group) != 0) {
            r.verdict = StepVerdict::Skip;
            r.reason_en =
                fmt::format("skipped: an earlier step of group {} failed (skip_group)", step.group);
            r.reason_ja =
                fmt::format("スキップ: グループ {} の前のステップが失敗しました", step.group);
            result.steps.push_back(std::move(r));
            continue;
        }
        std::vector<std::string> missing;
        for (const auto& token : p.requirements)
            if (caps.count(token) == 0)
                missing.push_back(token);
        if (!missing.empty()) {
            std::string list;
            for (const auto& m : missing)
                list += (list.empty() ? "" : ", ") + m;
            r.verdict = StepVerdict::Skip;
            r.reason_en = "requires " + list + " (not available)";
            r.reason_ja = "必要な条件がありません: " + list;
            r.measurements_json = nlohmann::json{{"missing_capabilities", missing}}.dump();
            r.missing = missing;
            result.steps.push_back(std::move(r));
            continue;
        }

        current_ = &r;
        step_personal_ = false;
        omitted_ = 0;
        extra_recorded_ = 0;
        const std::int64_t start = now_us();
        if (ctx_.run_start)
            r.started_us = start - run_start_us;
        // Built in place (one Outcome per step, not a default one assigned over).
        Outcome out = [&]() -> Outcome {
            try {
                return execute(step, p);
            } catch (const PinRefused& refused) {
                Outcome o = skip(refused.reason_en(), refused.reason_ja());
                o.failure = model::FailureKind::RefusedByGuard;
                if (refused.tries_left())
                    o.measurements["tries_left"] = *refused.tries_left();
                o.measurements["pin_refused"] = true;
                return o;
            } catch (const io::TransportError& error) {
                guard_.clear_selection(); // the card may have been reset, or have acted, or not
                const model::FailureKind kind = io::kind_of(error);
                Outcome o;
                if (aborts_run(kind)) {
                    o.verdict = StepVerdict::Aborted;
                    o.en = fmt::format("aborted: {} ({})", model::to_string(kind), error.what());
                    o.ja = fmt::format("中断: {}", failure_ja(error.failure()));
                    ctx_.status = model::RunStatus::Incomplete;
                    ctx_.failure = kind;
                    ctx_.cause = fmt::format("{} during step {} of suite {}",
                                             model::to_string(kind), step.id, suite.id);
                } else {
                    o = fail(fmt::format("transport error: {} ({})", model::to_string(kind),
                                         error.what()),
                             fmt::format("伝送エラー: {}", failure_ja(error.failure())));
                }
                o.failure = kind;
                return o;
            } catch (const MissingInput& error) {
                return {StepVerdict::Error,
                        fmt::format("error: {}", error.what()),
                        fmt::format("エラー: {}", error.what()),
                        std::nullopt,
                        {},
                        model::FailureKind::MissingInput};
            } catch (const Error& error) { // UsageError too
                return {StepVerdict::Error,
                        fmt::format("error: {}", error.what()),
                        fmt::format("エラー: {}", error.what()),
                        std::nullopt,
                        {}};
            }
        }();
        r.duration_us = now_us() - start;
        current_ = nullptr;

        if (auto failure = guard_.take_failure()) {
            out.verdict = StepVerdict::Fail;
            out.en += (out.en.empty() ? "" : "; ") + failure->reason_en;
            out.ja += (out.ja.empty() ? "" : "。") + failure->reason_ja;
            if (failure->tries_left)
                out.measurements["tries_left"] = *failure->tries_left;
        }
        if (step.timeout_ms && out.verdict != StepVerdict::Aborted &&
            out.verdict != StepVerdict::Skip &&
            r.duration_us > std::int64_t{*step.timeout_ms} * 1000) {
            out.verdict = StepVerdict::Fail;
            out.en = fmt::format("timeout: the step took {} ms, its limit is {} ms ({})",
                                 r.duration_us / 1000, *step.timeout_ms, out.en);
            out.ja = fmt::format("タイムアウト: {} ms かかりました (上限 {} ms)。{}",
                                 r.duration_us / 1000, *step.timeout_ms, out.ja);
            out.measurements["timed_out"] = true;
        }
        if (omitted_ != 0)
            out.measurements["exchanges_omitted"] = omitted_;
        r.verdict = out.verdict;
        r.sw = out.sw;
        redact_step(r, out);
        r.failure = out.failure;
        const bool failed = out.verdict == StepVerdict::Fail || out.verdict == StepVerdict::Error;
        if (failed && step.on_fail == model::OnFail::Stop)
            stopped_by = step.id;
        if (failed && step.on_fail == model::OnFail::SkipGroup && !step.group.empty())
            skipped_groups.insert(step.group);
        result.steps.push_back(std::move(r));
    }
    return result;
}

std::vector<StepPlan> plan_of(const model::Suite& suite) {
    std::vector<StepPlan> plan;
    std::vector<std::string> stored;
    for (const auto& step : suite.steps) {
        std::vector<ArgError> errors;
        auto args = parse_args(step.action, step.args, &stored, errors);
        if (!args) {
            const std::size_t column = errors.empty() ? 1 : errors.front().column;
            throw ConfigError(fmt::format(
                "{}: {}", io::csv::to_string({step.location.file, step.location.line, column}),
                errors.empty() ? "expected valid args" : errors.front().message));
        }
        StepPlan p;
        p.args = std::move(*args);
        std::string expect = step.expect_sw;
        if (expect.empty())
            if (const auto* spec = find_action(step.action))
                expect = std::string(spec->default_expect_sw);
        p.expect_sw = expect.empty() ? sw::Pattern::any() : sw::Pattern::parse_or_throw(expect);
        if (!step.expect_data.empty()) {
            ArgError error;
            auto data = parse_expect_data(step.expect_data, &error);
            if (!data)
                throw ConfigError(fmt::format(
                    "{}: {}",
                    io::csv::to_string({step.location.file, step.location.line, error.column}),
                    error.message));
            p.expect_data = std::move(*data);
        }
        p.requirements = step.requirements;
        for (auto& token : implied_requirements(p.args))
            p.requirements.push_back(std::move(token));
        std::sort(p.requirements.begin(), p.requirements.end());
        p.requirements.erase(std::unique(p.requirements.begin(), p.requirements.end()),
                             p.requirements.end());
        if (auto name = stored_variable(p.args))
            stored.push_back(*name);
        plan.push_back(std::move(p));
    }
    return plan;
}

} // namespace

std::set<std::string, std::less<>> RunContext::effective_capabilities() const {
    auto caps = capabilities;
    if (trust == CardTrust::EmulatedTest) {
        caps.insert("emulated");
        caps.insert("test_card");
    }
    if (trust == CardTrust::DeclaredTest)
        caps.insert("test_card");
    for (const PinName pin : {PinName::Auth, PinName::Sign, PinName::Text, PinName::Juki})
        if (pins.has(pin))
            caps.insert(std::string("pin:") + to_string(pin));
    if (!card_type.empty())
        caps.insert("card:" + card_type);
    if (wait_removed)
        caps.insert("removal");
    return caps;
}

Redactor& RunContext::the_redactor() {
    if (!redactor)
        redactor = std::make_shared<Redactor>(key, redaction);
    return *redactor;
}

model::SuiteResult run_suite(const LoadedSuite& suite, io::CardChannel& channel, RunContext& ctx) {
    Runner runner(channel, ctx);
    return runner.run(suite.suite, suite.plan);
}

model::SuiteResult run_suite(const model::Suite& suite, io::CardChannel& channel, RunContext& ctx) {
    const std::vector<StepPlan> plan = plan_of(suite);
    Runner runner(channel, ctx);
    return runner.run(suite, plan);
}

std::string latency_statistics_json(std::vector<std::int64_t> samples) {
    nlohmann::json out;
    out["n"] = samples.size();
    if (samples.empty())
        return out.dump();
    std::sort(samples.begin(), samples.end());
    const auto rank = [&](double q) {
        const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
        return samples[std::min(samples.size() - 1, k == 0 ? 0 : k - 1)];
    };
    const double sum = std::accumulate(samples.begin(), samples.end(), 0.0);
    out["min_us"] = samples.front();
    out["median_us"] = rank(0.5);
    out["p95_us"] = rank(0.95);
    out["max_us"] = samples.back();
    out["mean_us"] =
        static_cast<std::int64_t>(std::llround(sum / static_cast<double>(samples.size())));
    return out.dump();
}

} // namespace harness::suite
