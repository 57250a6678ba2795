#include "pure/bytes.hpp"
#include "services/plan/verdict.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace harness;
using model::Compatibility;
using model::StepVerdict;

namespace {

const Bytes mynumber_atr =
    hex::parse("3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B").value();
const Bytes juki_atr = hex::parse("3B E0 00 FF 81 31 FE 45 14").value();
const std::string sign_command =
    "80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 "
    "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D "
    "1E 1F 00";

plan::ReaderFacts reader(ccid::ExchangeLevel level, std::uint32_t max_message, bool auto_pps,
                         std::vector<std::string> interfaces = {"contact"}) {
    plan::ReaderFacts r;
    r.name = "Lab Reader (r01) 00 00";
    ccid::Descriptor d;
    const std::uint32_t bits = level == ccid::ExchangeLevel::Tpdu        ? 0x00010000U
                               : level == ccid::ExchangeLevel::ShortApdu ? 0x00020000U
                                                                         : 0x00040000U;
    d.features = (d.features & ~0x000700C0U) | bits | (auto_pps ? 0x80U : 0U);
    d.max_message_length = max_message;
    if (!auto_pps)
        d.max_data_rate_bps = d.data_rate_bps;
    r.descriptor = d;
    r.interfaces = std::move(interfaces);
    return r;
}

model::StepResult step(const std::string& id, const std::string& action, StepVerdict verdict,
                       std::vector<model::Exchange> exchanges = {}, std::string reason = {}) {
    model::StepResult s;
    s.step_id = id;
    s.group = "g";
    s.title_en = "title of " + id;
    s.title_ja = id + "の題";
    s.action = action;
    s.verdict = verdict;
    s.reason_en = reason;
    s.reason_ja = reason;
    s.exchanges = std::move(exchanges);
    return s;
}

model::Exchange ok(const std::string& command, const std::string& response = "90 00") {
    return model::Exchange{command, response, std::uint16_t{0x9000}, 1000, ""};
}

model::Exchange sized(model::Exchange e, std::size_t size) {
    e.response_size = size;
    return e;
}

// An exchange that met a transport failure: the typed kind is what the rules read. The note is a
// human text the rules never parse (it says something else on purpose).
model::Exchange broken(const std::string& command, model::FailureKind failure,
                       std::int64_t us = 2000) {
    model::Exchange e{command, "", std::nullopt, us, "a note the verdict rules never read"};
    e.failure = failure;
    return e;
}

model::StepResult failed(model::StepResult s, model::FailureKind failure) {
    s.failure = failure;
    return s;
}

model::StepResult skipped_for_pin(const std::string& id) {
    auto s = step(id, "sign", StepVerdict::Skip, {}, "requires pin:auth");
    s.missing = {"pin:auth"};
    return s;
}

model::Session session(std::vector<model::StepResult> steps,
                       model::RunStatus status = model::RunStatus::Complete) {
    model::Session s;
    s.suites.push_back(model::SuiteResult{{"jpki-mynumber", "hash"}, std::move(steps)});
    s.status = status;
    return s;
}

plan::Outcome outcome(plan::ReaderFacts r, const Bytes& atr, const model::Session* s) {
    plan::Outcome o;
    o.reader = std::move(r);
    o.card.card_type = "mynumber";
    o.card.interface = "contact";
    o.card.atr = atr;
    o.session = s;
    return o;
}

bool has_cause(const plan::Judgement& j, const std::string& code) {
    for (const auto& c : j.causes)
        if (c.code == code)
            return true;
    return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(all_passed_is_compatible) {
    const auto s = session({step("a", "select_aid", StepVerdict::Pass, {ok("00 A4 04 0C 01 01")}),
                            skipped_for_pin("b")});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Compatible));
    BOOST_TEST(j.diagnosis_en == "all 1 steps that ran passed (1 skipped; not tested without a "
                                 "supplied PIN: pin:auth)");
    BOOST_TEST(!j.diagnosis_ja.empty());
}

BOOST_AUTO_TEST_CASE(short_apdu_reader_fails_the_258_byte_signature) {
    const auto s = session(
        {step("read", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 04")}),
         step("sign", "sign", StepVerdict::Fail,
              {ok("00 A4 02 0C 02 00 17"), broken(sign_command, model::FailureKind::Communication)},
              "transport error")});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::ShortApdu, 261, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Incompatible));
    BOOST_TEST(j.diagnosis_en == "258-byte signature response failed; the reader is short-APDU "
                                 "level with a 261-byte message limit");
    BOOST_TEST(j.diagnosis_ja.find("258バイト") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(signing_timeout_names_waiting_time_extension) {
    const auto s = session({step("sign", "sign", StepVerdict::Fail,
                                 {broken(sign_command, model::FailureKind::Timeout, 1003456)},
                                 "transport error: timeout")});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Incompatible));
    BOOST_TEST(j.diagnosis_en ==
               "signing timed out after 1000 ms: the reader does not do waiting-time extension");
}

BOOST_AUTO_TEST_CASE(pps_failure_at_connect) {
    auto o = outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, nullptr);
    o.connect_failure = model::FailureKind::ProtocolMismatch;
    o.connect_error = "SCardConnect: SCARD_E_PROTO_MISMATCH";
    const auto j = plan::judge(o);
    BOOST_TEST((j.verdict == Compatibility::Incompatible));
    BOOST_TEST(j.diagnosis_en.find("the card's TA1=13 needs PPS the reader does not do") == 0U);
    // A card without TA1 that fails to connect is not blamed on PPS.
    o.card.atr = juki_atr;
    BOOST_TEST(has_cause(plan::judge(o), "connect_failed"));
}

BOOST_AUTO_TEST_CASE(a_protocol_the_reader_does_not_declare_is_not_blamed_on_pps) {
    // A T=0-only reader (dwProtocols 1) and the My Number card (TA1=13, T=1 only): the missing
    // protocol is the cause, not PPS.
    auto r = reader(ccid::ExchangeLevel::Tpdu, 271, false);
    r.descriptor->protocols = 0x1;
    auto o = outcome(r, mynumber_atr, nullptr);
    o.connect_failure = model::FailureKind::Unresponsive;
    o.connect_error = "SCardConnect: SCARD_W_UNRESPONSIVE_CARD";
    auto j = plan::judge(o);
    BOOST_TEST((j.verdict == Compatibility::Incompatible));
    BOOST_TEST(j.causes.front().code == "protocol_unsupported");
    BOOST_TEST(j.diagnosis_en.find("the card speaks T=1; the reader declares only T=0 "
                                   "(dwProtocols 0x00000001)") == 0U);
    // Reserved bits only (a descriptor bug): neither protocol.
    o.reader.descriptor->protocols = 0x300;
    o.card.atr = juki_atr;
    j = plan::judge(o);
    BOOST_TEST(j.causes.front().code == "protocol_unsupported");
    BOOST_TEST(j.diagnosis_en.find("the reader declares neither T=0 nor T=1") != std::string::npos);
    // A reader that declares T=1 leaves the rule to PPS and the rest; a contactless pseudo-ATR
    // is never judged by dwProtocols.
    o.reader.descriptor->protocols = 0x3;
    BOOST_TEST(has_cause(plan::judge(o), "connect_failed"));
    o.reader.descriptor->protocols = 0x1;
    o.card.atr = hex::parse("3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F").value();
    o.presented_interface = "type_b";
    BOOST_TEST(!has_cause(plan::judge(o), "protocol_unsupported"));
}

BOOST_AUTO_TEST_CASE(card_not_seen_on_a_missing_interface) {
    struct Row {
        std::vector<std::string> interfaces;
        std::string presented;
        Compatibility verdict;
        std::string diagnosis;
    };
    const std::vector<Row> rows{
        {{"type_a"},
         "type_b",
         Compatibility::Incompatible,
         "a Type A-only reader sees no Type B card"},
        {{"contact"},
         "type_b",
         Compatibility::Incompatible,
         "a contact-only reader sees no contactless card"},
        {{}, "type_b", Compatibility::Untested, "no card seen in the reader"},
        {{"contact", "type_b"}, "type_b", Compatibility::Untested, "no card seen in the reader"},
    };
    for (const auto& row : rows) {
        auto o = outcome(reader(ccid::ExchangeLevel::ExtendedApdu, 271, true, row.interfaces),
                         mynumber_atr, nullptr);
        o.card_seen = false;
        o.presented_interface = row.presented;
        const auto j = plan::judge(o);
        BOOST_TEST((j.verdict == row.verdict));
        BOOST_TEST(j.diagnosis_en == row.diagnosis);
    }
}

BOOST_AUTO_TEST_CASE(extended_read_corrupted_by_chaining_is_partial) {
    const auto s =
        session({step("short", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 00")}),
                 step("ext", "read_ef", StepVerdict::Fail,
                      {sized(ok("00 B0 00 00 00 00 00", "<redacted>"), 1300)}, "data mismatch")});
    auto o = outcome(reader(ccid::ExchangeLevel::ExtendedApdu, 271, true), mynumber_atr, &s);
    o.optional_steps = {"ext"};
    const auto j = plan::judge(o);
    BOOST_TEST((j.verdict == Compatibility::Partial));
    BOOST_TEST(has_cause(j, "extended_chaining_faulty"));
    BOOST_TEST(j.diagnosis_en.find("1300-byte response") != std::string::npos);
    // The same failure on a core step is incompatible.
    o.optional_steps.clear();
    BOOST_TEST((plan::judge(o).verdict == Compatibility::Incompatible));
}

BOOST_AUTO_TEST_CASE(le_zero_rejected_although_it_fits) {
    const auto s = session(
        {step("read", "read_ef", StepVerdict::Fail,
              {broken("00 B0 00 04 00", model::FailureKind::Communication)}, "transport error")});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::ShortApdu, 271, false), juki_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Incompatible));
    BOOST_TEST(has_cause(j, "le_zero_rejected"));
    BOOST_TEST(j.diagnosis_en.find("READ BINARY with a short Le of 00 (256 bytes) failed although "
                                   "258 bytes fit the reader's 271-byte messages") == 0U);
}

BOOST_AUTO_TEST_CASE(removal_bounce_and_lost_reader) {
    const auto s = session(
        {step("a", "select_aid", StepVerdict::Pass, {ok("00 A4 04 0C 01 01")}),
         failed(step("b", "read_ef", StepVerdict::Aborted,
                     {broken("00 B0 00 00 00", model::FailureKind::CardRemoved)}, "card removed"),
                model::FailureKind::CardRemoved),
         step("c", "read_ef", StepVerdict::Aborted, {}, "session aborted")},
        model::RunStatus::Incomplete);
    auto o = outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s);
    auto j = plan::judge(o);
    BOOST_TEST((j.verdict == Compatibility::Untested));
    BOOST_TEST(has_cause(j, "card_removed"));
    BOOST_TEST(j.causes.size() == 1U); // the aborted follower adds nothing
    o.card_back = true;
    j = plan::judge(o);
    BOOST_TEST((j.verdict == Compatibility::Incompatible));
    BOOST_TEST(has_cause(j, "card_lost"));
}

BOOST_AUTO_TEST_CASE(other_failures_name_the_step) {
    const auto s = session({step("a", "pin_tries", StepVerdict::Fail, {ok("00 20 00 80", "90 00")},
                                 "expected SW 63Cx, got 9000")});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Incompatible));
    BOOST_TEST(j.diagnosis_en == "\"title of a\" failed: expected SW 63Cx, got 9000");
}

BOOST_AUTO_TEST_CASE(nothing_ran_is_untested) {
    const auto s = session({skipped_for_pin("a")});
    BOOST_TEST(plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s))
                   .verdict == Compatibility::Untested);
    BOOST_TEST(
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, nullptr))
            .verdict == Compatibility::Untested);
}

BOOST_AUTO_TEST_CASE(helpers) {
    BOOST_TEST(plan::expected_response_size(sign_command).value() == 258U);
    BOOST_TEST(plan::expected_response_size("00 B0 00 00 80").value() == 130U);
    BOOST_TEST(!plan::expected_response_size("00 A4 02 0C 02 00 17"));
    BOOST_TEST(!plan::expected_response_size("<redacted len=9 sha256=00>"));
    model::StepResult s;
    s.exchanges.push_back(broken("00", model::FailureKind::Timeout));
    BOOST_TEST((plan::failure_of(s) == model::FailureKind::Timeout));
    s.failure = model::FailureKind::ReaderGone; // the step's own kind comes first
    BOOST_TEST((plan::failure_of(s) == model::FailureKind::ReaderGone));
    // Texts are never read: a note or reason that names a failure is not a failure.
    model::StepResult worded;
    worded.reason_en = "transport error: timeout (SCARD_E_TIMEOUT), card removed, timed out";
    worded.exchanges.push_back(ok("00 A4 04 00 00"));
    worded.exchanges.back().note = "transport error: card_removed (SCARD_E_NO_SERVICE)";
    BOOST_TEST((plan::failure_of(worded) == model::FailureKind::None));
    BOOST_TEST(plan::level_text(ccid::ExchangeLevel::ShortApdu) == "short-APDU");
}

BOOST_AUTO_TEST_CASE(a_link_failure_after_a_long_wait_is_a_timeout) {
    // pcscd turns the driver's IFD_RESPONSE_TIMEOUT into SCARD_E_NOT_TRANSACTED.
    const auto s = session({step("sign", "sign", StepVerdict::Fail,
                                 {ok("00 A4 02 0C 02 00 17"),
                                  broken(sign_command, model::FailureKind::Communication, 1063000)},
                                 "transport error: communication_error")});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST(j.diagnosis_en ==
               "signing timed out after 1000 ms: the reader does not do waiting-time extension");
    BOOST_TEST(j.causes.size() == 1U);
}

BOOST_AUTO_TEST_CASE(followers_and_repeated_losses_add_nothing) {
    const auto s =
        session({step("read", "read_ef", StepVerdict::Fail,
                      {broken("00 B0 00 04 00", model::FailureKind::CardRemoved)}, "card removed"),
                 step("read2", "read_ef", StepVerdict::Fail,
                      {broken("00 B0 00 00 04", model::FailureKind::CardRemoved)}, "card removed"),
                 failed(step("chain", "check_cert", StepVerdict::Error, {}, "error: no value"),
                        model::FailureKind::MissingInput)});
    auto o = outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s);
    o.card_back = true;
    const auto j = plan::judge(o);
    BOOST_TEST(j.causes.size() == 1U);
    BOOST_TEST(j.causes.front().code == "card_lost");
}

BOOST_AUTO_TEST_CASE(a_capability_check_failing_on_an_extended_reader_blames_chaining) {
    const auto s = session({step("read", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 00")}),
                            step("ext.check", "check_cert", StepVerdict::Fail, {},
                                 "the certificate does not chain to the CA")});
    auto o = outcome(reader(ccid::ExchangeLevel::ExtendedApdu, 271, true), mynumber_atr, &s);
    o.optional_steps = {"ext.check"};
    const auto j = plan::judge(o);
    BOOST_TEST((j.verdict == Compatibility::Partial));
    BOOST_TEST(has_cause(j, "extended_chaining_faulty"));
    // On a TPDU reader the same failure is not blamed on chaining.
    auto t = outcome(reader(ccid::ExchangeLevel::Tpdu, 271, true), mynumber_atr, &s);
    t.optional_steps = {"ext.check"};
    BOOST_TEST(!has_cause(plan::judge(t), "extended_chaining_faulty"));
}

BOOST_AUTO_TEST_CASE(the_environment_is_never_a_reader_verdict) {
    // A session that would be incompatible (a 258-byte signature on a 261-byte reader) is
    // untested when pcscd died or the lab stopped under it: the typed session failure decides.
    const std::vector<std::pair<model::FailureKind, std::string>> kinds{
        {model::FailureKind::NoService, "pcscd_lost"},
        {model::FailureKind::LabStopped, "lab_stopped"},
        {model::FailureKind::Disk, "disk"}};
    for (const auto& [kind, code] : kinds) {
        auto s = session({step("read", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 04")}),
                          failed(step("sign", "sign", StepVerdict::Fail,
                                      {broken(sign_command, model::FailureKind::Communication)},
                                      "transport error"),
                                 model::FailureKind::Communication)},
                         model::RunStatus::Incomplete);
        s.failure = kind;
        s.cause = "no_service during step sign of suite jpki-mynumber";
        const auto o =
            outcome(reader(ccid::ExchangeLevel::ShortApdu, 261, false), mynumber_atr, &s);
        const auto j = plan::judge(o);
        BOOST_TEST((j.verdict == Compatibility::Untested));
        BOOST_REQUIRE(j.causes.size() == 1U);
        BOOST_TEST(j.causes.front().code == code);
        BOOST_TEST((plan::environment_failure(o) == kind));
    }
    // pcscd gone at connect time: untested too, never connect_failed.
    auto o = outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, nullptr);
    o.connect_failure = model::FailureKind::NoService;
    o.connect_error = "SCardConnect: SCARD_E_NO_SERVICE";
    BOOST_TEST((plan::judge(o).verdict == Compatibility::Untested));
    BOOST_TEST(has_cause(plan::judge(o), "pcscd_lost"));
    // A reader that went away before the session is not blamed either.
    o.connect_failure = model::FailureKind::ReaderGone;
    BOOST_TEST((plan::judge(o).verdict == Compatibility::Untested));
}

BOOST_AUTO_TEST_CASE(a_guard_refusal_is_not_a_transport_failure) {
    auto refused = step("verify", "verify_pin", StepVerdict::Skip, {}, "refused by the PIN guard");
    refused.failure = model::FailureKind::RefusedByGuard;
    BOOST_TEST((plan::failure_of(refused) == model::FailureKind::None));
    const auto s =
        session({step("a", "select_aid", StepVerdict::Pass, {ok("00 A4 04 0C 01 01")}), refused});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Compatible));
}

BOOST_AUTO_TEST_CASE(le_zero_is_not_blamed_when_an_le_zero_read_passed_in_the_session) {
    // A flaky contact seen through libccid at TPDU level: the bounce is a plain communication
    // error on whatever step it hits, here a READ BINARY with Le=00, after another one passed.
    const auto s =
        session({step("ok", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 00", "90 00")}),
                 failed(step("read", "read_ef", StepVerdict::Fail,
                             {broken("00 B0 00 04 00", model::FailureKind::Communication)},
                             "transport error"),
                        model::FailureKind::Communication)});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST(!has_cause(j, "le_zero_rejected"));
    BOOST_TEST(has_cause(j, "transport_failure"));
}

BOOST_AUTO_TEST_CASE(an_unplugged_reader_is_named_as_removed) {
    const auto s = session(
        {failed(step("a", "read_ef", StepVerdict::Aborted,
                     {broken("00 B0 00 00 10", model::FailureKind::ReaderGone)}, "reader gone"),
                model::FailureKind::ReaderGone)},
        model::RunStatus::Incomplete);
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Untested));
    BOOST_TEST(has_cause(j, "reader_lost"));
    BOOST_TEST(j.diagnosis_en.find("reader removed during") == 0U);
}

BOOST_AUTO_TEST_CASE(the_link_failure_before_a_lost_reader_is_not_the_readers_fault) {
    // Unplugged during a T=1 block: libccid reports a communication error, then the reader is
    // gone. Neither is the reader's doing.
    const auto s = session(
        {step("a", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 10")}),
         failed(step("sign", "sign", StepVerdict::Fail,
                     {broken(sign_command, model::FailureKind::Communication)},
                     "transport error: communication_error"),
                model::FailureKind::Communication),
         failed(step("b", "read_ef", StepVerdict::Aborted,
                     {broken("00 B0 00 00 10", model::FailureKind::ReaderGone)}, "reader gone"),
                model::FailureKind::ReaderGone)},
        model::RunStatus::Incomplete);
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Untested));
    BOOST_TEST(!has_cause(j, "transport_failure"));
    BOOST_TEST(!has_cause(j, "timeout_no_wtx"));
    BOOST_TEST(has_cause(j, "reader_lost"));
}

BOOST_AUTO_TEST_CASE(a_reader_found_gone_after_its_last_link_failure_is_not_blamed) {
    // Unplugged during the last exchange the session made (later steps skipped): no step met the
    // loss itself, but the run found the reader gone afterwards (session failure ReaderGone).
    auto s = session({step("a", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 10")}),
                      failed(step("sign", "sign", StepVerdict::Fail,
                                  {broken(sign_command, model::FailureKind::Communication)},
                                  "transport error: communication_error"),
                             model::FailureKind::Communication),
                      step("after", "read_ef", StepVerdict::Skip, {})},
                     model::RunStatus::Incomplete);
    BOOST_TEST(plan::ends_on_link_failure(s));
    s.failure = model::FailureKind::ReaderGone;
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((j.verdict == Compatibility::Untested));
    BOOST_TEST(!has_cause(j, "transport_failure"));
    BOOST_TEST(has_cause(j, "reader_lost"));
    BOOST_TEST(j.diagnosis_en.find("reader removed during \"title of sign\"") == 0U,
               j.diagnosis_en);

    // The same steps with the reader still there: the reader's own communication failure.
    s.failure = model::FailureKind::None;
    s.status = model::RunStatus::Complete;
    const auto kept =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST((kept.verdict != Compatibility::Untested)); // blamed on the reader, with its cause
    BOOST_TEST(!has_cause(kept, "reader_lost"));
}

BOOST_AUTO_TEST_CASE(only_a_session_ending_on_a_link_failure_asks_for_the_reader) {
    const auto sw_failure =
        session({failed(step("a", "read_ef", StepVerdict::Fail, {ok("00 B0 00 00 10")}, "SW 6A82"),
                        model::FailureKind::None)},
                model::RunStatus::Complete);
    BOOST_TEST(!plan::ends_on_link_failure(sw_failure));
    const auto link_then_sw = session(
        {failed(step("a", "read_ef", StepVerdict::Fail,
                     {broken("00 B0 00 00 10", model::FailureKind::Communication)}, "transport"),
                model::FailureKind::Communication),
         failed(step("b", "read_ef", StepVerdict::Fail, {ok("00 B0 00 00 10")}, "SW 6A82"),
                model::FailureKind::None)},
        model::RunStatus::Complete);
    BOOST_TEST(!plan::ends_on_link_failure(link_then_sw)); // a status word came back after it
}

BOOST_AUTO_TEST_CASE(link_failures_right_after_a_timeout_are_its_consequences) {
    // A reader without waiting-time extension gives up on the signature; the card is still busy,
    // so the next exchanges fail too. One cause: the timeout. A link failure after a step passed
    // again is a cause of its own.
    auto s = session(
        {step("a", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 10")}),
         failed(step("sign", "sign", StepVerdict::Fail,
                     {broken(sign_command, model::FailureKind::Timeout, 1000000)}, "timeout"),
                model::FailureKind::Timeout),
         failed(step("tries", "pin_tries", StepVerdict::Fail,
                     {broken("00 20 00 80", model::FailureKind::Communication)}, "transport"),
                model::FailureKind::Communication),
         failed(step("reselect", "select", StepVerdict::Fail,
                     {broken("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01",
                             model::FailureKind::Communication)},
                     "transport"),
                model::FailureKind::Communication)});
    const auto j =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST(has_cause(j, "timeout_no_wtx"));
    BOOST_TEST(!has_cause(j, "transport_failure"), j.diagnosis_en);
    BOOST_TEST((j.verdict == Compatibility::Incompatible));

    // The card answered again (a step passed): a later link failure is the reader's own.
    s.suites[0].steps.push_back(step("b", "read_ef", StepVerdict::Pass, {ok("00 B0 00 00 10")}));
    s.suites[0].steps.push_back(
        failed(step("c", "read_ef", StepVerdict::Fail,
                    {broken("00 B0 00 10 10", model::FailureKind::Communication)}, "transport"),
               model::FailureKind::Communication));
    const auto later =
        plan::judge(outcome(reader(ccid::ExchangeLevel::Tpdu, 271, false), mynumber_atr, &s));
    BOOST_TEST(has_cause(later, "timeout_no_wtx"));
    BOOST_TEST(has_cause(later, "transport_failure"), later.diagnosis_en);
}
