// `report --view survey`: the plain "not a hardware test" sentence on every format, the grid with
// causes and the prediction, filters by maker / level / contactless / verdict, and an observed
// hardware result joined by VID, PID and bcdDevice shown beside the survey's.
#include "services/report/survey_view.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace harness;
using namespace harness::report;
using model::Compatibility;

namespace {

SurveyReport sample() {
    SurveyReport r;
    r.libccid_version = "1.5.2-1";
    SurveyRow a;
    a.file = "SONY_FeliCa_RC-S300_S.txt";
    a.vid = 0x054C;
    a.pid = 0x0DC8;
    a.bcd_device = 0x0100;
    a.maker = "SONY";
    a.product = "FeliCa Port/PaSoRi 4.0";
    a.exchange_level = "extended_apdu";
    a.max_message_length = 522;
    a.prediction = "likely";
    a.takes = "contactless";
    a.takes_reviewed = true;
    a.driver_outcome = "opened";
    a.cells = {{"mynumber",
                "contact",
                Compatibility::Incompatible,
                "interface_not_supported",
                "a contactless-only reader",
                "非接触専用リーダー",
                {},
                {},
                {},
                {}},
               {"mynumber",
                "contactless",
                Compatibility::Compatible,
                "all_passed",
                "all 27 steps that ran passed",
                "実行した27ステップすべて合格",
                {},
                {},
                {},
                {}}};
    SurveyRow b;
    b.file = "SCL010.txt";
    b.vid = 0x04E6;
    b.pid = 0x5291;
    b.bcd_device = 0x0102;
    b.maker = "SCM Microsystems Inc.";
    b.product = "SCL010 Contactless Reader";
    b.exchange_level = "tpdu";
    b.max_message_length = 271;
    b.prediction = "likely";
    b.takes = "contactless";
    b.driver_outcome = "refused";
    b.cells = {{"mynumber",
                "contactless",
                Compatibility::Incompatible,
                "driver_refused_firmware",
                "the driver refuses firmware 1.02",
                "ファームウェア1.02を拒否",
                {},
                {},
                {},
                {}}};
    r.rows = {a, b};
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_format_says_it_is_not_a_hardware_test) {
    const auto r = sample();
    const auto ja = render_survey_html(r, Lang::Ja);
    const auto en = render_survey_html(r, Lang::En);
    BOOST_TEST(ja.find("これはハードウェア試験ではありません") != std::string::npos);
    BOOST_TEST(ja.find("libccid 1.5.2-1") != std::string::npos);
    BOOST_TEST(en.find("This is not a hardware test.") != std::string::npos);
    BOOST_TEST(en.find("id=\"not-a-hardware-test\"") != std::string::npos);
    const auto csv = render_survey_csv(r, Lang::En);
    BOOST_TEST(csv.rfind("\xEF\xBB\xBF"
                         "file,block,vid,pid",
                         0) == 0U);
    BOOST_TEST(csv.find("not a hardware test") != std::string::npos);
    const auto json = nlohmann::json::parse(render_survey_json(r));
    BOOST_TEST(json["view"] == "survey");
    BOOST_TEST(json["not_a_hardware_test"].get<std::string>().find("not a hardware test") !=
               std::string::npos);
    BOOST_TEST(json["rows"].size() == 2U);
    BOOST_TEST(json["rows"][0]["vid"] == 0x054C);
    BOOST_TEST(json["rows"][0]["contactless"] == true);
    BOOST_TEST(json["rows"][1]["cells"][0]["cause"] == "driver_refused_firmware");
}

BOOST_AUTO_TEST_CASE(the_grid_shows_verdict_reason_prediction_and_filters) {
    const auto html = render_survey_html(sample(), Lang::En);
    // One row per interface, filterable by maker, level, contactless and verdict.
    BOOST_TEST(html.find("data-maker=\"SONY\" data-level=\"extended_apdu\" "
                         "data-contactless=\"yes\" data-verdicts=\"compatible incompatible\"") !=
               std::string::npos);
    for (const char* filter : {"data-filter=\"maker\"", "data-filter=\"level\"",
                               "data-filter=\"contactless\"", "data-filter=\"verdict\""})
        BOOST_TEST(html.find(filter) != std::string::npos, filter);
    BOOST_TEST(html.find("data-cause=\"driver_refused_firmware\"") != std::string::npos);
    BOOST_TEST(html.find("the driver refuses firmware 1.02") != std::string::npos);
    BOOST_TEST(html.find("firmware refused") != std::string::npos); // the driver column
    BOOST_TEST(html.find("054C:0DC8") != std::string::npos);
    const auto ja = render_survey_html(sample(), Lang::Ja);
    BOOST_TEST(ja.find("ファームウェア1.02を拒否") != std::string::npos);
    BOOST_TEST(ja.find("使える見込み") != std::string::npos); // the prediction, in Japanese
}

BOOST_AUTO_TEST_CASE(an_observed_result_is_shown_beside_the_survey) {
    auto r = sample();
    ReportModel observed;
    ReaderRow reader;
    reader.vid = 0x054C;
    reader.pid = 0x0DC8;
    reader.bcd_device = 0x0100;
    Cell cell;
    cell.card_type = "mynumber";
    cell.interface = "contactless";
    cell.verdict = Compatibility::Partial;
    cell.reason_en = "the extended read failed";
    cell.reason_ja = "拡張読み出しが失敗";
    cell.tested_at = "2025-01-01T00:00:00Z";
    cell.run_uuid = "abc";
    reader.cells.push_back(cell);
    ReaderRow other = reader; // another firmware: not the same reader
    other.bcd_device = 0x0200;
    other.cells[0].verdict = Compatibility::Incompatible;
    observed.readers = {other, reader};
    join_observed(r, observed);
    const auto* joined = r.rows[0].cell("mynumber", "contactless");
    BOOST_TEST_REQUIRE(joined->observed.has_value());
    BOOST_TEST((*joined->observed == Compatibility::Partial));
    BOOST_TEST(joined->observed_run == "abc");
    BOOST_TEST(!r.rows[1].cells[0].observed.has_value());
    const auto html = render_survey_html(r, Lang::En);
    BOOST_TEST(html.find("observed on hardware: △") != std::string::npos);
    BOOST_TEST(html.find("the extended read failed") != std::string::npos);
    const auto json = nlohmann::json::parse(render_survey_json(r));
    BOOST_TEST(json["rows"][0]["cells"][1]["observed"] == "partial");
}
