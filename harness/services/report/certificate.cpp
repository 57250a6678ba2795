// The certificate-style page: one reader identity on A4 (see certificate.hpp). Self-contained HTML
// (inline CSS, no script, no network); @page sets A4 so Chromium's print and --print-to-pdf lay it
// out on one page (two when a reader has many cards or suites).
#include "services/report/certificate.hpp"

#include "pure/error.hpp"
#include "services/report/render_util.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <set>
#include <utility>

namespace harness::report {
namespace {

std::optional<std::uint16_t> hex16(std::string_view s) {
    if (s.empty() || s.size() > 4)
        return std::nullopt;
    unsigned value = 0;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isxdigit(u))
            return std::nullopt;
        value = value * 16 +
                static_cast<unsigned>(std::isdigit(u) ? u - '0' : std::tolower(u) - 'a' + 10);
    }
    return static_cast<std::uint16_t>(value);
}

std::string esc(std::string_view s) {
    return xml_escape(s);
}

std::string firmware_text(std::optional<std::uint16_t> bcd) {
    return bcd ? fmt::format("{:X}.{:02X}", *bcd >> 8U, *bcd & 0xFFU) : std::string("-");
}

std::string describe(const ReaderRow& r) {
    std::string out = r.vid_pid().empty() ? r.pcsc_name : r.vid_pid();
    out += " fw " + (r.firmware().empty() ? std::string("?") : r.firmware());
    const std::string name = r.maker.empty() ? r.model : r.maker + " " + r.model;
    if (!name.empty())
        out += " \"" + name + "\"";
    if (!r.reader_model.empty())
        out += " (lab model " + r.reader_model + ")";
    return out;
}

std::string list_of(const std::vector<const ReaderRow*>& rows) {
    std::string out;
    for (const auto* r : rows)
        out += "\n  " + describe(*r);
    return out;
}

const char* css = R"CSS(
@page { size: A4; margin: 14mm 14mm 12mm; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; box-sizing: border-box; }
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Kaku Gothic ProN",
  "Hiragino Sans", "BIZ UDPGothic", "Yu Gothic", "Meiryo", "IPAexGothic", system-ui, sans-serif;
  color: #1a1a1a; background: #fff; margin: 0; font-size: 9pt; line-height: 1.35; }
.page { border: 2px solid #1a1a1a; outline: 1px solid #1a1a1a; outline-offset: -6px;
  padding: 7mm 8mm 5mm; max-width: 182mm; margin: 0 auto; }
.page + .page { break-before: page; margin-top: 8mm; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 1mm; letter-spacing: .05em; }
.sub { text-align: center; color: #444; margin: 0 0 3mm; }
h2 { font-size: 10.5pt; margin: 3mm 0 1mm; border-bottom: 1.5px solid #1a1a1a; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #9aa3ad; padding: .7mm 1.4mm; text-align: left; vertical-align: top; }
table.verdicts { table-layout: fixed; }
table.verdicts td:nth-child(2), table.verdicts td:nth-child(5) { white-space: nowrap; }
thead th { background: #eef1f5; }
table.kv th { width: 34%; background: #f5f7fa; font-weight: bold; }
code, .hash { font-family: "Noto Sans Mono CJK JP", "DejaVu Sans Mono", monospace; font-size: 8pt;
  word-break: break-all; }
.mark { font-size: 12pt; font-weight: bold; margin-right: 1mm; }
.v-compatible .mark, .v-compatible .label { color: #1b7f3b; }
.v-partial .mark, .v-partial .label { color: #a35f00; }
.v-incompatible .mark, .v-incompatible .label { color: #b3261e; }
.v-untested .mark, .v-untested .label { color: #666; }
.causes { display: block; color: #555; font-size: 8pt; }
.simulated { border: 2px solid #a35f00; background: #fff4e0; padding: 1.5mm 3mm; margin: 1.5mm 0;
  font-weight: bold; }
.notes { font-size: 7.5pt; color: #333; margin-top: 2mm; }
.notes p { margin: .8mm 0; }
.issued { display: flex; justify-content: space-between; margin-top: 2.5mm; font-size: 9pt; }
tr, .simulated, .issued { break-inside: avoid; }
@media screen { body { background: #e8eaed; padding: 8mm 0; } .page { background: #fff; } }
)CSS";

void kv(std::string& out, const std::string& key, const std::string& value, bool code = false) {
    out += "<tr><th>" + esc(key) + "</th><td>" +
           (value.empty() ? "-"
            : code        ? "<code>" + esc(value) + "</code>"
                          : esc(value)) +
           "</td></tr>\n";
}

const RunInfo* run_of(const ReportModel& m, const std::string& uuid) {
    for (const auto& r : m.runs)
        if (r.uuid == uuid)
            return &r;
    return nullptr;
}

bool simulated(const ReportModel& m, const ReaderRow& row) {
    if (!row.reader_model.empty())
        return true;
    for (const auto& c : row.cells)
        if (const auto* r = run_of(m, c.run_uuid); r && r->lab)
            return true;
    return false;
}

std::string page(const ReportModel& m, const ReaderRow& row, Lang lang,
                 const CertificateIssue& issue) {
    std::string out = "<section class=\"page\">\n";
    out += fmt::format("<h1>{}</h1>\n<p class=\"sub\">{}</p>\n", esc(text(lang, "cert.title")),
                       esc(text(lang, "cert.subtitle")));
    const bool sim = simulated(m, row);
    if (sim)
        out += fmt::format("<p class=\"simulated\" data-simulated=\"true\">{}</p>\n",
                           esc(text(lang, "cert.simulated")));

    // 1. The reader.
    out += fmt::format("<h2>{}</h2>\n<table class=\"kv reader\">\n", text(lang, "cert.reader"));
    kv(out, text(lang, "col.maker"), row.maker);
    kv(out, text(lang, "col.model"), row.model);
    kv(out, text(lang, "col.vid_pid"), row.vid_pid(), true);
    kv(out, text(lang, "cert.firmware"),
       row.bcd_device ? fmt::format("{} (bcdDevice 0x{:04X})", row.firmware(), *row.bcd_device)
                      : std::string());
    kv(out, text(lang, "col.driver"), row.driver);
    kv(out, text(lang, "pcsc_name"), row.pcsc_name);
    kv(out, text(lang, "cert.kind"),
       sim ? std::string(text(lang, "cert.kind.simulated")) +
                 (row.reader_model.empty() ? "" : " — " + row.reader_model)
           : text(lang, "cert.kind.hardware"));
    out += "</table>\n";

    // 2. Cards, interfaces and verdicts.
    out +=
        fmt::format("<h2>{}</h2>\n<table class=\"verdicts\"><colgroup><col style=\"width:27%\">"
                    "<col style=\"width:12%\"><col style=\"width:32%\"><col style=\"width:18%\">"
                    "<col style=\"width:11%\"></colgroup><thead><tr><th>{}</th><th>{}</th>"
                    "<th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
                    text(lang, "cert.results"), text(lang, "col.card"), text(lang, "col.verdict"),
                    text(lang, "col.reason"), text(lang, "cert.steps"), text(lang, "col.date"));
    for (const auto& c : matrix_cells(row)) {
        const auto v = c.verdict;
        std::string card = card_label(lang, c.card_type, c.interface);
        if (c.session && c.session->emulated)
            card += fmt::format("<br><small>{}</small>", esc(text(lang, "emulated")));
        std::string why = v == model::Compatibility::Untested ? "" : esc(reason(lang, c));
        if (!c.causes.empty()) {
            std::string codes;
            for (const auto& code : c.causes)
                codes += (codes.empty() ? "" : " ") + esc(code);
            why += fmt::format("<span class=\"causes\">{}: <code>{}</code></span>",
                               esc(text(lang, "causes")), codes);
        }
        const std::string steps =
            v == model::Compatibility::Untested
                ? "-"
                : fmt::format("{} {} / {} {} / {} {}", text(lang, "step.pass"), c.steps.pass,
                              text(lang, "step.fail"),
                              c.steps.fail + c.steps.error + c.steps.aborted,
                              text(lang, "step.skip"), c.steps.skip);
        out += fmt::format("<tr class=\"cell v-{0}\" data-verdict=\"{0}\"><td>{1}</td><td>"
                           "<span class=\"mark\">{2}</span><span class=\"label\">{3}</span></td>"
                           "<td>{4}</td><td>{5}</td><td>{6}</td></tr>\n",
                           model::to_string(v), card, mark(v), label(lang, v), why, esc(steps),
                           c.tested_at.empty() ? "-" : date_of(c.tested_at));
    }
    out += "</tbody></table>\n";

    // 3. Suite versions with their content hashes.
    std::set<std::pair<std::string, std::string>> suites;
    for (const auto& c : row.cells)
        for (const auto& s : c.suites)
            suites.emplace(s.id, s.content_hash);
    out +=
        fmt::format("<h2>{}</h2>\n<table class=\"suites\"><thead><tr><th>{}</th><th>{}</th>"
                    "</tr></thead><tbody>\n",
                    text(lang, "cert.suites"), text(lang, "cert.suite"), text(lang, "cert.hash"));
    for (const auto& [id, hash] : suites)
        out += fmt::format("<tr><td>{}</td><td class=\"hash\">{}</td></tr>\n", esc(id), esc(hash));
    if (suites.empty())
        out += fmt::format("<tr><td colspan=\"2\">-</td></tr>\n");
    out += "</tbody></table>\n";

    // 4. When, where and with what.
    std::string first, last;
    std::set<std::string> runs;
    for (const auto& c : row.cells) {
        if (c.tested_at.empty())
            continue;
        first = first.empty() ? c.tested_at : std::min(first, c.tested_at);
        last = std::max(last, c.tested_at);
        runs.insert(c.run_uuid);
    }
    std::string run_list;
    for (const auto& r : runs)
        run_list += (run_list.empty() ? "" : " ") + r;
    out += fmt::format("<h2>{}</h2>\n<table class=\"kv environment\">\n",
                       text(lang, "cert.environment"));
    kv(out, text(lang, "cert.tested"),
       first.empty()                     ? std::string()
       : date_of(first) == date_of(last) ? date_of(first)
                                         : date_of(first) + " – " + date_of(last));
    kv(out, text(lang, "cert.station"), row.environment.host);
    kv(out, text(lang, "env.os"), row.environment.os);
    kv(out, text(lang, "env.pcsclite"), row.environment.pcsclite_version);
    kv(out, text(lang, "env.libccid"), row.environment.libccid_version);
    kv(out, text(lang, "cert.harness_tested"), row.environment.harness_version);
    kv(out, text(lang, "cert.runs"), run_list, true);
    out += "</table>\n";

    out += fmt::format("<div class=\"notes\"><p>{}</p><p>{}</p><p>{}</p></div>\n",
                       esc(text(lang, "cert.note.verdicts")),
                       esc(text(lang, sim ? "note.lab" : "note.real")),
                       esc(text(lang, "cert.note.scope")));
    out += fmt::format("<div class=\"issued\"><span>{}: {}</span><span>{}: cardharness {}</span>"
                       "</div>\n",
                       esc(text(lang, "cert.issued")), esc(issue.issued_on),
                       esc(text(lang, "cert.issued_by")), esc(issue.harness_version));
    return out + "</section>\n";
}

} // namespace

ReaderQuery parse_reader_query(std::string_view vid_pid, std::string_view firmware) {
    const auto colon = vid_pid.find(':');
    const auto vid =
        colon == std::string_view::npos ? std::nullopt : hex16(vid_pid.substr(0, colon));
    const auto pid =
        colon == std::string_view::npos ? std::nullopt : hex16(vid_pid.substr(colon + 1));
    if (!vid || !pid)
        throw UsageError(fmt::format(
            "--usb {}: expected VID:PID as two hexadecimal numbers, e.g. 072F:B100", vid_pid));
    ReaderQuery q{*vid, *pid, std::nullopt};
    if (firmware.empty())
        return q;
    std::string_view f = firmware;
    std::optional<std::uint16_t> bcd;
    if (const auto dot = f.find('.'); dot != std::string_view::npos) {
        const auto major = hex16(f.substr(0, dot));
        const auto minor = f.substr(dot + 1);
        const auto minor_value = minor.size() == 2 ? hex16(minor) : std::nullopt;
        if (major && minor_value && *major <= 0xFF)
            bcd = static_cast<std::uint16_t>((*major << 8U) | *minor_value);
    } else {
        if (f.size() > 2 && f[0] == '0' && (f[1] == 'x' || f[1] == 'X'))
            f.remove_prefix(2);
        if (f.size() == 4)
            bcd = hex16(f);
    }
    if (!bcd)
        throw UsageError(fmt::format("--firmware {}: expected the bcdDevice as reports show it "
                                     "(1.02), or as four hex digits (0102, 0x0102)",
                                     firmware));
    q.bcd_device = bcd;
    return q;
}

std::vector<const ReaderRow*> certificate_readers(const ReportModel& m, const ReaderQuery& q) {
    std::vector<const ReaderRow*> all, same_id, chosen;
    for (const auto& r : m.readers) {
        all.push_back(&r);
        if (r.vid == q.vid && r.pid == q.pid) {
            same_id.push_back(&r);
            if (!q.bcd_device || r.bcd_device == q.bcd_device)
                chosen.push_back(&r);
        }
    }
    const std::string asked = fmt::format("{:04X}:{:04X}", q.vid, q.pid);
    if (same_id.empty())
        throw UsageError(fmt::format("--usb {}: no results for this VID:PID in the database; it "
                                     "has {}",
                                     asked,
                                     all.empty() ? std::string("no readers at all")
                                                 : "these readers:" + list_of(all)));
    if (chosen.empty())
        throw UsageError(fmt::format("--usb {} --firmware {}: no results for this firmware; the "
                                     "database has:{}",
                                     asked, firmware_text(q.bcd_device), list_of(same_id)));
    std::set<std::optional<std::uint16_t>> firmwares;
    for (const auto* r : chosen)
        firmwares.insert(r->bcd_device);
    if (firmwares.size() > 1)
        throw UsageError(fmt::format("--usb {}: results for {} firmware versions; choose one with "
                                     "--firmware:{}",
                                     asked, firmwares.size(), list_of(chosen)));
    return chosen;
}

std::string render_certificate_html(const ReportModel& m,
                                    const std::vector<const ReaderRow*>& readers, Lang lang,
                                    const CertificateIssue& issue) {
    const std::string title =
        readers.empty() ? text(lang, "cert.title")
                        : std::string(text(lang, "cert.title")) + " — " + reader_title(*readers[0]);
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"generator\" content=\"cardharness report --view certificate\">\n"
        "<title>{}</title>\n<style>{}</style>\n</head>\n<body class=\"view-certificate\">"
        "\n<main>\n",
        to_string(lang), esc(title), css);
    for (const auto* row : readers)
        out += page(m, *row, lang, issue);
    return out + "</main>\n</body>\n</html>\n";
}

} // namespace harness::report
