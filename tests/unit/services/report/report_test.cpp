#include "fixture.hpp"
#include "pure/error.hpp"
#include "services/report/report.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <regex>

using namespace harness;
using namespace report_test;
using model::Compatibility;
using model::StepVerdict;

namespace {

std::vector<model::Run> two_runs() {
    const auto a = reader("Alpha", 1);
    const auto b = reader("Beta", 2);
    return {
        run("run-2", "2025-02-01T00:00:00Z",
            {{a,
              "mynumber",
              "contact",
              Compatibility::Incompatible,
              {step("x", StepVerdict::Fail, 5000, "sign")}}}),
        run("run-1", "2025-01-01T00:00:00Z",
            {{a,
              "mynumber",
              "contact",
              Compatibility::Compatible,
              {step("x", StepVerdict::Pass, 4000, "sign")}},
             {a, "mynumber", "contactless", Compatibility::Compatible, {}},
             {b,
              "juki",
              "contact",
              Compatibility::Partial,
              {step("y", StepVerdict::Pass, 100), step("z", StepVerdict::Skip, 0)}}}),
    };
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + needle.size()))
        ++n;
    return n;
}

} // namespace

BOOST_AUTO_TEST_CASE(newest_keeps_the_newest_verdict_per_cell) {
    const auto m = report::build(two_runs(), report::Selection::Newest);
    BOOST_TEST_REQUIRE(m.readers.size() == 2U);
    const auto& alpha = m.readers[0];
    BOOST_TEST(alpha.model == "Alpha");
    BOOST_TEST(alpha.vid_pid() == "1234:0001");
    BOOST_TEST(alpha.firmware() == "1.02");
    const auto* contact = alpha.cell("mynumber", "contact");
    BOOST_TEST_REQUIRE(contact != nullptr);
    BOOST_TEST(contact->verdict == Compatibility::Incompatible);
    BOOST_TEST(contact->run_uuid == "run-2");
    BOOST_TEST(contact->steps.fail == 1);
    // The older run's contactless cell stays: newest per cell.
    BOOST_TEST(alpha.cell("mynumber", "contactless") != nullptr);
    BOOST_TEST(m.runs.size() == 2U);
    BOOST_TEST(m.runs[0].uuid == "run-1"); // oldest first
}

BOOST_AUTO_TEST_CASE(latest_keeps_only_the_newest_run_per_reader_and_card_type) {
    const auto m = report::build(two_runs(), report::Selection::Latest);
    BOOST_TEST_REQUIRE(m.readers.size() == 2U);
    BOOST_TEST(m.readers[0].cell("mynumber", "contactless") == nullptr);
    BOOST_TEST(m.readers[0].cell("mynumber", "contact")->verdict == Compatibility::Incompatible);
    BOOST_TEST(m.readers[1].cell("juki", "contact")->verdict == Compatibility::Partial);
}

BOOST_AUTO_TEST_CASE(two_slots_of_one_model_in_one_run_show_the_worse_verdict) {
    auto a1 = reader("Alpha", 1);
    auto a2 = a1;
    a2.pcsc_name = "Alpha 01 00";
    const auto m = report::build({run("r", "2025-01-01T00:00:00Z",
                                      {{a1, "juki", "contact", Compatibility::Compatible, {}},
                                       {a2, "juki", "contact", Compatibility::Partial, {}}})},
                                 report::Selection::Run);
    BOOST_TEST_REQUIRE(m.readers.size() == 1U);
    BOOST_TEST(m.readers[0].cell("juki", "contact")->verdict == Compatibility::Partial);
}

BOOST_AUTO_TEST_CASE(json_round_trips_byte_for_byte) {
    const auto m = report::build(two_runs(), report::Selection::Newest);
    const auto text = report::render_json(m);
    const auto j = nlohmann::json::parse(text);
    BOOST_TEST(j["schema_version"] == report::schema_version);
    BOOST_TEST(j["readers"].size() == 2U);
    BOOST_TEST(report::render_json(report::parse_json(text, "x.json")) == text);
}

BOOST_AUTO_TEST_CASE(bad_json_is_a_usage_error_with_line_and_column) {
    try {
        report::parse_json("{\n  \"schema_version\": 1,\n  oops\n}", "base.json");
        BOOST_FAIL("no error");
    } catch (const UsageError& e) {
        BOOST_TEST(std::string(e.what()).starts_with("base.json:3:"));
    }
    BOOST_CHECK_THROW(report::parse_json("{\"readers\": []}", "x.json"), UsageError);
    BOOST_CHECK_THROW(report::parse_json("{\"schema_version\": 99}", "x.json"), UsageError);
    BOOST_CHECK_THROW(
        report::parse_json("{\"schema_version\": 1, \"readers\": [{\"key\": \"k\", \"cells\": "
                           "[{\"verdict\": \"great\"}]}]}",
                           "x.json"),
        UsageError);
    // Found by tests/fuzz/report_json_fuzz: a number nlohmann cannot hold threw out_of_range,
    // which `diff` reported as an internal error (exit 1) instead of a bad file (exit 2).
    for (const char* text : {"1e822", "{\"schema_version\": 1e999}"}) {
        try {
            report::parse_json(text, "n.json");
            BOOST_FAIL("no error for " << text);
        } catch (const UsageError& e) {
            BOOST_TEST(std::string(e.what()).starts_with("n.json:1:1: expected a cardharness"));
        }
    }
}

BOOST_AUTO_TEST_CASE(csv_has_bom_crlf_and_one_row_per_reader_card_interface) {
    const auto m = report::build(two_runs(), report::Selection::Newest);
    for (auto lang : {report::Lang::Ja, report::Lang::En}) {
        const auto csv = report::render_csv(m, lang);
        BOOST_TEST(csv.starts_with("\xEF\xBB\xBF"));
        BOOST_TEST(count(csv, "\r\n") == 1U + 2U * 4U); // header + 2 readers × 4 columns
    }
    const auto ja = report::render_csv(m, report::Lang::Ja);
    BOOST_TEST(ja.find("非対応") != std::string::npos);
    BOOST_TEST(ja.find("診断 Alpha") != std::string::npos);
    const auto en = report::render_csv(m, report::Lang::En);
    BOOST_TEST(en.find("incompatible") != std::string::npos);
    BOOST_TEST(en.find("diagnosis Alpha") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(junit_has_a_testsuite_per_cell_and_a_testcase_per_step) {
    const auto m = report::build(two_runs(), report::Selection::Newest);
    const auto xml = report::render_junit(m, report::Lang::En);
    BOOST_TEST(count(xml, "<testsuite ") == 3U);
    BOOST_TEST(count(xml, "<skipped") == 1U); // step z
    // Alpha contact: the verdict case and step x fail.
    BOOST_TEST(count(xml, "<failure") == 3U); // + Beta partial verdict
    BOOST_TEST(xml.find("failed x") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(html_is_self_contained_and_has_the_matrix) {
    const auto m = report::build(two_runs(), report::Selection::Newest);
    for (auto view : {report::View::Public, report::View::Technical})
        for (auto lang : {report::Lang::Ja, report::Lang::En}) {
            const auto html = report::render_html(m, lang, view);
            BOOST_TEST(html.starts_with("<!DOCTYPE html>"));
            BOOST_TEST(html.find(std::string("<html lang=\"") + report::to_string(lang)) !=
                       std::string::npos);
            // No network: nothing is fetched (the SVG namespace is a name, not a fetch).
            BOOST_TEST(html.find("src=") == std::string::npos);
            BOOST_TEST(html.find("<link") == std::string::npos);
            BOOST_TEST(html.find("@import") == std::string::npos);
            BOOST_TEST(count(html, "<tr data-reader=") == 2U);
            BOOST_TEST(count(html, "data-verdict=") == 8U);
            BOOST_TEST(html.find("@media print") != std::string::npos);
            BOOST_TEST(html.find("Noto Sans CJK JP") != std::string::npos);
            BOOST_TEST(html.find(lang == report::Lang::Ja ? "診断 Alpha" : "diagnosis Alpha") !=
                       std::string::npos);
            // Controls need JavaScript, so they start hidden.
            BOOST_TEST(html.find("id=\"controls\" hidden") != std::string::npos);
            const bool technical = view == report::View::Technical;
            BOOST_TEST((html.find("<svg") != std::string::npos) == technical);
            BOOST_TEST((html.find("1234:0001") != std::string::npos) == technical);
        }
}

BOOST_AUTO_TEST_CASE(a_station_column_shows_where_each_reader_and_run_was_tested) {
    // Runs without a station (a station's own file never pushed): no station column anywhere,
    // and JSON carries "station": "" (the key is always there).
    const auto plain = report::build(two_runs(), report::Selection::Newest);
    BOOST_TEST(report::stations(plain).empty());
    BOOST_TEST(report::render_csv(plain, report::Lang::En).find("Station") == std::string::npos);
    BOOST_TEST(report::render_markdown(plain, report::Lang::En).find("Station") ==
               std::string::npos);
    BOOST_TEST(report::render_html(plain, report::Lang::En, report::View::Technical)
                   .find("class=\"station\"") == std::string::npos);
    const auto plain_json = nlohmann::json::parse(report::render_json(plain));
    BOOST_TEST(plain_json["runs"][0]["station"] == "");
    BOOST_TEST(plain_json["readers"][0]["cells"][0]["station"] == "");

    // Two stations (a central server): run-2 from lab-b decides Alpha's contact cell, run-1 from
    // lab-a the others.
    auto runs = two_runs();
    runs[0].station = "lab-b";
    runs[1].station = "lab-a";
    const auto m = report::build(runs, report::Selection::Newest);
    BOOST_TEST(report::stations(m) == (std::vector<std::string>{"lab-a", "lab-b"}));
    const auto j = nlohmann::json::parse(report::render_json(m));
    for (const auto& r : j["readers"])
        for (const auto& c : r["cells"])
            BOOST_TEST(c["station"] == (c["run_uuid"] == "run-2" ? "lab-b" : "lab-a"));
    BOOST_TEST(j["readers"][0]["station"] == "lab-b"); // Alpha: its newest run's station
    BOOST_TEST(report::render_json(report::parse_json(report::render_json(m), "x.json")) ==
               report::render_json(m));

    const auto csv = report::render_csv(m, report::Lang::En);
    BOOST_TEST(csv.find(",Run,Station\r\n") != std::string::npos);
    BOOST_TEST(csv.find(",run-2,lab-b\r\n") != std::string::npos);
    BOOST_TEST(csv.find(",run-1,lab-a\r\n") != std::string::npos);
    BOOST_TEST(report::render_csv(m, report::Lang::Ja).find(",ステーション\r\n") !=
               std::string::npos);
    const auto md = report::render_markdown(m, report::Lang::En);
    BOOST_TEST(md.find("| Station |") != std::string::npos);
    BOOST_TEST(md.find("| lab-a, lab-b |") != std::string::npos); // Alpha: cells of both
    for (auto view : {report::View::Public, report::View::Technical}) {
        const auto html = report::render_html(m, report::Lang::En, view);
        BOOST_TEST(count(html, "<td class=\"station\">") == 2U);
        BOOST_TEST(html.find("<td class=\"station\">lab-a, lab-b</td>") != std::string::npos);
    }
    // One station only: the technical view names it, the public page does not need to.
    runs[0].station = "lab-a";
    const auto one = report::build(runs, report::Selection::Newest);
    BOOST_TEST(count(report::render_html(one, report::Lang::En, report::View::Technical),
                     "<td class=\"station\">lab-a</td>") == 2U);
    BOOST_TEST(report::render_html(one, report::Lang::En, report::View::Public)
                   .find("class=\"station\"") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(
    the_technical_view_draws_a_run_s_sessions_over_time_when_steps_have_start_times) {
    // No start times (runs stored before schema 7): no overlap chart.
    const auto plain = report::build(two_runs(), report::Selection::Newest);
    BOOST_TEST(report::render_html(plain, report::Lang::En, report::View::Technical)
                   .find("chart overlap") == std::string::npos);
    // Two readers at once: Alpha 0.1-0.4 s then 0.5-0.7 s, Beta 0.2-0.6 s.
    const auto a = reader("Alpha", 1);
    const auto b = reader("Beta", 2);
    const auto timed = [](std::int64_t start, std::int64_t us) {
        auto s = step("t", StepVerdict::Pass, us);
        s.started_us = start;
        return s;
    };
    const auto runs = std::vector<model::Run>{
        run("run-t", "2025-03-01T00:00:00Z",
            {{a,
              "mynumber",
              "contact",
              Compatibility::Compatible,
              {timed(100000, 100000), timed(250000, 150000)}},
             {a, "juki", "contact", Compatibility::Compatible, {timed(500000, 200000)}},
             {b, "mynumber", "contact", Compatibility::Compatible, {timed(200000, 400000)}}})};
    const auto m = report::build(runs, report::Selection::Newest);
    const auto html = report::render_html(m, report::Lang::En, report::View::Technical);
    BOOST_TEST(count(html, "<svg class=\"chart overlap\" data-run=\"run-t\"") == 1U);
    BOOST_TEST(count(html, "<rect class=\"session\"") == 3U); // one bar per session
    BOOST_TEST(html.find("Sessions at once, at most: 2") != std::string::npos);
    BOOST_TEST(html.find("0.100–0.400 s") != std::string::npos); // first step's start, last's end
    BOOST_TEST(html.find("0.200–0.600 s") != std::string::npos);
    // The public view stays as it was.
    BOOST_TEST(report::render_html(m, report::Lang::En, report::View::Public).find("overlap") ==
               std::string::npos);
    // The start times survive the JSON export.
    const auto text = report::render_json(m);
    BOOST_TEST(text.find("\"started_us\": 250000") != std::string::npos);
    BOOST_TEST(report::render_json(report::parse_json(text, "x.json")) == text);
}

BOOST_AUTO_TEST_CASE(every_text_exists_in_both_languages) {
    for (const char* key : {"title",
                            "title.technical",
                            "col.maker",
                            "col.model",
                            "col.date",
                            "card.mynumber",
                            "card.juki",
                            "iface.contact",
                            "iface.contactless",
                            "verdict.compatible",
                            "verdict.partial",
                            "verdict.incompatible",
                            "verdict.untested",
                            "reason.compatible",
                            "reason.untested",
                            "note.how",
                            "note.lab",
                            "note.real",
                            "filter",
                            "chart.steps",
                            "chart.latency",
                            "trace",
                            "environment",
                            "prediction",
                            "step.pass",
                            "step.fail",
                            "step.skip",
                            "step.error",
                            "step.aborted"}) {
        BOOST_TEST(std::string(report::text(report::Lang::Ja, key)) != "?", key);
        BOOST_TEST(std::string(report::text(report::Lang::En, key)) != "?", key);
        const bool differs = std::string(report::text(report::Lang::Ja, key)) !=
                             std::string(report::text(report::Lang::En, key));
        BOOST_TEST(differs, key);
    }
    BOOST_TEST(report::mark(Compatibility::Compatible) == std::string("◯"));
    BOOST_TEST(report::mark(Compatibility::Incompatible) == std::string("✕"));
    BOOST_TEST(report::label(report::Lang::Ja, Compatibility::Partial) == std::string("一部"));
}
