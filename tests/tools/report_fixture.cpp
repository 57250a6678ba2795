// Writes the fixed results database the report golden tests and the diff tests read: three
// reader identities, two runs, stable UUIDs, times and durations, so every report is
// byte-stable. Usage: report_fixture DB [baseline|regressed]
//   baseline  (default) the fixture as the goldens in tests/fixtures/report/ show it;
//   regressed the same, except that the ACS reader's My Number signature now fails (a newer run).
#include "model/run.hpp"
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"
#include "services/store/store.hpp"

#include <cstdio>
#include <filesystem>
#include <string>

namespace {

using namespace harness;
using model::Compatibility;
using model::StepVerdict;

const std::string hash_jpki(64, 'a');
const std::string hash_juki = std::string(32, '1') + std::string(32, '2');

model::Exchange exchange(const char* command, const char* response, std::uint16_t sw,
                         std::int64_t us, const char* note = "") {
    return model::Exchange{command, response, sw, us, note};
}

model::StepResult step(const char* id, const char* group, const char* title_en,
                       const char* title_ja, const char* action, StepVerdict verdict,
                       std::int64_t us, const char* reason_en = "", const char* reason_ja = "") {
    model::StepResult s;
    s.step_id = id;
    s.group = group;
    s.title_en = title_en;
    s.title_ja = title_ja;
    s.action = action;
    s.verdict = verdict;
    s.duration_us = us;
    s.reason_en = reason_en;
    s.reason_ja = reason_ja;
    s.measurements_json = "{}";
    if (verdict == StepVerdict::Pass)
        s.sw = 0x9000;
    return s;
}

model::SuiteResult jpki_suite(bool sign_ok, std::int64_t sign_us, bool extended_ok) {
    model::SuiteResult r;
    r.suite = {"jpki-mynumber", hash_jpki};
    auto select = step("jpki.select", "jpki", "Select the JPKI application", "JPKI AP を選択",
                       "select_aid", StepVerdict::Pass, 2150);
    select.exchanges.push_back(
        exchange("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", "", 0x9000, 2100));
    r.steps.push_back(select);
    r.steps.push_back(step("jpki.auth.cert", "jpki.auth", "Read the authentication certificate",
                           "利用者証明用電子証明書を読み出す", "read_ef", StepVerdict::Pass,
                           48200));
    auto ext =
        step("jpki.auth.cert_ext", "jpki.auth", "Read the certificate with one extended-Le read",
             "拡張 Le で証明書を一度に読み出す", "read_ef",
             extended_ok ? StepVerdict::Pass : StepVerdict::Skip, extended_ok ? 31000 : 0,
             extended_ok ? "" : "requires extended_apdu: the reader is short-APDU level",
             extended_ok ? "" : "拡張 APDU が必要: リーダーは短 APDU レベルです");
    r.steps.push_back(ext);
    r.steps.push_back(step("jpki.auth.tries", "jpki.auth", "Authentication PIN retry counter",
                           "利用者証明用暗証番号の残り回数", "pin_tries", StepVerdict::Pass, 1800));
    auto sign =
        step("jpki.auth.sign", "jpki.auth", "Authentication signature (258-byte response) verified",
             "利用者証明用の署名（258 バイト応答）を検証", "sign",
             sign_ok ? StepVerdict::Pass : StepVerdict::Fail, sign_us,
             sign_ok ? "" : "no response to the 258-byte signature (SCARD_E_NOT_TRANSACTED)",
             sign_ok ? "" : "258 バイトの署名応答が返りませんでした（SCARD_E_NOT_TRANSACTED）");
    sign.exchanges.push_back(exchange(
        "00 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 "
        "9F 86 D0 81 88 4C 7D 65 9A 2F EA A0 C5 5A D0 15 A3 BF 4F 1B 2B 0B 82 2C D1 5D 6C 15 B0 "
        "F0 0A 08 00",
        sign_ok ? "<redacted len=256 sha256=0f1e2d3c>" : "", sign_ok ? 0x9000 : 0x6F00, sign_us,
        sign_ok ? "" : "transport error: SCARD_E_NOT_TRANSACTED"));
    if (!sign_ok)
        sign.sw = std::nullopt;
    r.steps.push_back(sign);
    return r;
}

model::SuiteResult juki_suite(std::int64_t sign_us) {
    model::SuiteResult r;
    r.suite = {"juki", hash_juki};
    r.steps.push_back(step("juki.select", "juki", "Select the Juki application", "住基 AP を選択",
                           "select_aid", StepVerdict::Pass, 2300));
    r.steps.push_back(step("juki.sign.sign", "juki.sign", "Digital signature (130-byte response)",
                           "電子署名（130 バイト応答）", "sign", StepVerdict::Pass, sign_us));
    return r;
}

std::string findings(const char* level, int max_message, const char* likelihood,
                     const char* reasons) {
    return std::string("{\"exchange_level\":\"") + level +
           "\",\"max_message_length\":" + std::to_string(max_message) +
           ",\"findings\":[],\"prediction\":{\"likelihood\":\"" + likelihood + "\",\"reasons\":[" +
           reasons + "]}}";
}

model::ReaderIdentity acs() {
    model::ReaderIdentity r;
    r.pcsc_name = "ACS ACR39U ICC Reader 00 00";
    r.vid = 0x072F;
    r.pid = 0xB100;
    r.bcd_device = 0x0100;
    r.manufacturer = "ACS";
    r.product = "ACR39U ICC Reader";
    r.driver = "libccid 1.5.2";
    r.ccid_descriptor = ccid::encode(ccid::Descriptor{});
    r.descriptor_findings_json = findings("extended_apdu", 271, "likely", "");
    return r;
}

model::ReaderIdentity slim() {
    model::ReaderIdentity r;
    r.pcsc_name = "Example SlimReader 01 00";
    r.vid = 0x0BDA;
    r.pid = 0x0165;
    r.bcd_device = 0x0102;
    r.manufacturer = "Example Corp";
    r.product = "SlimReader";
    r.driver = "libccid 1.5.2";
    ccid::Descriptor d;
    d.features = 0x000200FE;
    d.max_message_length = 261;
    r.ccid_descriptor = ccid::encode(d);
    r.descriptor_findings_json = findings(
        "short_apdu", 261, "unlikely",
        "{\"code\":\"short_apdu_258\",\"effect\":\"fails\",\"message\":\"short-APDU level with a "
        "261-byte message limit: a 258-byte response does not fit\"}");
    return r;
}

model::ReaderIdentity pasori() {
    model::ReaderIdentity r;
    r.pcsc_name = "SONY FeliCa RC-S300/P 00 00";
    r.vid = 0x054C;
    r.pid = 0x0DC9;
    r.bcd_device = 0x0110;
    r.manufacturer = "SONY";
    r.product = "RC-S300/P";
    r.driver = "libccid 1.5.2";
    return r; // descriptor unknown
}

model::Session session(model::ReaderIdentity reader, const char* card_type, const char* iface,
                       std::vector<model::SuiteResult> suites, int n) {
    model::Session s;
    s.reader = std::move(reader);
    s.card.card_id = "card-" + std::to_string(n);
    s.card.card_type = card_type;
    s.card.interface = iface;
    s.card.atr = hex::parse("3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75").value();
    s.card.emulated = true;
    s.card.test_card = true;
    s.suites = std::move(suites);
    return s;
}

// The session's steps one after another from `start_us` after the run's start (their
// started_us, as the runner records them; run 2 stays without, as a run stored before schema 7).
model::Session timed(model::Session s, std::int64_t start_us) {
    for (auto& suite : s.suites)
        for (auto& st : suite.steps) {
            st.started_us = start_us;
            start_us += st.duration_us + 150;
        }
    return s;
}

model::Verdict verdict(const model::Session& s, Compatibility v, const char* en, const char* ja) {
    return model::Verdict{
        s.reader.pcsc_name, s.reader.reader_model, s.card.card_type, s.card.interface, v, en, ja};
}

model::Run run_header(const char* uuid, const char* start, const char* end) {
    model::Run r;
    r.uuid = uuid;
    r.started_at = start;
    r.ended_at = end;
    r.environment = {"fixture-host", "Debian GNU/Linux 13 (trixie)", "2.3.3", "1.6.2",
                     "0.1.0-fixture"};
    r.lab = true;
    r.status = model::RunStatus::Complete;
    r.suites = {{"jpki-mynumber", hash_jpki}, {"juki", hash_juki}};
    return r;
}

void write(store::Store& db, model::Run run, const std::vector<model::Session>& sessions,
           const std::vector<model::Verdict>& verdicts) {
    db.begin_run(run);
    for (const auto& s : sessions)
        db.add_session(run.uuid, s);
    db.finish_run(run.uuid, model::RunStatus::Complete, "", run.ended_at, verdicts);
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: report_fixture DB [baseline|regressed]\n");
        return 2;
    }
    const std::string variant = argc == 3 ? argv[2] : "baseline";
    if (variant != "baseline" && variant != "regressed") {
        std::fprintf(stderr, "report_fixture: variant must be baseline or regressed\n");
        return 2;
    }
    std::filesystem::remove(argv[1]);
    store::Store db(argv[1]);

    // Run 1: every reader.
    {
        std::vector<model::Session> s{
            session(acs(), "mynumber", "contact", {jpki_suite(true, 412000, true)}, 1),
            session(acs(), "juki", "contact", {juki_suite(268000)}, 2),
            session(slim(), "mynumber", "contact", {jpki_suite(false, 5003000, false)}, 3),
            session(slim(), "juki", "contact", {juki_suite(301000)}, 4),
            session(pasori(), "mynumber", "contactless", {jpki_suite(true, 655000, true)}, 5),
        };
        // The three readers at once (each reader's two cards one after the other).
        s[0] = timed(s[0], 180000);
        s[1] = timed(s[1], 2400000);
        s[2] = timed(s[2], 210000);
        s[3] = timed(s[3], 6900000);
        s[4] = timed(s[4], 250000);
        std::vector<model::Verdict> v{
            verdict(s[0], Compatibility::Compatible, "", ""),
            verdict(s[1], Compatibility::Compatible, "", ""),
            verdict(s[2], Compatibility::Incompatible,
                    "258-byte signature response failed; the reader is short-APDU level with a "
                    "261-byte message limit",
                    "258 バイトの署名応答に失敗しました。リーダーは短 APDU レベルで、メッセージ長の"
                    "上限は 261 バイトです"),
            verdict(s[3], Compatibility::Compatible, "", ""),
            verdict(s[4], Compatibility::Partial,
                    "the extended-Le certificate read took 3 retries over contactless",
                    "非接触での拡張 Le による証明書の読み出しに 3 回の再試行が必要でした"),
        };
        write(db,
              run_header("00000000-0000-4000-8000-000000000001", "2025-01-10T09:00:00Z",
                         "2025-01-10T09:12:30Z"),
              s, v);
    }
    // Run 2: the ACS reader again (My Number only), a little faster; or, regressed, failing.
    {
        const bool ok = variant == "baseline";
        std::vector<model::Session> s{
            session(acs(), "mynumber", "contact", {jpki_suite(ok, ok ? 398000 : 5001000, true)}, 6),
        };
        std::vector<model::Verdict> v{
            ok ? verdict(s[0], Compatibility::Compatible, "", "")
               : verdict(s[0], Compatibility::Incompatible,
                         "258-byte signature response failed (SCARD_E_NOT_TRANSACTED)",
                         "258 バイトの署名応答に失敗しました（SCARD_E_NOT_TRANSACTED）"),
        };
        write(db,
              run_header("00000000-0000-4000-8000-000000000002", "2025-02-03T14:30:00Z",
                         "2025-02-03T14:33:10Z"),
              s, v);
    }
    std::printf("%s\n", argv[1]);
    return 0;
}
