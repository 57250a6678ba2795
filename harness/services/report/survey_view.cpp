#include "services/report/survey_view.hpp"

#include "services/report/render_util.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace harness::report {
namespace {

using Json = nlohmann::ordered_json;

// The page's own words (en, ja). The verdict labels and card names are the report's.
struct Words {
    const char* en;
    const char* ja;
};
const Words title{"Driver-level survey of USB card readers",
                  "USBカードリーダーのドライバーレベル調査"};
const Words not_hardware{
    "This is not a hardware test. Each verdict comes from an emulated reader that honours the "
    "real reader's published USB descriptor exactly, driven by the installed CCID driver "
    "(libccid {}) and run against emulated My Number and Juki test cards. Firmware bugs, antennas "
    "and the timing of the real device are not included: a reader shown as compatible here can "
    "still fail in practice, and an observed result (where shown) outranks this one.",
    "これはハードウェア試験ではありません。各判定は、実機リーダーが公開しているUSB記述子を忠実に"
    "再現したエミュレーションのリーダーを、インストール済みのCCIDドライバー（libccid {}）で動かし、"
    "エミュレーションのマイナンバーカード・住基カード（試験用）で得たものです。実機のファームウェア"
    "の"
    "不具合、アンテナ、タイミングは含まれません。ここで対応と表示されたリーダーでも実際には使えない"
    "ことがあり、実機での結果（表示がある場合）が優先します。"};
const Words basis{
    "driver-level (emulated reader, libccid {}): not a hardware test",
    "ドライバーレベル（エミュレーションのリーダー、libccid {}）: ハードウェア試験ではない"};
const Words h_maker{"Maker", "メーカー"};
const Words h_product{"Product (dump)", "製品（ダンプ）"};
const Words h_level{"Exchange level", "交換レベル"};
const Words h_contactless{"Contactless", "非接触"};
const Words h_prediction{"Descriptor prediction", "記述子からの予測"};
const Words h_driver{"CCID driver", "CCIDドライバー"};
const Words h_observed{"observed on hardware", "実機での結果"};
const Words h_all{"all", "すべて"};
const Words h_filter{"Filter", "絞り込み"};
const Words h_verdict{"Verdict", "判定"};
const Words yes{"yes", "あり"};
const Words no{"no", "なし"};

const char* w(const Words& words, Lang lang) {
    return lang == Lang::Ja ? words.ja : words.en;
}

std::string prediction_text(const std::string& p, Lang lang) {
    if (p == "likely")
        return lang == Lang::Ja ? "使える見込み" : "likely";
    if (p == "at_risk")
        return lang == Lang::Ja ? "要注意" : "at risk";
    if (p == "unlikely")
        return lang == Lang::Ja ? "使えない見込み" : "unlikely";
    return "—";
}

std::string driver_text(const std::string& outcome, Lang lang) {
    if (outcome == "opened")
        return lang == Lang::Ja ? "開いた" : "opened";
    if (outcome == "not_listed")
        return lang == Lang::Ja ? "未登録" : "not listed";
    if (outcome == "refused")
        return lang == Lang::Ja ? "ファームウェア拒否" : "firmware refused";
    if (outcome == "open_failed")
        return lang == Lang::Ja ? "初期化失敗" : "open failed";
    return "—";
}

std::string csv_cell(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (const char c : s)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

const std::string& diagnosis(const SurveyCell& c, Lang lang) {
    return lang == Lang::Ja && !c.diagnosis_ja.empty() ? c.diagnosis_ja : c.diagnosis_en;
}

constexpr const char* script = R"js(
function applyFilters() {
  const f = {};
  document.querySelectorAll('select[data-filter]').forEach(s => { f[s.dataset.filter] = s.value; });
  let shown = 0;
  document.querySelectorAll('tr[data-maker]').forEach(r => {
    const ok = (!f.maker || r.dataset.maker === f.maker) && (!f.level || r.dataset.level === f.level)
      && (!f.contactless || r.dataset.contactless === f.contactless)
      && (!f.verdict || r.dataset.verdicts.split(' ').includes(f.verdict));
    r.hidden = !ok;
    if (ok) shown++;
  });
  document.getElementById('shown').textContent = shown;
}
document.querySelectorAll('select[data-filter]').forEach(s => s.addEventListener('change', applyFilters));
)js";

constexpr const char* style = R"css(
body{font-family:sans-serif;margin:1.5em;color:#222}
.notice{border:2px solid #b36b00;background:#fff4e0;padding:.8em 1em;max-width:60em}
table{border-collapse:collapse;margin-top:1em;font-size:90%}
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}
th{background:#f2f2f2}
td.compatible{background:#e6f5e6}td.partial{background:#fff7d6}
td.incompatible{background:#fde8e8}td.untested{background:#f4f4f4;color:#666}
.why{display:block;font-size:85%;color:#444;max-width:28em}
.observed{display:block;font-size:85%;border-top:1px dashed #999;margin-top:.3em;padding-top:.2em}
.filters label{margin-right:1em}
)css";

} // namespace

const SurveyCell* SurveyRow::cell(std::string_view card_type, std::string_view interface) const {
    for (const auto& c : cells)
        if (c.card_type == card_type && c.interface == interface)
            return &c;
    return nullptr;
}

void join_observed(SurveyReport& survey, const ReportModel& observed) {
    for (auto& row : survey.rows)
        for (auto& cell : row.cells) {
            const Cell* best = nullptr;
            for (const auto& reader : observed.readers) {
                if (reader.vid != row.vid || reader.pid != row.pid ||
                    reader.bcd_device != row.bcd_device)
                    continue;
                const Cell* c = reader.cell(cell.card_type, cell.interface);
                if (c && c->verdict != model::Compatibility::Untested &&
                    (!best || c->tested_at > best->tested_at))
                    best = c;
            }
            if (!best)
                continue;
            cell.observed = best->verdict;
            cell.observed_reason_en = reason(Lang::En, *best);
            cell.observed_reason_ja = reason(Lang::Ja, *best);
            cell.observed_run = best->run_uuid;
        }
}

std::string render_survey_html(const SurveyReport& r, Lang lang) {
    std::set<std::string> makers, levels;
    for (const auto& row : r.rows) {
        makers.insert(row.maker);
        levels.insert(row.exchange_level);
    }
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n"
        "<style>{}</style>\n</head>\n<body class=\"view-survey\">\n<header><h1>{}</h1>\n"
        "<p class=\"notice\" id=\"not-a-hardware-test\">{}</p>\n</header>\n<main>\n",
        lang == Lang::Ja ? "ja" : "en", xml_escape(w(title, lang)), style,
        xml_escape(w(title, lang)),
        xml_escape(fmt::format(fmt::runtime(w(not_hardware, lang)), r.libccid_version)));
    const auto select = [&](const char* key, const Words& label,
                            const std::vector<std::pair<std::string, std::string>>& options) {
        std::string s = fmt::format("<label>{}: <select data-filter=\"{}\"><option value=\"\">{}"
                                    "</option>",
                                    xml_escape(w(label, lang)), key, xml_escape(w(h_all, lang)));
        for (const auto& [value, text] : options)
            s += fmt::format("<option value=\"{}\">{}</option>", xml_escape(value),
                             xml_escape(text));
        return s + "</select></label>\n";
    };
    std::vector<std::pair<std::string, std::string>> maker_options, level_options;
    for (const auto& m : makers)
        maker_options.emplace_back(m, m.empty() ? "—" : m);
    for (const auto& l : levels)
        level_options.emplace_back(l, l.empty() ? "—" : l);
    out += fmt::format("<p class=\"filters\">{}: ", xml_escape(w(h_filter, lang)));
    out += select("maker", h_maker, maker_options);
    out += select("level", h_level, level_options);
    out += select("contactless", h_contactless, {{"yes", w(yes, lang)}, {"no", w(no, lang)}});
    std::vector<std::pair<std::string, std::string>> verdicts;
    for (const auto v : {model::Compatibility::Compatible, model::Compatibility::Partial,
                         model::Compatibility::Incompatible, model::Compatibility::Untested})
        verdicts.emplace_back(model::to_string(v), label(lang, v));
    out += select("verdict", h_verdict, verdicts);
    out += fmt::format(" (<span id=\"shown\">{}</span>/{})</p>\n", r.rows.size(), r.rows.size());

    out += fmt::format("<table id=\"survey\">\n<thead><tr><th>{}</th><th>{}</th><th>VID:PID</th>"
                       "<th>bcdDevice</th><th>{}</th><th>{}</th><th>{}</th>",
                       xml_escape(w(h_maker, lang)), xml_escape(w(h_product, lang)),
                       xml_escape(w(h_level, lang)), xml_escape(w(h_contactless, lang)),
                       xml_escape(w(h_prediction, lang)));
    for (const auto& col : columns)
        out +=
            fmt::format("<th>{}</th>", xml_escape(card_label(lang, col.card_type, col.interface)));
    out += fmt::format("<th>{}</th></tr></thead>\n<tbody>\n", xml_escape(w(h_driver, lang)));
    for (const auto& row : r.rows) {
        std::set<std::string> row_verdicts;
        for (const auto& c : row.cells)
            row_verdicts.insert(model::to_string(c.verdict));
        std::string data_verdicts;
        for (const auto& v : row_verdicts)
            data_verdicts += (data_verdicts.empty() ? "" : " ") + v;
        out += fmt::format(
            "<tr data-maker=\"{}\" data-level=\"{}\" data-contactless=\"{}\" data-verdicts=\"{}\">"
            "<td>{}</td><td>{}<br><small>{}#{}</small></td><td>{:04X}:{:04X}</td><td>{:X}.{:02X}"
            "</td><td>{}{}</td><td>{}</td><td>{}</td>",
            xml_escape(row.maker), xml_escape(row.exchange_level), row.contactless() ? "yes" : "no",
            data_verdicts, xml_escape(row.maker),
            xml_escape(row.product.empty() ? row.interface_name : row.product),
            xml_escape(row.file), row.block, row.vid, row.pid, row.bcd_device >> 8U,
            row.bcd_device & 0xFFU,
            xml_escape(row.exchange_level.empty() ? "—" : row.exchange_level),
            row.max_message_length ? fmt::format(" / {}", *row.max_message_length) : std::string(),
            xml_escape(row.contactless() ? w(yes, lang) : w(no, lang)),
            xml_escape(prediction_text(row.prediction, lang)));
        for (const auto& col : columns) {
            const SurveyCell* c = row.cell(col.card_type, col.interface);
            if (!c) {
                out += "<td class=\"untested\">—</td>";
                continue;
            }
            out +=
                fmt::format("<td class=\"{}\" data-cause=\"{}\">{} {}<span class=\"why\">{}"
                            "</span>",
                            model::to_string(c->verdict), xml_escape(c->cause), mark(c->verdict),
                            xml_escape(label(lang, c->verdict)), xml_escape(diagnosis(*c, lang)));
            if (c->observed)
                out += fmt::format(
                    "<span class=\"observed\">{}: {} {} — {}</span>",
                    xml_escape(w(h_observed, lang)), mark(*c->observed),
                    xml_escape(label(lang, *c->observed)),
                    xml_escape(lang == Lang::Ja ? c->observed_reason_ja : c->observed_reason_en));
            out += "</td>";
        }
        out += fmt::format("<td>{}</td></tr>\n", xml_escape(driver_text(row.driver_outcome, lang)));
    }
    out += "</tbody>\n</table>\n</main>\n<script>" + std::string(script) +
           "</script>\n</body>\n</html>\n";
    return out;
}

std::string render_survey_csv(const SurveyReport& r, Lang lang) {
    std::string out = "\xEF\xBB\xBF";
    out += "file,block,vid,pid,bcd_device,maker,product,exchange_level,max_message_length,"
           "contactless,takes,prediction,driver";
    for (const auto& col : columns)
        for (const char* part : {"verdict", "cause", "diagnosis", "observed"})
            out += fmt::format(",{}_{}_{}", col.card_type, col.interface, part);
    out += ",basis\r\n";
    const std::string basis_text = fmt::format(fmt::runtime(w(basis, lang)), r.libccid_version);
    for (const auto& row : r.rows) {
        out += fmt::format("{},{},{:04X},{:04X},{:04X},{},{},{},{},{},{},{},{}", csv_cell(row.file),
                           row.block, row.vid, row.pid, row.bcd_device, csv_cell(row.maker),
                           csv_cell(row.product), row.exchange_level,
                           row.max_message_length ? std::to_string(*row.max_message_length) : "",
                           row.contactless() ? "yes" : "no", row.takes, row.prediction,
                           row.driver_outcome);
        for (const auto& col : columns) {
            const SurveyCell* c = row.cell(col.card_type, col.interface);
            if (!c) {
                out += ",,,,";
                continue;
            }
            out += fmt::format(",{},{},{},{}", model::to_string(c->verdict), c->cause,
                               csv_cell(diagnosis(*c, lang)),
                               c->observed ? model::to_string(*c->observed) : "");
        }
        out += "," + csv_cell(basis_text) + "\r\n";
    }
    return out;
}

std::string render_survey_json(const SurveyReport& r) {
    Json rows = Json::array();
    for (const auto& row : r.rows) {
        Json cells = Json::array();
        for (const auto& c : row.cells)
            cells.push_back(
                Json{{"card_type", c.card_type},
                     {"interface", c.interface},
                     {"verdict", model::to_string(c.verdict)},
                     {"cause", c.cause},
                     {"diagnosis", c.diagnosis_en},
                     {"diagnosis_ja", c.diagnosis_ja},
                     {"observed", c.observed ? Json(model::to_string(*c.observed)) : Json()},
                     {"observed_run", c.observed ? Json(c.observed_run) : Json()}});
        rows.push_back(Json{
            {"file", row.file},
            {"block", row.block},
            {"vid", row.vid},
            {"pid", row.pid},
            {"bcd_device", row.bcd_device},
            {"maker", row.maker},
            {"product", row.product},
            {"exchange_level", row.exchange_level},
            {"max_message_length", row.max_message_length ? Json(*row.max_message_length) : Json()},
            {"contactless", row.contactless()},
            {"takes", row.takes},
            {"prediction", row.prediction},
            {"driver", row.driver_outcome},
            {"cells", cells}});
    }
    return Json{{"view", "survey"},
                {"not_a_hardware_test",
                 fmt::format(fmt::runtime(not_hardware.en), r.libccid_version)},
                {"not_a_hardware_test_ja",
                 fmt::format(fmt::runtime(not_hardware.ja), r.libccid_version)},
                {"libccid_version", r.libccid_version},
                {"rows", rows}}
               .dump(2) +
           "\n";
}

} // namespace harness::report
