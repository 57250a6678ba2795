// The report's story (issue 10): which card works on which reader, the summary line, the
// simulated marking of lab readers and the links from the technical matrix to failing steps.
#include "services/report/report.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace harness;
using model::Compatibility;

namespace {

report::Cell cell(const char* card, const char* iface, Compatibility v, std::string reason = "") {
    report::Cell c;
    c.card_type = card;
    c.interface = iface;
    c.verdict = v;
    c.reason_en = reason;
    c.reason_ja = reason.empty() ? "" : "理由: " + reason;
    return c;
}

report::ReaderRow reader(std::string model, std::vector<report::Cell> cells,
                         std::string lab_model = "") {
    report::ReaderRow r;
    r.maker = "Maker";
    r.model = std::move(model);
    r.key = r.model;
    r.reader_model = std::move(lab_model);
    r.cells = std::move(cells);
    return r;
}

const auto C = Compatibility::Compatible;
const auto P = Compatibility::Partial;
const auto I = Compatibility::Incompatible;
const auto U = Compatibility::Untested;

} // namespace

BOOST_AUTO_TEST_CASE(a_card_works_when_some_interface_is_compatible) {
    const auto r =
        reader("R", {cell("mynumber", "contact", I, "too long"), cell("mynumber", "contactless", C),
                     cell("juki", "contact", P), cell("juki", "contactless", U)});
    BOOST_CHECK(report::card_outcome(r, "mynumber") == report::CardOutcome::Works);
    BOOST_CHECK(report::card_outcome(r, "juki") == report::CardOutcome::Partial);
    BOOST_CHECK(report::card_outcome(reader("E", {}), "juki") == report::CardOutcome::Untested);
}

BOOST_AUTO_TEST_CASE(the_story_of_each_reader) {
    using report::Story;
    const auto juki_only =
        reader("Short 261", {cell("mynumber", "contact", I, "258-byte signature response failed"),
                             cell("mynumber", "contactless", I, "a contact-only reader"),
                             cell("juki", "contact", C), cell("juki", "contactless", I)});
    BOOST_CHECK(report::story(juki_only) == Story::JukiOnly);
    // The reason is the contact cell's (where the card can be put in), not the missing interface.
    BOOST_TEST(report::why_not(report::Lang::En, juki_only, "mynumber") ==
               "258-byte signature response failed");
    BOOST_TEST(report::why_not(report::Lang::Ja, juki_only, "mynumber") ==
               "理由: 258-byte signature response failed");
    BOOST_TEST(report::why_not(report::Lang::En, juki_only, "juki").empty());
    BOOST_TEST(report::story_text(report::Lang::En, Story::JukiOnly) ==
               "works with Juki, not with My Number");
    BOOST_TEST(report::story_text(report::Lang::Ja, Story::JukiOnly) ==
               "住基カードは使えるがマイナンバーカードは使えない");

    BOOST_CHECK(report::story(reader("B", {cell("mynumber", "contact", C),
                                           cell("juki", "contactless", C)})) == Story::Both);
    BOOST_CHECK(report::story(reader("M", {cell("mynumber", "contact", C),
                                           cell("juki", "contact", I)})) == Story::MyNumberOnly);
    BOOST_CHECK(report::story(reader("N", {cell("mynumber", "contact", I),
                                           cell("juki", "contact", I)})) == Story::Neither);
    // Partial is counted apart: a card that works only in part decides nothing else.
    BOOST_CHECK(report::story(reader("P", {cell("mynumber", "contact", P),
                                           cell("juki", "contact", C)})) == Story::Partial);
    BOOST_CHECK(report::story(reader("U", {cell("mynumber", "contact", U)})) == Story::Untested);
}

BOOST_AUTO_TEST_CASE(the_summary_counts_readers_and_partial_apart) {
    report::ReportModel m;
    m.readers = {
        reader("A", {cell("mynumber", "contact", C), cell("juki", "contact", C)}, "lab-a"),
        reader("B", {cell("mynumber", "contact", I), cell("juki", "contact", C)}, "lab-b"),
        reader("C", {cell("mynumber", "contact", I), cell("juki", "contact", C)}),
        reader("D", {cell("mynumber", "contact", I), cell("juki", "contact", I)}),
        reader("E", {cell("mynumber", "contact", P), cell("juki", "contact", C)}),
        reader("F", {cell("mynumber", "contact", C), cell("juki", "contact", I)}),
        reader("G", {cell("mynumber", "contact", U)}), // not tested: not counted
    };
    const auto s = report::summarize(m);
    BOOST_TEST(s.readers == 6);
    BOOST_TEST(s.both == 1);
    BOOST_TEST(s.juki_only == 2);
    BOOST_TEST(s.mynumber_only == 1);
    BOOST_TEST(s.neither == 1);
    BOOST_TEST(s.partial == 1);
    BOOST_TEST(s.simulated == 2);
    const std::string en = report::summary_text(report::Lang::En, s);
    BOOST_TEST(en.find("6 readers tested: 1 work with both cards, 2 only with the Juki card, 1 "
                       "only with the My Number card, 1 with neither; 1 work only in part") == 0U);
    BOOST_TEST(en.find("2 of them simulated") != std::string::npos);
    const std::string ja = report::summary_text(report::Lang::Ja, s);
    BOOST_TEST(ja.find("試験したリーダー 6 台") == 0U);
    BOOST_TEST(ja.find("シミュレーション") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(html_marks_lab_readers_simulated_and_links_cells_to_failing_steps) {
    report::ReportModel m;
    auto c = cell("mynumber", "contact", I, "258-byte signature response failed");
    report::CellSession session;
    model::SuiteResult suite;
    suite.suite.id = "jpki-mynumber";
    model::StepResult ok;
    ok.step_id = "jpki.select";
    ok.verdict = model::StepVerdict::Pass;
    model::StepResult bad;
    bad.step_id = "jpki.auth.sign";
    bad.verdict = model::StepVerdict::Fail;
    suite.steps = {ok, bad};
    session.suites = {suite};
    c.session = session;
    m.readers = {reader("Lab Short APDU 261", {c, cell("juki", "contact", C)}, "lab-short-261"),
                 reader("Real Reader", {cell("juki", "contact", C)})};
    for (auto view : {report::View::Public, report::View::Technical}) {
        const std::string html = report::render_html(m, report::Lang::En, view);
        // Every view: the simulated badge on the lab reader only, the summary, the story.
        std::size_t badges = 0;
        for (auto at = html.find("class=\"badge sim\""); at != std::string::npos;
             at = html.find("class=\"badge sim\"", at + 1))
            ++badges;
        BOOST_TEST(badges == (view == report::View::Public ? 1U : 2U)); // + the reader section
        BOOST_TEST(html.find("id=\"summary\"") != std::string::npos);
        BOOST_TEST(html.find("works with Juki, not with My Number") != std::string::npos);
        BOOST_TEST(html.find("simulated fault: 258-byte signature response failed") !=
                   std::string::npos);
        const bool links =
            html.find("href=\"#reader-1-mynumber-contact-jpki.auth.sign\"") != std::string::npos;
        BOOST_TEST(links == (view == report::View::Technical));
        if (view == report::View::Technical) {
            BOOST_TEST(html.find("id=\"reader-1-mynumber-contact-jpki.auth.sign\"") !=
                       std::string::npos);
            BOOST_TEST(html.find("id=\"reader-1-mynumber-contact-jpki.select\"") ==
                       std::string::npos); // passing steps are not link targets
        }
    }
}
