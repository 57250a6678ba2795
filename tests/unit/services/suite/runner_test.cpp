#include "unit/services/suite/lab_fixture.hpp"

#include <nlohmann/json.hpp>

using namespace harness;
using model::StepVerdict;
using suite_test::dump;
using suite_test::LabCard;
using suite_test::step;

namespace {

bool all_pass(const model::SuiteResult& r) {
    return std::all_of(r.steps.begin(), r.steps.end(),
                       [](const auto& s) { return s.verdict == StepVerdict::Pass; });
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const std::string my_number_suite =
    "m01,ident,Select JPKI,JPKI選択,select_aid,${aid.jpki},,,,stop,\n"
    "m02,ident,Token,トークン,read_ef,fid=${ef.token};mode=fixed;length=32,,"
    "token:JPKIAPICCTOKEN2,,continue,\n"
    "m03,certs,Auth cert,認証証明書,read_ef,fid=${ef.auth_cert};mode=header;chunk=256;"
    "store=auth_cert,,der_certificate,,continue,\n"
    "m04,certs,Auth CA,認証CA,read_ef,fid=${ef.auth_ca};header=7;chunk=200;store=auth_ca,,"
    "der_certificate,,continue,\n"
    "m05,certs,Check auth cert,認証証明書検査,check_cert,cert=auth_cert;ca=auth_ca;bits=2048,,,,"
    "continue,\n"
    "m06,certs,Extended read,拡張読み出し,read_ef,fid=${ef.auth_cert};mode=extended;"
    "store=auth_ext,,der_certificate,extended_apdu,continue,\n"
    "m07,pins,Auth tries,試行回数,pin_tries,pin=auth;store=auth_tries,,,,continue,\n"
    "m08,pins,Verify auth,認証PIN,verify_pin,pin=auth,,,,continue,\n"
    "m09,sign,Sign auth,認証署名,sign,key=auth;cert=auth_cert;store=sig,,len=256,,continue,\n"
    "m10,sign,Verify sign,署名PIN,verify_pin,pin=sign,,,,continue,\n"
    "m11,sign,Sign cert,署名証明書,read_ef,fid=${ef.sign_cert};store=sign_cert,,"
    "der_certificate,,continue,\n"
    "m12,sign,Sign CA,署名CA,read_ef,fid=${ef.sign_ca};store=sign_ca,,,,continue,\n"
    "m13,sign,Check sign cert,署名証明書検査,check_cert,cert=sign_cert;ca=sign_ca;bits=2048,,,,"
    "continue,\n"
    "m14,sign,Sign,署名,sign,key=sign;cert=sign_cert;hash=sha256,,len=256,,continue,\n"
    "m15,misc,ATR,ATR取得,atr,store=atr,,3B *,,continue,\n"
    "m16,misc,Warm reset,ウォームリセット,reset,kind=warm;store=atr2,,,,continue,\n"
    "m17,misc,Cold reset,コールドリセット,reset,kind=cold,,,,continue,\n"
    "m18,misc,Reconnect,再接続,reconnect,,,,,continue,\n"
    "m19,misc,Measure,計測,measure,cmd=00 A4 04 0C 0A ${aid.jpki};count=10;warmup=1,,,,"
    "continue,\n"
    "m20,misc,Repeat,反復,repeat,cmd=00 A4 04 0C 0A ${aid.jpki};count=3,,,,continue,\n"
    "m21,misc,Raw token read,生APDU,apdu,00 B0 86 00 20;store=token,9000,,,continue,\n"
    "m22,misc,Select EF,EF選択,select_ef,${ef.token},,,,continue,\n";

} // namespace

BOOST_AUTO_TEST_CASE(every_card_action_passes_on_an_emulated_my_number_card) {
    LabCard lab("mynumber");
    lab.supply_default_pins();
    const auto r = lab.run(my_number_suite);
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(all_pass(r));
    BOOST_TEST(lab.ctx.status == model::RunStatus::Complete);
    BOOST_TEST(r.steps.size() == 22u);

    // Header-driven reads: a 4-byte header, then 256-byte chunks.
    const auto& m03 = step(r, "m03");
    BOOST_TEST(m03.exchanges.size() >= 3u);
    BOOST_TEST(contains(m03.exchanges[1].command, "00 B0 00 00 04"));
    // The authentication certificate is end-entity: redacted; the CA certificate is kept.
    for (const auto& e : m03.exchanges)
        if (e.command.rfind("00 B0", 0) == 0)
            BOOST_TEST(contains(e.response, "<redacted len="), e.response);
    const auto& m04 = step(r, "m04");
    BOOST_TEST(contains(m04.exchanges[1].command, "00 B0 00 00 07"));
    BOOST_TEST(!contains(m04.exchanges.back().response, "redacted"));
    BOOST_TEST(contains(m04.exchanges.back().response, "90 00"));
    // One extended-Le read.
    const auto& m06 = step(r, "m06");
    BOOST_TEST(m06.exchanges.size() == 2u);
    BOOST_TEST(contains(m06.exchanges[1].command, "00 B0 00 00 00 00 00"));
    // Retry counter: 3 tries, stored.
    BOOST_TEST(lab.ctx.variables.at("auth_tries") == Bytes{3});
    BOOST_TEST(step(r, "m07").sw.value_or(0) == 0x63C3);
    // PINs never appear in commands.
    for (const auto& id : {"m08", "m10"}) {
        const auto& s = step(r, id);
        BOOST_TEST(contains(s.exchanges.back().command, "<redacted pin len="),
                   s.exchanges.back().command);
    }
    // Signatures verified with OpenSSL against the certificates read from the card.
    BOOST_TEST(contains(step(r, "m09").reason_en, "256-byte signature"));
    BOOST_TEST(contains(step(r, "m14").reason_en, "verified"));
    BOOST_TEST(lab.ctx.variables.at("sig").size() == 256u);
    // Signature certificate values are personal: its variable is marked and redacted.
    BOOST_TEST(lab.ctx.personal_variables.count("sign_cert") == 1u);
    BOOST_TEST(lab.ctx.personal_variables.count("auth_ca") == 0u);
    // Latency statistics.
    const auto m19 = nlohmann::json::parse(step(r, "m19").measurements_json);
    BOOST_TEST(m19.at("n").get<int>() == 10);
    BOOST_TEST(m19.at("min_us").get<long>() <= m19.at("median_us").get<long>());
    BOOST_TEST(m19.at("median_us").get<long>() <= m19.at("p95_us").get<long>());
    BOOST_TEST(m19.at("p95_us").get<long>() <= m19.at("max_us").get<long>());
    BOOST_TEST(step(r, "m19").exchanges.size() == 11u); // warm-up recorded too
    BOOST_TEST(contains(step(r, "m19").exchanges[0].note, "warm-up"));
    // Reset and reconnect leave evidence.
    BOOST_TEST(contains(step(r, "m16").exchanges.at(0).command, "<warm reset>"));
    BOOST_TEST(lab.ctx.variables.at("atr2") == lab.ctx.variables.at("atr"));
    BOOST_TEST(lab.ctx.variables.at("token").size() == 32u);
    // Durations come from the (virtual) steady clock.
    BOOST_TEST(step(r, "m14").duration_us > 0);
}

BOOST_AUTO_TEST_CASE(steps_record_their_start_time_from_the_run_start_when_given_one) {
    LabCard lab("mynumber");
    const std::string suite = "t1,g,Select,選択,select_aid,${aid.jpki},,,,continue,\n"
                              "t2,g,Token,トークン,read_ef,fid=${ef.token};mode=fixed;length=32,,,,"
                              "continue,\n"
                              "t3,g,Needs removal,取り外し,atr,,,,removal,continue,\n"
                              "t4,g,Repeat,反復,repeat,cmd=00 A4 04 0C 0A ${aid.jpki};count=3,,,,"
                              "continue,\n";
    // Without a run clock, no start times.
    const auto untimed = lab.run(suite);
    for (const auto& st : untimed.steps)
        BOOST_TEST(!st.started_us.has_value());
    // The run started 5 s (virtual) before the lab fixture's clock base.
    lab.ctx.run_start =
        std::chrono::steady_clock::time_point{} + std::chrono::hours(1) - std::chrono::seconds(5);
    const auto r = lab.run(suite);
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_REQUIRE(r.steps.size() == 4u);
    std::int64_t previous_end = 5'000'000;
    for (const auto& st : r.steps) {
        BOOST_TEST_CONTEXT(st.step_id) {
            BOOST_REQUIRE(st.started_us.has_value()); // a skipped step too (when it was reached)
            BOOST_TEST(*st.started_us >= previous_end);
            previous_end = *st.started_us + st.duration_us;
        }
    }
    BOOST_TEST(step(r, "t3").verdict == StepVerdict::Skip);
    BOOST_TEST(step(r, "t4").duration_us > 0);
}

BOOST_AUTO_TEST_CASE(a_repeat_words_its_first_failure_and_counts_them_all) {
    // The loop judges each exchange without wording it (issue 11); the first failure is worded.
    LabCard lab("mynumber");
    const auto r =
        lab.run("f1,g,Repeat,反復,repeat,cmd=00 A4 04 0C 0A ${aid.jpki};count=3,6A82,,,"
                "continue,\n"
                "f2,g,Measure,測定,measure,cmd=00 A4 04 0C 0A ${aid.jpki};count=2;warmup=0,"
                "6A82,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "f1").verdict == StepVerdict::Fail);
    BOOST_TEST(step(r, "f1").reason_en ==
               "3 of 3 exchanges failed; first: exchange 1: SW 9000 (Normal processing), "
               "expected 6A82");
    BOOST_TEST(contains(step(r, "f1").reason_ja, "3 回中 3 回失敗。最初: exchange 1: SW 9000"));
    BOOST_TEST(step(r, "f1").sw.value_or(0) == 0x9000);
    BOOST_TEST(step(r, "f2").verdict == StepVerdict::Fail);
    BOOST_TEST(contains(step(r, "f2").reason_en, "2 of 2 exchanges failed; first: exchange 1: "));
}

BOOST_AUTO_TEST_CASE(the_model_suite_overload_plans_steps_itself) {
    LabCard lab("mynumber");
    model::Suite s;
    s.id = "inline";
    model::SuiteStep st;
    st.id = "a";
    st.title_en = "select";
    st.action = "select_aid";
    st.args = "${aid.jpki}";
    s.steps.push_back(st);
    st.id = "b";
    st.action = "pin_tries";
    st.args = "pin=sign";
    s.steps.push_back(st);
    const auto r = suite::run_suite(s, *lab.tap, lab.ctx);
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(all_pass(r));
    BOOST_TEST(step(r, "b").sw.value_or(0) == 0x63C5);
}

BOOST_AUTO_TEST_CASE(juki_certificates_are_rsa_1024_and_expired_is_info_when_asked) {
    LabCard lab("juki");
    lab.supply_default_pins();
    const auto r = lab.run(
        "j1,c,Select,選択,select_aid,${aid.jpki},,,,stop,\n"
        "j2,c,Token,トークン,read_ef,fid=${ef.token};mode=fixed;length=32,,token:JPKIAPICCTOKEN,,"
        "continue,\n"
        "j3,c,CA,CA証明書,read_ef,fid=${ef.sign_ca};store=juki_ca,,der_certificate,,continue,\n"
        "j4,s,Verify,署名PIN,verify_pin,pin=sign,,,,continue,\n"
        "j5,s,Cert,証明書,read_ef,fid=${ef.sign_cert};chunk=100;store=juki_cert,,,,continue,\n"
        "j6,s,Check info,検査,check_cert,cert=juki_cert;ca=juki_ca;bits=1024;expired=info,,,,"
        "continue,\n"
        "j7,s,Check fail,検査,check_cert,cert=juki_cert;ca=juki_ca;bits=2048,,,,continue,\n"
        "j8,s,Sign,署名,sign,key=sign;cert=juki_cert,,len=128,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    for (const auto& id : {"j1", "j2", "j3", "j4", "j5", "j6", "j8"})
        BOOST_TEST(step(r, id).verdict == StepVerdict::Pass, id);
    BOOST_TEST(contains(step(r, "j6").reason_en, "expired (info"));
    BOOST_TEST(step(r, "j7").verdict == StepVerdict::Fail);
    BOOST_TEST(contains(step(r, "j7").reason_en, "RSA-1024 key, expected RSA-2048"));
    BOOST_TEST(contains(step(r, "j7").reason_en, "expired"));
    BOOST_TEST(contains(step(r, "j8").reason_en, "128-byte signature"));
}

BOOST_AUTO_TEST_CASE(follow_61xx_and_6cxx_only_when_the_step_says_so) {
    LabCard lab("transport");
    const auto r = lab.run("f1,f,Follow 61,61追従,apdu,80 61 01 2C;follow=61xx,9000,len=300,,"
                           "continue,\n"
                           "f2,f,Record 61,61記録,apdu,80 61 01 2C,61xx,empty,,continue,\n"
                           "f3,f,Follow 6C,6C追従,apdu,80 6C 00 10 20;follow=6cxx,9000,len=16,,"
                           "continue,\n"
                           "f4,f,Record 6C,6C記録,apdu,80 6C 00 10 20,6C10,,,continue,\n"
                           "f5,f,Follow both,両方,apdu,80 6C 00 00 10;follow=both,9000,len=256,,"
                           "continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(all_pass(r));
    const auto& f1 = step(r, "f1");
    BOOST_TEST(f1.exchanges.size() == 3u); // 61 00 (256 waiting), then 61 2C, then the rest
    BOOST_TEST(contains(f1.exchanges[1].note, "GET RESPONSE followed 61"));
    BOOST_TEST(contains(f1.exchanges[1].command, "00 C0 00 00"));
    BOOST_TEST(step(r, "f2").exchanges.size() == 1u);
    const auto& f3 = step(r, "f3");
    BOOST_TEST(f3.exchanges.size() == 2u);
    BOOST_TEST(f3.exchanges[1].command == "80 6C 00 10 10");
    BOOST_TEST(contains(f3.exchanges[1].note, "re-sent with Le=10 after 6C 10"));
    BOOST_TEST(step(r, "f4").exchanges.size() == 1u);
}

BOOST_AUTO_TEST_CASE(transport_sweeps_short_and_extended) {
    LabCard lab("transport");
    const auto r = lab.run(
        "s1,s,Case 1,ケース1,sweep,case=1;from=1;to=5,,,,continue,\n"
        "s2,s,Case 2,ケース2,sweep,case=2;from=1;to=256;step=51,,,,continue,\n"
        "s3,s,Case 3,ケース3,sweep,case=3;from=1;to=255;step=127,,,,continue,\n"
        "s4,s,Case 4,ケース4,sweep,case=4;from=1;to=255;step=127;le=256,,,,continue,\n"
        "s5,s,Extended,拡張,sweep,case=2;from=257;to=1257;step=500;form=extended,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    for (const auto& id : {"s1", "s2", "s3", "s4", "s5"})
        BOOST_TEST(step(r, id).verdict == StepVerdict::Pass, id);
    BOOST_TEST(step(r, "s1").exchanges.size() == 5u);
    BOOST_TEST(step(r, "s2").exchanges.size() == 6u); // 1, 52, 103, 154, 205, 256
    const auto s5 = nlohmann::json::parse(step(r, "s5").measurements_json);
    BOOST_TEST(s5.at("points").get<int>() == 3);
    BOOST_TEST(s5.at("max_passed").get<int>() == 1257);
}

BOOST_AUTO_TEST_CASE(an_extended_sweep_on_a_short_apdu_reader_fails_point_by_point) {
    LabCard lab("transport", false, "lab-short-261");
    const auto r = lab.run("x1,s,Extended,拡張,sweep,case=2;from=257;to=1257;step=500;"
                           "form=extended,,,,continue,\n"
                           "x2,s,Short,短形式,sweep,case=2;from=1;to=249;step=248,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "x1").verdict == StepVerdict::Fail);
    BOOST_TEST(contains(step(r, "x1").reason_en, "3 of 3 lengths failed"));
    BOOST_TEST(step(r, "x2").verdict == StepVerdict::Pass);
    BOOST_TEST(lab.ctx.status == model::RunStatus::Complete);
}

BOOST_AUTO_TEST_CASE(a_short_apdu_reader_fails_the_258_byte_signature_with_a_reason) {
    LabCard lab("mynumber", false, "lab-short-261");
    lab.supply_default_pins();
    const auto r = lab.run(
        "a1,c,Select,選択,select_aid,${aid.jpki},,,,stop,\n"
        "a2,c,Cert,証明書,read_ef,fid=${ef.auth_cert};chunk=200;store=auth_cert,,,,continue,\n"
        "a3,c,Verify,暗証番号,verify_pin,pin=auth,,,,continue,\n"
        "a4,c,Sign,署名,sign,key=auth;cert=auth_cert,,,,continue,\n"
        "a5,c,After,後,select_aid,${aid.jpki},,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "a3").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "a4").verdict == StepVerdict::Fail);
    BOOST_TEST(contains(step(r, "a4").reason_en, "transport error"));
    BOOST_TEST(step(r, "a5").verdict == StepVerdict::Pass); // not an abort: the run goes on
    BOOST_TEST(lab.ctx.status == model::RunStatus::Complete);
}

BOOST_AUTO_TEST_CASE(removal_mid_suite_aborts_the_rest_and_keeps_earlier_steps) {
    LabCard lab("mynumber");
    lab.ctx.progress = [&](const suite::Progress& p) {
        if (p.index == 3)
            lab.reader.remove();
    };
    const auto r = lab.run("r1,c,Select,選択,select_aid,${aid.jpki},,,,continue,\n"
                           "r2,c,Token,トークン,read_ef,fid=${ef.token};mode=fixed;length=32,,,,"
                           "continue,\n"
                           "r3,c,Cert,証明書,read_ef,fid=${ef.auth_cert},,,,continue,\n"
                           "r4,c,CA,CA証明書,read_ef,fid=${ef.auth_ca},,,,continue,\n"
                           "r5,c,Select,選択,select_aid,${aid.jpki},,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(r.steps.size() == 5u);
    BOOST_TEST(step(r, "r1").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "r2").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "r3").verdict == StepVerdict::Aborted);
    BOOST_TEST(contains(step(r, "r3").reason_en, "card_removed"));
    BOOST_TEST(step(r, "r3").exchanges.size() == 1u); // the failed SELECT is evidence
    BOOST_TEST(contains(step(r, "r3").exchanges[0].note, "transport error"));
    BOOST_TEST(step(r, "r4").verdict == StepVerdict::Aborted);
    BOOST_TEST(step(r, "r5").verdict == StepVerdict::Aborted);
    BOOST_TEST(step(r, "r5").exchanges.empty());
    BOOST_TEST(lab.ctx.status == model::RunStatus::Incomplete);
    BOOST_TEST(contains(lab.ctx.cause, "card_removed during step r3"));
}

BOOST_AUTO_TEST_CASE(cancel_aborts_the_remaining_steps) {
    LabCard lab("transport");
    std::atomic<bool> cancel{false};
    lab.ctx.cancel = &cancel;
    lab.ctx.progress = [&](const suite::Progress& p) {
        if (p.index == 2)
            cancel = true;
    };
    const auto r = lab.run("c1,c,One,一,apdu,80 10 00 00,,,,continue,\n"
                           "c2,c,Two,二,apdu,80 10 00 00,,,,continue,\n");
    BOOST_TEST(step(r, "c1").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "c2").verdict == StepVerdict::Aborted);
    BOOST_TEST(lab.ctx.status == model::RunStatus::Incomplete);
    BOOST_TEST(contains(lab.ctx.cause, "cancelled"));
}

BOOST_AUTO_TEST_CASE(expect_removed_passes_when_the_reader_reports_the_removal) {
    LabCard lab("mynumber");
    const auto skipped = lab.run("e0,c,Removed,取り外し,expect_removed,,,,,continue,\n");
    BOOST_TEST(step(skipped, "e0").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(skipped, "e0").measurements_json, "removal"));
    lab.ctx.wait_removed = [&](const std::string&) {
        lab.reader.remove();
        return true;
    };
    const auto r = lab.run("e1,c,Select,選択,select_aid,${aid.jpki},,,,continue,\n"
                           "e2,c,Removed,取り外し,expect_removed,prompt=Remove it,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "e1").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "e2").verdict == StepVerdict::Pass);
    BOOST_TEST(lab.ctx.status == model::RunStatus::Complete);
}

BOOST_AUTO_TEST_CASE(a_step_over_its_timeout_fails_with_a_timeout_reason) {
    LabCard lab("transport");
    const auto r = lab.run("t1,t,Slow,遅い,apdu,80 50 07 D0,,,,continue,1000\n"
                           "t2,t,Quick,速い,apdu,80 50 00 0A,,,,continue,1000\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "t1").verdict == StepVerdict::Fail);
    BOOST_TEST(contains(step(r, "t1").reason_en, "timeout"));
    BOOST_TEST(contains(step(r, "t1").reason_en, "limit is 1000 ms"));
    BOOST_TEST(contains(step(r, "t1").measurements_json, "timed_out"));
    BOOST_TEST(step(r, "t1").duration_us >= 2000000);
    BOOST_TEST(step(r, "t2").verdict == StepVerdict::Pass);
}

BOOST_AUTO_TEST_CASE(requires_not_met_is_a_skip_with_the_missing_capability) {
    LabCard lab("mynumber");
    const auto r =
        lab.run("q1,q,Contactless,非接触,select_aid,${aid.jpki},,,contactless,continue,\n"
                "q2,q,Needs PIN,PIN必要,verify_pin,pin=auth,,,,continue,\n"
                "q3,q,Contact,接触,select_aid,${aid.jpki},,,contact,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "q1").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(r, "q1").reason_en, "requires contactless"));
    BOOST_TEST(nlohmann::json::parse(step(r, "q1").measurements_json)["missing_capabilities"] ==
               nlohmann::json({"contactless"}));
    BOOST_TEST(step(r, "q1").exchanges.empty());
    BOOST_TEST(step(r, "q2").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(r, "q2").reason_en, "pin:auth"));
    BOOST_TEST(step(r, "q3").verdict == StepVerdict::Pass);
}

BOOST_AUTO_TEST_CASE(on_fail_stop_continue_and_skip_group) {
    LabCard lab("transport");
    const auto r = lab.run("o1,g1,Fail,失敗,apdu,80 10 00 00,6A82,,,skip_group,\n"
                           "o2,g1,Skipped,スキップ,apdu,80 10 00 00,,,,continue,\n"
                           "o3,g2,Fail,失敗,apdu,80 10 00 00,6A82,,,continue,\n"
                           "o4,g2,Runs,実行,apdu,80 10 00 00,,,,continue,\n"
                           "o5,g3,Stop,停止,apdu,80 10 00 00,6A82,,,stop,\n"
                           "o6,g3,Not run,未実行,apdu,80 10 00 00,,,,continue,\n"
                           "o7,g4,Not run,未実行,apdu,80 10 00 00,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "o1").verdict == StepVerdict::Fail);
    BOOST_TEST(contains(step(r, "o1").reason_en, "expected 6A82"));
    BOOST_TEST(!step(r, "o1").reason_ja.empty());
    BOOST_TEST(step(r, "o2").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(r, "o2").reason_en, "group g1"));
    BOOST_TEST(step(r, "o3").verdict == StepVerdict::Fail);
    BOOST_TEST(step(r, "o4").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "o5").verdict == StepVerdict::Fail);
    BOOST_TEST(step(r, "o6").verdict == StepVerdict::Skip);
    BOOST_TEST(step(r, "o7").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(r, "o7").reason_en, "step o5 failed"));
    BOOST_TEST(step(r, "o7").exchanges.empty());
}

BOOST_AUTO_TEST_CASE(an_unknown_variable_is_an_error_step) {
    LabCard lab("transport");
    const auto r = lab.run("v0,v,Missing,なし,read_ef,fid=7777;store=x,,,,continue,\n"
                           "v1,v,Unset,未設定,check_cert,cert=x,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "v1").verdict == StepVerdict::Error);
}

BOOST_AUTO_TEST_CASE(latency_statistics_by_nearest_rank) {
    const auto j = nlohmann::json::parse(
        suite::latency_statistics_json({50, 10, 20, 30, 40, 60, 70, 80, 90, 100}));
    BOOST_TEST(j["n"].get<int>() == 10);
    BOOST_TEST(j["min_us"].get<int>() == 10);
    BOOST_TEST(j["median_us"].get<int>() == 50);
    BOOST_TEST(j["p95_us"].get<int>() == 100);
    BOOST_TEST(j["max_us"].get<int>() == 100);
    BOOST_TEST(j["mean_us"].get<int>() == 55);
    BOOST_TEST(nlohmann::json::parse(suite::latency_statistics_json({}))["n"].get<int>() == 0);
}
