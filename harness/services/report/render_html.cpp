// The HTML report: one self-contained file (inline CSS, JS and SVG; no network). The matrix is a
// plain table, so it reads and prints without JavaScript; the script only adds sorting and a
// filter. Public view: maker, model, interfaces, verdicts, date, how the list was made.
// Technical view: identities, CCID descriptors, prediction vs observation, steps, traces.
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"
#include "services/report/render_util.hpp"
#include "services/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace harness::report {
namespace {

using Json = nlohmann::json;

const char* css = R"CSS(
:root { --ok: #1b7f3b; --partial: #a35f00; --ng: #b3261e; --na: #666; --line: #b8bec7; }
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Kaku Gothic ProN",
  "Hiragino Sans", "BIZ UDPGothic", "Yu Gothic UI", "Yu Gothic", "Meiryo", "IPAexGothic",
  "IPAPGothic", "TakaoPGothic", "VL PGothic", system-ui, sans-serif;
  margin: 1.5rem 2rem; color: #1a1a1a; line-height: 1.5; background: #fff; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; border-bottom: 2px solid #1a1a1a; }
h3 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
h4, h5 { margin: 1rem 0 .25rem; }
.sub { color: #444; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; text-align: left; }
thead th { background: #eef1f5; }
th button { font: inherit; font-weight: bold; background: none; border: 0; padding: 0;
  cursor: pointer; text-align: left; color: inherit; }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
.cell .mark { font-size: 1.25em; font-weight: bold; margin-right: .2em; }
.v-compatible .mark, .v-compatible .label { color: var(--ok); }
.v-partial .mark, .v-partial .label { color: var(--partial); }
.v-incompatible .mark, .v-incompatible .label { color: var(--ng); }
.v-untested .mark, .v-untested .label { color: var(--na); }
.reason { display: block; font-size: .85em; }
.meta { display: block; font-size: .75em; color: #555; }
.controls { margin: .5rem 0; }
.controls input { font: inherit; padding: .2rem .4rem; min-width: 18rem; }
.note { background: #f5f7fa; border-left: 4px solid #8a94a3; padding: .5rem 1rem; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dl.kv dt { font-weight: bold; } dl.kv dd { margin: 0; }
pre { white-space: pre-wrap; word-break: break-all; background: #f6f6f6; padding: .5rem;
  font-size: .8em; font-family: "Noto Sans Mono CJK JP", "DejaVu Sans Mono", monospace; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; }
tr.s-fail td, tr.s-error td, tr.s-aborted td { background: #fdeceb; }
tr.s-skip td { color: #666; }
section.reader { border-top: 1px solid var(--line); margin-top: 1.5rem; }
svg text { font-family: inherit; font-size: 12px; }
.legend span { margin-right: 1rem; }
.badge.sim { display: inline-block; font-size: .75em; padding: 0 .4em; margin-left: .4em;
  border: 1px solid #8a5a00; color: #8a5a00; border-radius: .3em; white-space: nowrap; }
.summary { font-size: 1.05rem; font-weight: bold; background: #f5f7fa; padding: .5rem 1rem;
  border-left: 4px solid #2a5db0; }
span.story { display: block; font-weight: bold; }
.failing a { margin-right: .4em; }
@media print {
  body { margin: 0; font-size: 10pt; }
  .controls { display: none; }
  tr, .cell, svg, dl.kv { break-inside: avoid; }
  section.reader { break-before: page; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)CSS";

const char* script = R"JS(
(function () {
  var table = document.getElementById('matrix');
  var controls = document.getElementById('controls');
  if (!table || !controls) return;
  controls.hidden = false;
  var filter = document.getElementById('filter');
  var body = table.tBodies[0];
  filter.addEventListener('input', function () {
    var q = filter.value.toLowerCase();
    Array.prototype.forEach.call(body.rows, function (row) {
      row.hidden = q !== '' && row.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, index) {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = th.textContent;
    th.textContent = '';
    th.appendChild(button);
    button.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].getAttribute('data-sort') || a.cells[index].textContent;
        var y = b.cells[index].getAttribute('data-sort') || b.cells[index].textContent;
        var n = x.localeCompare(y, undefined, { numeric: true });
        return ascending ? n : -n;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
)JS";

std::string esc(std::string_view s) {
    return xml_escape(s);
}

int sort_rank(model::Compatibility v) {
    switch (v) {
    case model::Compatibility::Compatible:
        return 1;
    case model::Compatibility::Partial:
        return 2;
    case model::Compatibility::Incompatible:
        return 3;
    case model::Compatibility::Untested:
        break;
    }
    return 4;
}

std::string newest_date(const ReaderRow& row) {
    std::string d;
    for (const auto& c : row.cells)
        d = std::max(d, c.tested_at);
    return date_of(d);
}

// The id of a cell's session (technical view) and of one of its steps: the matrix links to them.
std::string cell_anchor(std::size_t index, const Cell& c) {
    return fmt::format("reader-{}-{}-{}", index, c.card_type, c.interface);
}
std::string step_anchor(std::size_t index, const Cell& c, const model::StepResult& st) {
    return cell_anchor(index, c) + "-" + st.step_id;
}
bool failing(const model::StepResult& st) {
    return st.verdict == model::StepVerdict::Fail || st.verdict == model::StepVerdict::Error ||
           st.verdict == model::StepVerdict::Aborted;
}

// Lab readers are simulated: marked so wherever they appear (never published as a product).
std::string simulated_badge(Lang lang, const ReaderRow& row) {
    return is_simulated(row)
               ? fmt::format("<span class=\"badge sim\">{}</span>", esc(text(lang, "simulated")))
               : std::string();
}

// A cause drawn from a lab model is what that model simulates, never a product's fault.
std::string simulated_reason(Lang lang, const ReaderRow& row, model::Compatibility verdict,
                             std::string reason_text) {
    if (is_simulated(row) && !reason_text.empty() &&
        (verdict == model::Compatibility::Incompatible || verdict == model::Compatibility::Partial))
        return std::string(text(lang, "simulated.cause")) + (lang == Lang::Ja ? "：" : ": ") +
               reason_text;
    return reason_text;
}

std::string cell_reason(Lang lang, const ReaderRow& row, const Cell& c) {
    return simulated_reason(lang, row, c.verdict, reason(lang, c));
}

// The reader's story: which card works, and why the other does not.
std::string story_html(Lang lang, const ReaderRow& row) {
    const Story st = story(row);
    std::string why;
    model::Compatibility verdict = model::Compatibility::Incompatible;
    if (st == Story::JukiOnly || st == Story::Neither) {
        why = why_not(lang, row, "mynumber");
    } else if (st == Story::MyNumberOnly) {
        why = why_not(lang, row, "juki");
    } else if (st == Story::Partial) {
        verdict = model::Compatibility::Partial;
        why = why_not(lang, row,
                      card_outcome(row, "mynumber") == CardOutcome::Partial ? "mynumber" : "juki");
    }
    why = simulated_reason(lang, row, verdict, why);
    return fmt::format("<td class=\"story-cell s-{0}\" data-story=\"{0}\"><span "
                       "class=\"story\">{1}</span>{2}</td>",
                       to_string(st), esc(story_text(lang, st)),
                       why.empty() ? std::string()
                                   : "<span class=\"reason\">" + esc(why) + "</span>");
}

std::string cell_html(Lang lang, View view, const ReaderRow& row, std::size_t index,
                      const Column& col) {
    const Cell* c = row.cell(col.card_type, col.interface);
    const auto v = c ? c->verdict : model::Compatibility::Untested;
    std::string out = fmt::format("<td class=\"cell v-{0}\" data-verdict=\"{0}\" data-sort=\"{1}\">"
                                  "<span class=\"mark\" aria-hidden=\"true\">{2}</span>"
                                  "<span class=\"label\">{3}</span>",
                                  model::to_string(v), sort_rank(v), mark(v), label(lang, v));
    if (c && v != model::Compatibility::Untested) {
        out += fmt::format("<span class=\"reason\">{}</span>", esc(cell_reason(lang, row, *c)));
        if (view == View::Technical) {
            std::string links;
            if (c->session)
                for (const auto& s : c->session->suites)
                    for (const auto& st : s.steps)
                        if (failing(st))
                            links += fmt::format("<a href=\"#{}\"><code>{}</code></a>",
                                                 esc(step_anchor(index, *c, st)), esc(st.step_id));
            out += links.empty() ? fmt::format("<span class=\"meta\"><a href=\"#{}\">{}</a></span>",
                                               esc(cell_anchor(index, *c)), text(lang, "steps"))
                                 : fmt::format("<span class=\"meta failing\">{}: {}</span>",
                                               text(lang, "failing_steps"), links);
        }
        out += fmt::format("<span class=\"meta\">{}", date_of(c->tested_at));
        if (view == View::Technical && !c->suites.empty())
            out += " · " + esc(suite_versions(c->suites));
        out += "</span>";
    }
    return out + "</td>";
}

std::string matrix_html(const ReportModel& m, Lang lang, View view) {
    std::string out = fmt::format(
        "<div class=\"controls\" id=\"controls\" hidden><label>{} <input type=\"search\" "
        "id=\"filter\"></label> <span class=\"hint\">{}</span></div>\n",
        text(lang, "filter"), text(lang, "sort.hint"));
    out += "<table id=\"matrix\" class=\"matrix\">\n<thead><tr>";
    const auto th = [&](const std::string& t) { out += "<th scope=\"col\">" + esc(t) + "</th>"; };
    th(text(lang, "col.maker"));
    th(text(lang, "col.model"));
    if (view == View::Public) {
        th(text(lang, "col.interfaces"));
    } else {
        th(text(lang, "col.vid_pid"));
        th(text(lang, "col.firmware"));
        th(text(lang, "col.driver"));
    }
    for (const auto& col : columns)
        th(card_label(lang, col.card_type, col.interface));
    th(text(lang, "col.story"));
    th(text(lang, "col.date"));
    // Which station each reader was tested at: technical view whenever the runs name their
    // stations; the public page when there are several (a prefecture gathering municipalities).
    const bool station = stations(m).size() > (view == View::Public ? 1U : 0U);
    if (station)
        th(text(lang, "col.station"));
    out += "</tr></thead>\n<tbody>\n";
    std::size_t index = 0;
    for (const auto& row : m.readers) {
        ++index;
        // The public page carries no identifiers, not even in attributes.
        out += fmt::format("<tr data-reader=\"{}\">",
                           view == View::Public ? std::to_string(index) : esc(row.key));
        out += "<td>" + esc(row.maker.empty() ? text(lang, "unknown") : row.maker) + "</td>";
        if (view == View::Technical)
            out += fmt::format("<td><a href=\"#reader-{}\">{}</a>{}</td>", index, esc(row.model),
                               simulated_badge(lang, row));
        else
            out += "<td>" + esc(row.model) + simulated_badge(lang, row) + "</td>";
        if (view == View::Public) {
            std::string ifaces;
            for (const auto& i : row.interfaces())
                ifaces += (ifaces.empty()     ? ""
                           : lang == Lang::Ja ? "・"
                                              : ", ") +
                          std::string(text(lang, ("iface." + i).c_str()));
            out += "<td>" + esc(ifaces) + "</td>";
        } else {
            out += "<td>" + esc(row.vid_pid()) + "</td><td>" + esc(row.firmware()) + "</td><td>" +
                   esc(row.driver) + "</td>";
        }
        for (const auto& col : columns)
            out += cell_html(lang, view, row, index, col);
        out += story_html(lang, row);
        out += "<td class=\"date\">" + newest_date(row) + "</td>";
        if (station)
            out += "<td class=\"station\">" + esc(row_stations(row)) + "</td>";
        out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n";
    if (m.readers.empty())
        out += fmt::format("<p>{}</p>\n", text(lang, "no_readers"));
    out += fmt::format("<p class=\"legend\">{}: ", text(lang, "legend"));
    for (auto v : {model::Compatibility::Compatible, model::Compatibility::Partial,
                   model::Compatibility::Incompatible, model::Compatibility::Untested})
        out += fmt::format("<span class=\"cell v-{}\"><span class=\"mark\">{}</span>{}</span>",
                           model::to_string(v), mark(v), label(lang, v));
    return out + "</p>\n";
}

std::string note_html(const ReportModel& m, Lang lang) {
    bool lab = false;
    std::string first, last;
    for (const auto& r : m.runs) {
        lab = lab || r.lab;
        first = first.empty() ? r.started_at : std::min(first, r.started_at);
        last = std::max(last, r.started_at);
    }
    std::string out = fmt::format("<section class=\"note\"><h2>{}</h2><p>{}</p><p>{}</p>",
                                  text(lang, "note.heading"), text(lang, "note.how"),
                                  text(lang, lab ? "note.lab" : "note.real"));
    if (!first.empty())
        out += fmt::format("<p>{}: {}{}</p>", text(lang, "col.date"), date_of(first),
                           date_of(first) == date_of(last) ? "" : " – " + date_of(last));
    return out + "</section>\n";
}

// Pass/fail per reader as stacked horizontal bars.
std::string bars_svg(const ReportModel& m, Lang lang) {
    constexpr int label_w = 300, bar_w = 420, row_h = 26, top = 10;
    int max_total = 1;
    std::vector<StepCounts> totals;
    for (const auto& row : m.readers) {
        StepCounts t;
        for (const auto& c : row.cells) {
            t.pass += c.steps.pass;
            t.fail += c.steps.fail;
            t.skip += c.steps.skip;
            t.error += c.steps.error;
            t.aborted += c.steps.aborted;
        }
        max_total = std::max(max_total, t.total());
        totals.push_back(t);
    }
    const int height = top + row_h * static_cast<int>(m.readers.size()) + 30;
    std::string out = fmt::format(
        "<svg class=\"chart bars\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {} {}\" "
        "width=\"100%\" style=\"max-width:{}px\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        esc(text(lang, "chart.steps")), label_w + bar_w + 120, height, label_w + bar_w + 120);
    for (std::size_t i = 0; i < m.readers.size(); ++i) {
        const int y = top + static_cast<int>(i) * row_h;
        out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", label_w - 8,
                           y + 16, esc(reader_title(m.readers[i])));
        int x = label_w;
        const auto& t = totals[i];
        const std::pair<int, const char*> parts[] = {{t.pass, "#1b7f3b"},
                                                     {t.fail, "#b3261e"},
                                                     {t.error + t.aborted, "#6d1a14"},
                                                     {t.skip, "#c4c9d0"}};
        for (const auto& [n, colour] : parts) {
            if (n == 0)
                continue;
            const int w = std::max(1, n * bar_w / max_total);
            out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
                               x, y + 4, w, row_h - 8, colour);
            x += w;
        }
        out += fmt::format("<text x=\"{}\" y=\"{}\">{} ✓ {} ✗ {}</text>\n", x + 6, y + 16, t.pass,
                           t.fail + t.error + t.aborted, t.skip);
    }
    const int ly = height - 12;
    out += fmt::format(
        "<rect x=\"{0}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"#1b7f3b\"/><text x=\"{2}\" "
        "y=\"{3}\">{4}</text><rect x=\"{5}\" y=\"{1}\" width=\"10\" height=\"10\" "
        "fill=\"#b3261e\"/><text x=\"{6}\" y=\"{3}\">{7}</text><rect x=\"{8}\" y=\"{1}\" "
        "width=\"10\" height=\"10\" fill=\"#6d1a14\"/><text x=\"{9}\" y=\"{3}\">{10}</text><rect "
        "x=\"{11}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"#c4c9d0\"/><text x=\"{12}\" "
        "y=\"{3}\">{13}</text>\n",
        label_w, ly - 9, label_w + 14, ly, text(lang, "step.pass"), label_w + 90, label_w + 104,
        text(lang, "step.fail"), label_w + 180, label_w + 194, text(lang, "step.error"),
        label_w + 270, label_w + 284, text(lang, "step.skip"));
    return out + "</svg>\n";
}

std::vector<double> sign_latencies_ms(const ReaderRow& row) {
    std::vector<double> out;
    for (const auto& c : row.cells)
        if (c.session)
            for (const auto& s : c.session->suites)
                for (const auto& st : s.steps)
                    if (st.action == "sign" && st.verdict == model::StepVerdict::Pass &&
                        st.duration_us > 0)
                        out.push_back(static_cast<double>(st.duration_us) / 1000.0);
    std::sort(out.begin(), out.end());
    return out;
}

// Signing latency per reader as a distribution: every measurement a dot, min–max a line, the
// median a tick.
std::string latency_svg(const ReportModel& m, Lang lang) {
    constexpr int label_w = 300, plot_w = 420, row_h = 26, top = 10;
    std::vector<std::vector<double>> data;
    double max_ms = 0;
    for (const auto& row : m.readers) {
        data.push_back(sign_latencies_ms(row));
        if (!data.back().empty())
            max_ms = std::max(max_ms, data.back().back());
    }
    if (max_ms <= 0)
        return fmt::format("<p>{}</p>\n", text(lang, "chart.none"));
    // A round axis end: 1, 2 or 5 times a power of ten.
    const double magnitude = std::pow(10.0, std::floor(std::log10(max_ms)));
    double axis = magnitude;
    for (double f : {1.0, 2.0, 5.0, 10.0})
        if (f * magnitude >= max_ms) {
            axis = f * magnitude;
            break;
        }
    const auto xpos = [&](double ms) { return label_w + ms / axis * plot_w; };
    const int height = top + row_h * static_cast<int>(m.readers.size()) + 30;
    std::string out = fmt::format(
        "<svg class=\"chart latency\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {} {}\" "
        "width=\"100%\" style=\"max-width:{}px\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        esc(text(lang, "chart.latency")), label_w + plot_w + 80, height, label_w + plot_w + 80);
    const int axis_y = height - 24;
    for (int i = 0; i <= 5; ++i) {
        const double ms = axis * i / 5.0;
        out += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" "
                           "stroke=\"#e0e3e8\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                           "text-anchor=\"middle\">{4:g}</text>\n",
                           xpos(ms), top, axis_y, axis_y + 14, ms);
    }
    for (std::size_t i = 0; i < m.readers.size(); ++i) {
        const int y = top + static_cast<int>(i) * row_h + row_h / 2;
        out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", label_w - 8,
                           y + 4, esc(reader_title(m.readers[i])));
        const auto& d = data[i];
        if (d.empty())
            continue;
        out += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" "
                           "stroke=\"#555\"/>\n",
                           xpos(d.front()), xpos(d.back()), y, y);
        for (double ms : d)
            out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{}\" r=\"4\" fill=\"#2a5db0\" "
                               "fill-opacity=\"0.6\"><title>{:.1f} ms</title></circle>\n",
                               xpos(ms), y, ms);
        const double median =
            d.size() % 2 ? d[d.size() / 2] : (d[d.size() / 2 - 1] + d[d.size() / 2]) / 2;
        out += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" "
                           "stroke=\"#000\" stroke-width=\"2\"/><text x=\"{3}\" y=\"{4}\">"
                           "{5:.1f} ms</text>\n",
                           xpos(median), y - 8, y + 8, label_w + plot_w + 6, y + 4, median);
    }
    return out + "</svg>\n";
}

// When a session ran: from its first step's start to its last step's end, in µs since its
// run's start. nullopt when none of its steps carries a start time (stored before schema 7).
std::optional<std::pair<std::int64_t, std::int64_t>> session_span(const CellSession& s) {
    std::optional<std::pair<std::int64_t, std::int64_t>> span;
    for (const auto& suite : s.suites)
        for (const auto& st : suite.steps) {
            if (!st.started_us)
                continue;
            const std::int64_t begin = *st.started_us;
            const std::int64_t end = begin + std::max<std::int64_t>(st.duration_us, 0);
            if (!span)
                span.emplace(begin, end);
            span->first = std::min(span->first, begin);
            span->second = std::max(span->second, end);
        }
    return span;
}

// The most intervals [begin, end) that overlap at one instant.
int peak_overlap(std::vector<std::pair<std::int64_t, std::int64_t>> spans) {
    std::vector<std::pair<std::int64_t, int>> edges;
    for (const auto& [begin, end] : spans) {
        edges.emplace_back(begin, 1);
        edges.emplace_back(std::max(end, begin + 1), -1);
    }
    std::sort(edges.begin(), edges.end()); // an end (-1) before a begin (+1) at the same instant
    int now = 0, peak = 0;
    for (const auto& e : edges)
        peak = std::max(peak, now += e.second);
    return peak;
}

// Per run, the sessions the report shows as a Gantt chart: a row per reader, a bar per session
// from its first step's start to its last step's end (step start times, µs since the run's
// start). Readers that ran at once have bars over the same seconds.
std::string overlap_svg(const ReportModel& m, Lang lang) {
    constexpr int label_w = 300, plot_w = 420, row_h = 22, top = 10;
    struct Bar {
        std::string card;
        std::string card_type;
        std::int64_t begin, end;
    };
    std::string out;
    for (const auto& run : m.runs) {
        std::vector<std::pair<std::string, std::vector<Bar>>> rows; // reader title, its bars
        std::vector<std::pair<std::int64_t, std::int64_t>> spans;
        std::int64_t last = 0;
        for (const auto& row : m.readers) {
            std::vector<Bar> bars;
            for (const auto& c : row.cells) {
                if (c.run_uuid != run.uuid || !c.session)
                    continue;
                if (const auto span = session_span(*c.session)) {
                    bars.push_back({card_label(lang, c.card_type, c.interface), c.card_type,
                                    span->first, span->second});
                    spans.push_back(*span);
                    last = std::max(last, span->second);
                }
            }
            if (!bars.empty())
                rows.emplace_back(reader_title(row), std::move(bars));
        }
        if (rows.empty())
            continue;
        const double max_s = std::max(static_cast<double>(last) / 1e6, 1e-3);
        const double magnitude = std::pow(10.0, std::floor(std::log10(max_s)));
        double axis = magnitude;
        for (double f : {1.0, 2.0, 5.0, 10.0})
            if (f * magnitude >= max_s) {
                axis = f * magnitude;
                break;
            }
        const auto xpos = [&](std::int64_t us) {
            return label_w + static_cast<double>(us) / 1e6 / axis * plot_w;
        };
        const int height = top + row_h * static_cast<int>(rows.size()) + 30;
        out +=
            fmt::format("<p class=\"overlap-run\"><code>{}</code> {} — {} {}</p>\n", esc(run.uuid),
                        esc(run.started_at), text(lang, "chart.overlap.peak"), peak_overlap(spans));
        out += fmt::format(
            "<svg class=\"chart overlap\" data-run=\"{}\" role=\"img\" aria-label=\"{}\" "
            "viewBox=\"0 0 {} {}\" width=\"100%\" style=\"max-width:{}px\" "
            "xmlns=\"http://www.w3.org/2000/svg\">\n",
            esc(run.uuid), esc(text(lang, "chart.overlap")), label_w + plot_w + 40, height,
            label_w + plot_w + 40);
        const int axis_y = height - 24;
        for (int i = 0; i <= 5; ++i) {
            const double seconds = axis * i / 5.0;
            out +=
                fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" "
                            "stroke=\"#e0e3e8\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                            "text-anchor=\"middle\">{4:g}</text>\n",
                            label_w + seconds / axis * plot_w, top, axis_y, axis_y + 14, seconds);
        }
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const int y = top + static_cast<int>(i) * row_h;
            out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                               label_w - 8, y + 15, esc(rows[i].first));
            for (const auto& b : rows[i].second) {
                const char* colour = b.card_type == "mynumber" ? "#2a5db0"
                                     : b.card_type == "juki"   ? "#1b7f3b"
                                                               : "#8a94a3";
                out +=
                    fmt::format("<rect class=\"session\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" "
                                "height=\"{}\" fill=\"{}\" fill-opacity=\"0.8\" stroke=\"#fff\">"
                                "<title>{}: {:.3f}–{:.3f} s</title></rect>\n",
                                xpos(b.begin), y + 3, std::max(1.0, xpos(b.end) - xpos(b.begin)),
                                row_h - 6, colour, esc(b.card), static_cast<double>(b.begin) / 1e6,
                                static_cast<double>(b.end) / 1e6);
            }
        }
        out += "</svg>\n";
    }
    if (out.empty())
        return out;
    return fmt::format("<h2>{}</h2>\n{}<p class=\"sub\">{}</p>\n", text(lang, "chart.overlap"), out,
                       text(lang, "chart.overlap.note"));
}

void kv(std::string& out, const std::string& key, const std::string& value) {
    if (!value.empty())
        out += "<dt>" + esc(key) + "</dt><dd>" + esc(value) + "</dd>";
}

std::string descriptor_html(const ReaderRow& row, Lang lang) {
    std::string out = fmt::format("<h4>{}</h4>\n", text(lang, "descriptor"));
    const auto bytes = hex::parse(row.ccid_descriptor);
    if (row.ccid_descriptor.empty() || !bytes) {
        out += fmt::format("<p>{}</p>\n", text(lang, "descriptor.none"));
    } else {
        const auto decoded = ccid::decode(*bytes);
        const auto& d = decoded.descriptor;
        std::string protocols;
        for (int p : d.protocol_numbers())
            protocols += (protocols.empty() ? "T=" : ", T=") + std::to_string(p);
        std::string features;
        for (const auto& f : ccid::feature_names(d.features))
            features += (features.empty() ? "" : ", ") + f;
        out += "<dl class=\"kv\">";
        kv(out, "bcdCCID", fmt::format("{:X}.{:02X}", d.bcd_ccid >> 8U, d.bcd_ccid & 0xFFU));
        kv(out, text(lang, "exchange_level"), ccid::to_string(d.exchange_level()));
        kv(out, "dwProtocols", protocols);
        kv(out, "dwMaxCCIDMessageLength", std::to_string(d.max_message_length));
        kv(out, "dwMaxIFSD", std::to_string(d.max_ifsd));
        kv(out, "dwDefaultClock / dwMaximumClock",
           fmt::format("{} / {} kHz", d.default_clock_khz, d.maximum_clock_khz));
        kv(out, "dwDataRate / dwMaxDataRate",
           fmt::format("{} / {} bps", d.data_rate_bps, d.max_data_rate_bps));
        kv(out, "dwFeatures", fmt::format("0x{:08X} ({})", d.features, features));
        kv(out, "bMaxSlotIndex", std::to_string(d.max_slot_index));
        kv(out, "bPINSupport", fmt::format("0x{:02X}", d.pin_support));
        out += "</dl>\n<pre>" + esc(row.ccid_descriptor) + "</pre>\n";
    }
    const auto j = Json::parse(row.descriptor_findings_json, nullptr, false);
    out += fmt::format("<h4>{}</h4>\n", text(lang, "findings"));
    if (j.is_object() && j.contains("findings") && j["findings"].is_array() &&
        !j["findings"].empty()) {
        out += "<ul>";
        for (const auto& f : j["findings"])
            out += fmt::format("<li><code>{}</code> {}: {}</li>", esc(f.value("severity", "")),
                               esc(f.value("code", "")), esc(f.value("message", "")));
        out += "</ul>\n";
    } else {
        out += fmt::format("<p>{}</p>\n", text(lang, "findings.none"));
    }
    // Predicted beside observed.
    out += fmt::format("<h4>{}</h4>\n<table class=\"prediction\"><thead><tr><th>{}</th><th>{}"
                       "</th></tr></thead><tbody><tr><td>",
                       text(lang, "prediction"), text(lang, "predicted"), text(lang, "observed"));
    if (j.is_object() && j.contains("prediction") && j["prediction"].is_object()) {
        const auto& p = j["prediction"];
        out += fmt::format("<strong>{}</strong>", esc(p.value("likelihood", "")));
        if (j.contains("exchange_level") && j["exchange_level"].is_string())
            out += fmt::format("<br>{}: {}", text(lang, "exchange_level"),
                               esc(j["exchange_level"].get<std::string>()));
        if (j.contains("max_message_length") && j["max_message_length"].is_number())
            out += fmt::format("<br>{}: {}", text(lang, "max_message"),
                               j["max_message_length"].dump());
        if (p.contains("reasons") && p["reasons"].is_array()) {
            out += "<ul>";
            for (const auto& r : p["reasons"])
                out += fmt::format("<li><code>{}</code> ({}) {}</li>", esc(r.value("code", "")),
                                   esc(r.value("effect", "")), esc(r.value("message", "")));
            out += "</ul>";
        }
    } else {
        out += esc(text(lang, "unknown"));
    }
    out += "</td><td><ul>";
    for (const auto& c : row.cells)
        out += fmt::format("<li class=\"cell v-{}\"><span class=\"mark\">{}</span>{}: {} — {}</li>",
                           model::to_string(c.verdict), mark(c.verdict),
                           esc(card_label(lang, c.card_type, c.interface)), label(lang, c.verdict),
                           esc(reason(lang, c)));
    return out + "</ul></td></tr></tbody></table>\n";
}

std::string session_html(const ReaderRow& row, std::size_t index, const Cell& c, Lang lang) {
    std::string out =
        fmt::format("<h4 class=\"cell v-{}\" id=\"{}\"><span class=\"mark\">{}</span>{} — {}"
                    "</h4>\n<p>{}</p>\n",
                    model::to_string(c.verdict), esc(cell_anchor(index, c)), mark(c.verdict),
                    esc(card_label(lang, c.card_type, c.interface)), label(lang, c.verdict),
                    esc(cell_reason(lang, row, c)));
    if (!c.causes.empty()) {
        std::string codes;
        for (const auto& code : c.causes)
            codes += (codes.empty() ? "" : " ") + fmt::format("<code>{}</code>", esc(code));
        out += fmt::format("<p class=\"causes\">{}: {}</p>\n", text(lang, "causes"), codes);
    }
    if (!c.session)
        return out;
    const auto& s = *c.session;
    out += "<dl class=\"kv\">";
    kv(out, "ATR", s.atr);
    kv(out, text(lang, "col.run"), c.run_uuid);
    kv(out, text(lang, "col.station"), c.station);
    kv(out, text(lang, "col.date"), c.tested_at);
    if (s.emulated)
        kv(out, text(lang, "emulated"), text(lang, "yes"));
    if (s.test_card)
        kv(out, text(lang, "test_card"), text(lang, "yes"));
    if (s.status != model::RunStatus::Complete)
        kv(out, text(lang, "session.incomplete"), s.cause);
    out += "</dl>\n";
    for (const auto& suite : s.suites) {
        out += fmt::format("<h5>{} <code>{}</code></h5>\n", esc(suite.suite.id),
                           esc(suite.suite.content_hash.substr(0, 12)));
        out +=
            fmt::format("<table class=\"steps\"><thead><tr><th>{}</th><th>{}</th><th>{}</th>"
                        "<th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
                        text(lang, "step.id"), text(lang, "step.title"), text(lang, "step.verdict"),
                        text(lang, "step.reason"), text(lang, "step.sw"), text(lang, "step.time"));
        std::string traces;
        for (const auto& st : suite.steps) {
            const char* v = model::to_string(st.verdict);
            out += fmt::format(
                "<tr class=\"s-{}\"{}><td><code>{}</code></td><td>{}</td><td>{}</td>"
                "<td>{}</td><td>{}</td><td class=\"num\">{}.{:03}</td></tr>\n",
                v,
                failing(st) ? fmt::format(" id=\"{}\"", esc(step_anchor(index, c, st)))
                            : std::string(),
                esc(st.step_id), esc(step_title(lang, st)),
                text(lang, (std::string("step.") + v).c_str()), esc(step_reason(lang, st)),
                st.sw ? fmt::format("{:04X}", *st.sw) : std::string(), st.duration_us / 1000,
                st.duration_us % 1000);
            if (failing(st) && !st.exchanges.empty()) {
                traces += fmt::format("<p><code>{}</code></p><pre>", esc(st.step_id));
                for (const auto& x : st.exchanges) {
                    traces += "&gt; " + esc(x.command) + "\n&lt; " + esc(x.response);
                    if (x.sw)
                        traces += fmt::format("  [SW {:04X}]", *x.sw);
                    traces += fmt::format("  {} µs", x.duration_us);
                    if (!x.note.empty())
                        traces += "  # " + esc(x.note);
                    traces += "\n";
                }
                traces += "</pre>\n";
            }
            if (failing(st) && !st.ccid_trace.empty()) {
                // The reader firmware's side (lab on USB): CCID messages, redacted like the APDUs.
                traces += fmt::format("<p><code>{}</code> {}</p><pre class=\"ccid\">",
                                      esc(st.step_id), text(lang, "trace.ccid"));
                for (const auto& m : st.ccid_trace) {
                    traces += fmt::format("+{:>8} µs {:<9} {}", m.offset_us, esc(m.direction),
                                          esc(m.message));
                    if (!m.note.empty())
                        traces += "  # " + esc(m.note);
                    traces += "\n";
                }
                traces += "</pre>\n";
            }
        }
        out += "</tbody></table>\n";
        if (!traces.empty())
            out += fmt::format("<div class=\"trace\"><h5>{}</h5>\n{}</div>\n", text(lang, "trace"),
                               traces);
    }
    return out;
}

std::string reader_section(const ReaderRow& row, std::size_t index, Lang lang) {
    std::string out = fmt::format("<section class=\"reader\" id=\"reader-{}\">\n<h3>{}{}</h3>\n",
                                  index, esc(reader_title(row)), simulated_badge(lang, row));
    out += fmt::format("<h4>{}</h4>\n<dl class=\"kv\">", text(lang, "identity"));
    kv(out, text(lang, "col.maker"), row.maker);
    kv(out, text(lang, "col.model"), row.model);
    kv(out, text(lang, "col.vid_pid"), row.vid_pid());
    kv(out, text(lang, "col.firmware"), row.firmware());
    kv(out, text(lang, "col.driver"), row.driver);
    kv(out, text(lang, "pcsc_name"), row.pcsc_name);
    kv(out, text(lang, "lab_model"), row.reader_model);
    out += "</dl>\n";
    out += descriptor_html(row, lang);
    out += fmt::format("<h4>{}</h4>\n<dl class=\"kv\">", text(lang, "environment"));
    kv(out, text(lang, "env.os"), row.environment.os);
    kv(out, text(lang, "env.pcsclite"), row.environment.pcsclite_version);
    kv(out, text(lang, "env.libccid"), row.environment.libccid_version);
    kv(out, text(lang, "env.harness"), row.environment.harness_version);
    out += "</dl>\n";
    out += fmt::format("<h4>{}</h4>\n", text(lang, "steps"));
    for (const auto& c : row.cells)
        out += session_html(row, index, c, lang);
    return out + "</section>\n";
}

std::string runs_html(const ReportModel& m, Lang lang) {
    std::string out = fmt::format("<h2>{}</h2>\n<table class=\"runs\"><thead><tr><th>{}</th>"
                                  "<th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
                                  text(lang, "runs"), text(lang, "col.run"), text(lang, "col.date"),
                                  text(lang, "environment"), text(lang, "suite_hashes"));
    for (const auto& r : m.runs) {
        std::string suites;
        for (const auto& s : r.suites)
            suites += esc(s.id) + " <code>" + esc(s.content_hash) + "</code><br>";
        out += fmt::format("<tr><td><code>{}</code> {}{}{}</td><td>{}</td><td>{}<br>pcsc-lite {}"
                           "<br>libccid {}<br>cardharness {}</td><td>{}</td></tr>\n",
                           esc(r.uuid), model::to_string(r.status),
                           r.cause.empty() ? "" : " (" + esc(r.cause) + ")",
                           r.station.empty() ? "" : "<br>" + esc(r.station), esc(r.started_at),
                           esc(r.environment.os), esc(r.environment.pcsclite_version),
                           esc(r.environment.libccid_version), esc(r.environment.harness_version),
                           suites);
    }
    return out + "</tbody></table>\n";
}

} // namespace

std::string render_html(const ReportModel& m, Lang lang, View view) {
    const char* title = text(lang, view == View::Public ? "title" : "title.technical");
    std::string out =
        fmt::format("<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"cardharness report\">\n<title>{}</title>\n"
                    "<style>{}</style>\n</head>\n<body class=\"view-{}\">\n<header><h1>{}</h1>\n",
                    to_string(lang), esc(title), css, to_string(view), esc(title));
    out += fmt::format("<p class=\"summary\" id=\"summary\">{}</p>\n",
                       esc(summary_text(lang, summarize(m))));
    out += "</header>\n<main>\n";
    out += matrix_html(m, lang, view);
    out += note_html(m, lang);
    if (view == View::Technical) {
        out += fmt::format("<h2>{}</h2>\n{}", text(lang, "chart.steps"), bars_svg(m, lang));
        out += fmt::format("<h2>{}</h2>\n{}", text(lang, "chart.latency"), latency_svg(m, lang));
        out += overlap_svg(m, lang);
        out += runs_html(m, lang);
        out += fmt::format("<h2>{}</h2>\n", text(lang, "technical"));
        std::size_t index = 0;
        for (const auto& row : m.readers)
            out += reader_section(row, ++index, lang);
    }
    out += "</main>\n<script>" + std::string(script) + "</script>\n</body>\n</html>\n";
    return out;
}

} // namespace harness::report
