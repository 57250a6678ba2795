// The certificate-style page: which reader rows a VID:PID (+ firmware) names, the errors that say
// what the database has instead, and the page's contents in Japanese and English: identity and
// firmware, verdicts with reasons, suite hashes, station, versions; a lab reader marked simulated.
#include "fixture.hpp"
#include "pure/error.hpp"
#include "services/report/certificate.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using namespace report_test;

namespace {

model::Run two_firmwares() {
    auto old_fw = reader("Alpha", 0x0001);
    old_fw.bcd_device = 0x0100;
    old_fw.pcsc_name = "Maker Alpha 01 00"; // a second reader of the model, older firmware
    auto lab_reader = reader("Beta", 0x0002);
    lab_reader.reader_model = "acr39u-like";
    auto r = run(
        "11111111-0000-4000-8000-000000000001", "2026-11-30T10:00:00Z",
        {{reader("Alpha", 0x0001),
          "mynumber",
          "contact",
          model::Compatibility::Compatible,
          {step("a", model::StepVerdict::Pass, 1000)}},
         {old_fw,
          "mynumber",
          "contact",
          model::Compatibility::Incompatible,
          {step("a", model::StepVerdict::Fail, 1000)}},
         {lab_reader,
          "juki",
          "contact",
          model::Compatibility::Partial,
          {step("a", model::StepVerdict::Pass, 1000), step("b", model::StepVerdict::Fail, 1000)}}});
    r.environment = {"station-7", "Debian GNU/Linux 12 (bookworm)", "2.0.0-1", "1.5.2-1", "0.9.0"};
    return r;
}

bool has(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

std::string usage_error_of(const report::ReportModel& m, const report::ReaderQuery& q) {
    try {
        report::certificate_readers(m, q);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(vid_pid_and_firmware_parse_in_the_report_spellings) {
    const auto q = report::parse_reader_query("072f:B100", "1.02");
    BOOST_TEST(q.vid == 0x072F);
    BOOST_TEST(q.pid == 0xB100);
    BOOST_TEST(q.bcd_device.value() == 0x0102);
    BOOST_TEST(report::parse_reader_query("072F:B100", "0x0210").bcd_device.value() == 0x0210);
    BOOST_TEST(report::parse_reader_query("072F:B100", "0210").bcd_device.value() == 0x0210);
    BOOST_TEST(!report::parse_reader_query("072F:B100", "").bcd_device.has_value());
    for (const char* bad : {"072F", "072F:", "XYZ:1", "12345:1", ""})
        BOOST_CHECK_THROW(report::parse_reader_query(bad, ""), UsageError);
    for (const char* bad : {"1", "1.2", "1.234", "x.02", "12345"})
        BOOST_CHECK_THROW(report::parse_reader_query("072F:B100", bad), UsageError);
}

BOOST_AUTO_TEST_CASE(unknown_or_ambiguous_readers_say_what_the_database_has) {
    const auto m = report::build({two_firmwares()}, report::Selection::Newest);
    // Unknown VID:PID: every reader there is listed.
    const auto unknown = usage_error_of(m, report::parse_reader_query("FFFF:0001", ""));
    BOOST_TEST(has(unknown, "FFFF:0001"));
    BOOST_TEST(has(unknown, "1234:0001 fw 1.02"));
    BOOST_TEST(has(unknown, "1234:0001 fw 1.00"));
    BOOST_TEST(has(unknown, "1234:0002"));
    // Two firmware versions and no --firmware: both listed, asks for --firmware.
    const auto both = usage_error_of(m, report::parse_reader_query("1234:0001", ""));
    BOOST_TEST(has(both, "--firmware"));
    BOOST_TEST(has(both, "fw 1.00"));
    BOOST_TEST(has(both, "fw 1.02"));
    // A firmware the database does not have.
    const auto missing = usage_error_of(m, report::parse_reader_query("1234:0001", "2.00"));
    BOOST_TEST(has(missing, "2.00"));
    BOOST_TEST(has(missing, "fw 1.02"));
    // Chosen: exactly the row of that firmware.
    const auto rows =
        report::certificate_readers(m, report::parse_reader_query("1234:0001", "1.00"));
    BOOST_REQUIRE(rows.size() == 1U);
    BOOST_TEST(rows[0]->bcd_device.value() == 0x0100);
}

BOOST_AUTO_TEST_CASE(the_page_has_identity_verdicts_hashes_station_and_versions) {
    const auto m = report::build({two_firmwares()}, report::Selection::Newest);
    const auto rows =
        report::certificate_readers(m, report::parse_reader_query("1234:0001", "1.00"));
    const report::CertificateIssue issue{"2026-12-02", "1.2.3"};
    const auto ja = report::render_certificate_html(m, rows, report::Lang::Ja, issue);
    const auto en = report::render_certificate_html(m, rows, report::Lang::En, issue);
    for (const auto* html : {&ja, &en}) {
        BOOST_TEST(has(*html, "@page { size: A4"));
        BOOST_TEST(has(*html, "1234:0001"));
        BOOST_TEST(has(*html, "bcdDevice 0x0100"));
        BOOST_TEST(has(*html, std::string(64, 'c'))); // the full content hash
        BOOST_TEST(has(*html, "station-7"));
        BOOST_TEST(has(*html, "2.0.0-1"));
        BOOST_TEST(has(*html, "1.5.2-1"));
        BOOST_TEST(has(*html, "0.9.0"));      // the cardharness that tested
        BOOST_TEST(has(*html, "1.2.3"));      // the cardharness that issued
        BOOST_TEST(has(*html, "2026-11-30")); // tested on
        BOOST_TEST(has(*html, "2026-12-02")); // issued on
        BOOST_TEST(has(*html, "data-verdict=\"incompatible\""));
        BOOST_TEST(!has(*html, "data-simulated")); // not a lab reader, not a lab run
        BOOST_TEST(!has(*html, "<script"));
    }
    BOOST_TEST(has(ja, "<html lang=\"ja\">"));
    BOOST_TEST(has(ja, "成績証明書"));
    BOOST_TEST(has(ja, "マイナンバーカード（接触）"));
    BOOST_TEST(has(ja, "診断 Alpha"));
    BOOST_TEST(has(ja, "実機"));
    BOOST_TEST(has(en, "Card reader conformance certificate"));
    BOOST_TEST(has(en, "My Number card (contact)"));
    BOOST_TEST(has(en, "diagnosis Alpha"));
    BOOST_TEST(has(en, "physical reader"));
}

BOOST_AUTO_TEST_CASE(a_lab_reader_or_a_lab_run_is_marked_simulated) {
    auto r = two_firmwares();
    const auto m = report::build({r}, report::Selection::Newest);
    const report::CertificateIssue issue{"2026-12-02", "1.2.3"};
    const auto lab_rows =
        report::certificate_readers(m, report::parse_reader_query("1234:0002", ""));
    const auto ja = report::render_certificate_html(m, lab_rows, report::Lang::Ja, issue);
    BOOST_TEST(has(ja, "data-simulated=\"true\""));
    BOOST_TEST(has(ja, "模擬リーダー"));
    BOOST_TEST(has(ja, "acr39u-like"));
    const auto en = report::render_certificate_html(m, lab_rows, report::Lang::En, issue);
    BOOST_TEST(has(en, "simulated reader"));
    // A hardware-looking identity tested in a lab run is simulated too.
    r.lab = true;
    const auto lab_run = report::build({r}, report::Selection::Newest);
    const auto rows =
        report::certificate_readers(lab_run, report::parse_reader_query("1234:0001", "1.02"));
    BOOST_TEST(has(report::render_certificate_html(lab_run, rows, report::Lang::En, issue),
                   "data-simulated=\"true\""));
}
