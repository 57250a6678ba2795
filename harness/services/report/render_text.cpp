// CSV (UTF-8 with BOM, RFC 4180), Markdown (the matrix) and JUnit XML (one testsuite per
// reader × card × interface, one testcase per step) renderers.
#include "services/report/render_util.hpp"
#include "services/report/report.hpp"

#include <fmt/format.h>
#include <set>

namespace harness::report {
namespace {

std::string csv_field(const std::string& value) {
    if (value.find_first_of(",\"\r\n") == std::string::npos)
        return value;
    std::string out = "\"";
    for (char c : value) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string md_escape(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n' || c == '\r')
            out += ' ';
        else
            out += c;
    }
    return out;
}

std::string seconds(std::int64_t us) {
    if (us < 0)
        us = 0;
    return fmt::format("{}.{:06}", us / 1000000, us % 1000000);
}

} // namespace

std::string suite_versions(const std::vector<model::SuiteRef>& suites) {
    std::string out;
    for (const auto& s : suites) {
        if (!out.empty())
            out += ' ';
        out += s.id + "@" + s.content_hash.substr(0, 12);
    }
    return out;
}

std::string date_of(const std::string& iso) {
    return iso.substr(0, 10);
}

std::vector<Cell> matrix_cells(const ReaderRow& row) {
    std::vector<Cell> out;
    for (const auto& col : columns) {
        if (const auto* c = row.cell(col.card_type, col.interface)) {
            out.push_back(*c);
        } else {
            Cell empty;
            empty.card_type = col.card_type;
            empty.interface = col.interface;
            out.push_back(std::move(empty));
        }
    }
    for (const auto& c : row.cells) {
        bool in_matrix = false;
        for (const auto& col : columns)
            in_matrix = in_matrix || (c.card_type == col.card_type && c.interface == col.interface);
        if (!in_matrix)
            out.push_back(c);
    }
    return out;
}

std::string xml_escape(std::string_view value) {
    std::string out;
    for (char c : value) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t')
                out += ' '; // not allowed in XML 1.0
            else
                out += c;
        }
    }
    return out;
}

std::string reader_title(const ReaderRow& row) {
    std::string out = row.maker.empty() ? row.model : row.maker + " " + row.model;
    std::string ids = row.vid_pid();
    if (!row.firmware().empty())
        ids += (ids.empty() ? "" : " ") + std::string("fw ") + row.firmware();
    if (!ids.empty())
        out += " (" + ids + ")";
    return out;
}

const std::string& step_title(Lang lang, const model::StepResult& step) {
    if (lang == Lang::Ja && !step.title_ja.empty())
        return step.title_ja;
    return step.title_en.empty() ? step.step_id : step.title_en;
}

const std::string& step_reason(Lang lang, const model::StepResult& step) {
    if (lang == Lang::Ja && !step.reason_ja.empty())
        return step.reason_ja;
    return step.reason_en.empty() ? step.reason_ja : step.reason_en;
}

std::string row_stations(const ReaderRow& row) {
    std::set<std::string> names;
    for (const auto& c : row.cells)
        if (c.verdict != model::Compatibility::Untested && !c.station.empty())
            names.insert(c.station);
    if (names.empty())
        return row.station;
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

std::string render_csv(const ReportModel& m, Lang lang) {
    std::string out = "\xEF\xBB\xBF";
    // A last column, Station, when the runs name their stations (a server, pushed station files).
    const bool station = !stations(m).empty();
    const auto line = [&](std::initializer_list<std::string> fields, const std::string& name) {
        bool first = true;
        for (const auto& f : fields) {
            if (!first)
                out += ',';
            out += csv_field(f);
            first = false;
        }
        if (station)
            out += ',' + csv_field(name);
        out += "\r\n";
    };
    const auto t = [&](const char* key) { return std::string(text(lang, key)); };
    line({t("col.maker"), t("col.model"), t("col.vid_pid"), t("col.firmware"), t("col.driver"),
          t("col.card"), t("col.interface"), t("col.mark"), t("col.verdict"), t("col.reason"),
          t("col.date"), t("col.suites"), t("col.run")},
         t("col.station"));
    for (const auto& row : m.readers)
        for (const auto& c : matrix_cells(row)) {
            std::string card = text(lang, ("card." + c.card_type).c_str());
            if (card == "?")
                card = c.card_type;
            std::string iface = text(lang, ("iface." + c.interface).c_str());
            if (iface == "?")
                iface = c.interface;
            line({row.maker, row.model, row.vid_pid(), row.firmware(), row.driver, card, iface,
                  mark(c.verdict), label(lang, c.verdict), reason(lang, c), date_of(c.tested_at),
                  suite_versions(c.suites), c.run_uuid},
                 c.station);
        }
    return out;
}

std::string render_markdown(const ReportModel& m, Lang lang) {
    std::string out =
        fmt::format("# {}\n\n**{}**\n\n", text(lang, "title"), summary_text(lang, summarize(m)));
    out += fmt::format("| {} | {} | {} | {} | {} |", text(lang, "col.maker"),
                       text(lang, "col.model"), text(lang, "col.vid_pid"),
                       text(lang, "col.firmware"), text(lang, "col.driver"));
    for (const auto& col : columns)
        out += " " + card_label(lang, col.card_type, col.interface) + " |";
    out += fmt::format(" {} |", text(lang, "col.story"));
    const bool station = !stations(m).empty();
    if (station)
        out += fmt::format(" {} |", text(lang, "col.station"));
    out += "\n|---|---|---|---|---|";
    for (std::size_t i = 0; i <= std::size(columns) + (station ? 1 : 0); ++i)
        out += "---|";
    out += "\n";
    for (const auto& row : m.readers) {
        const std::string simulated =
            is_simulated(row) ? fmt::format(" ({})", text(lang, "simulated")) : std::string();
        out +=
            fmt::format("| {} | {}{} | {} | {} | {} |", md_escape(row.maker), md_escape(row.model),
                        md_escape(simulated), row.vid_pid(), row.firmware(), md_escape(row.driver));
        for (const auto& col : columns) {
            const auto* c = row.cell(col.card_type, col.interface);
            if (!c || c->verdict == model::Compatibility::Untested) {
                out += fmt::format(" {} {} |", mark(model::Compatibility::Untested),
                                   label(lang, model::Compatibility::Untested));
                continue;
            }
            const auto versions = suite_versions(c->suites);
            out +=
                fmt::format(" {} {}<br>{}<br>{}{}{} |", mark(c->verdict), label(lang, c->verdict),
                            md_escape(reason(lang, *c)), date_of(c->tested_at),
                            versions.empty() ? "" : " · ", md_escape(versions));
        }
        const Story st = story(row);
        std::string why;
        if (st == Story::JukiOnly || st == Story::Neither)
            why = why_not(lang, row, "mynumber");
        else if (st == Story::MyNumberOnly)
            why = why_not(lang, row, "juki");
        out += fmt::format(" {}{}{} |", md_escape(story_text(lang, st)), why.empty() ? "" : "<br>",
                           md_escape(why));
        if (station)
            out += fmt::format(" {} |", md_escape(row_stations(row)));
        out += "\n";
    }
    if (m.readers.empty())
        out += fmt::format("\n{}\n", text(lang, "no_readers"));
    out += fmt::format("\n{}: ◯ {} · △ {} · ✕ {} · — {}\n", text(lang, "legend"),
                       label(lang, model::Compatibility::Compatible),
                       label(lang, model::Compatibility::Partial),
                       label(lang, model::Compatibility::Incompatible),
                       label(lang, model::Compatibility::Untested));
    out += fmt::format("\n{}\n", text(lang, "note.how"));
    return out;
}

std::string render_junit(const ReportModel& m, Lang lang) {
    struct Totals {
        int tests = 0, failures = 0, errors = 0, skipped = 0;
        std::int64_t us = 0;
    };
    std::string suites_xml;
    Totals all;
    for (const auto& row : m.readers)
        for (const auto& c : row.cells) {
            Totals t;
            std::string cases;
            // The cell's verdict is itself a testcase, so a CI gate sees partial/incompatible.
            ++t.tests;
            cases +=
                fmt::format("    <testcase classname=\"verdict\" name=\"{}\" time=\"0.000000\">",
                            xml_escape(card_label(lang, c.card_type, c.interface)));
            if (c.verdict == model::Compatibility::Untested) {
                ++t.skipped;
                cases += fmt::format("<skipped message=\"{}\"/>", xml_escape(reason(lang, c)));
            } else if (c.verdict != model::Compatibility::Compatible) {
                ++t.failures;
                cases += fmt::format("<failure message=\"{}\" type=\"{}\">{}</failure>",
                                     xml_escape(reason(lang, c)), model::to_string(c.verdict),
                                     xml_escape(reason(lang, c)));
            }
            cases += "</testcase>\n";
            if (c.session)
                for (const auto& suite : c.session->suites)
                    for (const auto& s : suite.steps) {
                        ++t.tests;
                        t.us += s.duration_us;
                        cases +=
                            fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">",
                                        xml_escape(suite.suite.id + "." + s.group),
                                        xml_escape(s.step_id + ": " + step_title(lang, s)),
                                        seconds(s.duration_us));
                        const auto& why = step_reason(lang, s);
                        std::string detail = why;
                        if (s.sw)
                            detail += fmt::format("\nSW {:04X}", *s.sw);
                        switch (s.verdict) {
                        case model::StepVerdict::Pass:
                            break;
                        case model::StepVerdict::Skip:
                            ++t.skipped;
                            cases += fmt::format("<skipped message=\"{}\"/>", xml_escape(why));
                            break;
                        case model::StepVerdict::Fail:
                            ++t.failures;
                            cases +=
                                fmt::format("<failure message=\"{}\" type=\"fail\">{}</failure>",
                                            xml_escape(why), xml_escape(detail));
                            break;
                        case model::StepVerdict::Error:
                        case model::StepVerdict::Aborted:
                            ++t.errors;
                            cases += fmt::format("<error message=\"{}\" type=\"{}\">{}</error>",
                                                 xml_escape(why), model::to_string(s.verdict),
                                                 xml_escape(detail));
                            break;
                        }
                        cases += "</testcase>\n";
                    }
            std::string props = "    <properties>\n";
            const auto prop = [&](const std::string& name, const std::string& value) {
                props += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n",
                                     xml_escape(name), xml_escape(value));
            };
            prop("reader_key", row.key);
            prop("verdict", model::to_string(c.verdict));
            prop("reason", reason(lang, c));
            prop("run", c.run_uuid);
            for (const auto& s : c.suites)
                prop("suite." + s.id, s.content_hash);
            props += "    </properties>\n";
            suites_xml += fmt::format(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
                "skipped=\"{}\" time=\"{}\" timestamp=\"{}\">\n{}{}  </testsuite>\n",
                xml_escape(reader_title(row) + " / " + c.card_type + " / " + c.interface), t.tests,
                t.failures, t.errors, t.skipped, seconds(t.us),
                xml_escape(c.tested_at.substr(0, 19)), props, cases);
            all.tests += t.tests;
            all.failures += t.failures;
            all.errors += t.errors;
            all.skipped += t.skipped;
            all.us += t.us;
        }
    return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<testsuites name=\"cardharness\" tests=\"{}\" failures=\"{}\" "
                       "errors=\"{}\" skipped=\"{}\" time=\"{}\">\n{}</testsuites>\n",
                       all.tests, all.failures, all.errors, all.skipped, seconds(all.us),
                       suites_xml);
}

} // namespace harness::report
