#include "services/report/diff.hpp"

#include "services/report/render_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

namespace harness::report {
namespace {

int rank(model::Compatibility v) {
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
    return 0;
}

bool failing(model::StepVerdict v) {
    return v == model::StepVerdict::Fail || v == model::StepVerdict::Error ||
           v == model::StepVerdict::Aborted;
}

using StepMap = std::map<std::pair<std::string, std::string>, const model::StepResult*>;

StepMap steps_of(const Cell& c) {
    StepMap out;
    if (c.session)
        for (const auto& s : c.session->suites)
            for (const auto& st : s.steps)
                out.emplace(std::make_pair(s.suite.id, st.step_id), &st);
    return out;
}

void compare_cells(const ReaderRow& row, const Cell& b, const Cell& c, bool c_present,
                   double threshold, std::vector<Change>& out) {
    const auto make = [&](ChangeKind kind) {
        Change ch;
        ch.kind = kind;
        ch.reader_key = row.key;
        ch.reader = reader_title(row);
        ch.card_type = c.card_type;
        ch.interface = c.interface;
        return ch;
    };
    const int rb = rank(b.verdict), rc = rank(c.verdict);
    if (rb != rc) {
        ChangeKind kind = rb == 0   ? ChangeKind::NewCell
                          : rc == 0 ? ChangeKind::MissingCell
                          : rc > rb ? ChangeKind::Regression
                                    : ChangeKind::Fix;
        auto ch = make(kind);
        ch.before = model::to_string(b.verdict);
        ch.after = c_present ? model::to_string(c.verdict) : "missing";
        ch.lost = kind == ChangeKind::MissingCell &&
                  (!c_present || b.verdict == model::Compatibility::Compatible ||
                   b.verdict == model::Compatibility::Partial);
        const Cell& why = kind == ChangeKind::MissingCell ? b : c;
        ch.reason_en = reason(Lang::En, why);
        ch.reason_ja = reason(Lang::Ja, why);
        out.push_back(std::move(ch));
    }
    const auto before = steps_of(b);
    const auto after = steps_of(c);
    for (const auto& [key, sb] : before) {
        const auto it = after.find(key);
        if (it == after.end())
            continue;
        const auto* sc = it->second;
        const bool was_pass = sb->verdict == model::StepVerdict::Pass;
        const bool is_pass = sc->verdict == model::StepVerdict::Pass;
        std::optional<ChangeKind> kind;
        if (was_pass && failing(sc->verdict))
            kind = ChangeKind::Regression;
        else if (failing(sb->verdict) && is_pass)
            kind = ChangeKind::Fix;
        else if (was_pass && is_pass && sb->duration_us > 0 &&
                 std::llabs(sc->duration_us - sb->duration_us) >= timing_floor_us) {
            const double pct = 100.0 * static_cast<double>(sc->duration_us - sb->duration_us) /
                               static_cast<double>(sb->duration_us);
            if (std::fabs(pct) > threshold) {
                auto ch = make(ChangeKind::Timing);
                ch.suite = key.first;
                ch.step_id = key.second;
                ch.before = std::to_string(sb->duration_us);
                ch.after = std::to_string(sc->duration_us);
                ch.reason_en = fmt::format("{:+.0f}% ({:.1f} ms → {:.1f} ms)", pct,
                                           static_cast<double>(sb->duration_us) / 1000.0,
                                           static_cast<double>(sc->duration_us) / 1000.0);
                ch.reason_ja = fmt::format("{:+.0f}%（{:.1f} ms → {:.1f} ms）", pct,
                                           static_cast<double>(sb->duration_us) / 1000.0,
                                           static_cast<double>(sc->duration_us) / 1000.0);
                out.push_back(std::move(ch));
            }
        }
        if (kind) {
            auto ch = make(*kind);
            ch.suite = key.first;
            ch.step_id = key.second;
            ch.before = model::to_string(sb->verdict);
            ch.after = model::to_string(sc->verdict);
            const auto* why = *kind == ChangeKind::Regression ? sc : sb;
            ch.reason_en = why->reason_en;
            ch.reason_ja = why->reason_ja;
            out.push_back(std::move(ch));
        }
    }
}

std::string where(const Change& c) {
    std::string out = c.reader;
    if (!c.card_type.empty())
        out += " " + c.card_type + "/" + c.interface;
    if (!c.step_id.empty())
        out += ": step " + c.step_id + " (" + c.suite + ")";
    else if (!c.card_type.empty())
        out += ": verdict";
    return out;
}

std::string what(const Change& c) {
    if (c.kind == ChangeKind::NewReader || c.kind == ChangeKind::MissingReader)
        return {};
    if (c.kind == ChangeKind::Timing)
        return c.reason_en;
    std::string out = c.before + " → " + c.after;
    if (!c.reason_en.empty())
        out += " — " + c.reason_en;
    return out;
}

constexpr ChangeKind kind_order[] = {ChangeKind::Regression, ChangeKind::Fix,
                                     ChangeKind::NewReader,  ChangeKind::MissingReader,
                                     ChangeKind::NewCell,    ChangeKind::MissingCell,
                                     ChangeKind::Timing};

const char* heading(ChangeKind kind) {
    switch (kind) {
    case ChangeKind::Regression:
        return "Regressions";
    case ChangeKind::Fix:
        return "Fixes";
    case ChangeKind::NewReader:
        return "New readers";
    case ChangeKind::MissingReader:
        return "Missing readers";
    case ChangeKind::NewCell:
        return "Newly tested";
    case ChangeKind::MissingCell:
        return "No longer tested";
    case ChangeKind::Timing:
        break;
    }
    return "Timing changes";
}

} // namespace

const char* to_string(ChangeKind kind) {
    switch (kind) {
    case ChangeKind::Regression:
        return "regression";
    case ChangeKind::Fix:
        return "fix";
    case ChangeKind::NewReader:
        return "new_reader";
    case ChangeKind::MissingReader:
        return "missing_reader";
    case ChangeKind::NewCell:
        return "new_cell";
    case ChangeKind::MissingCell:
        return "missing_cell";
    case ChangeKind::Timing:
        break;
    }
    return "timing";
}

std::size_t DiffResult::lost() const {
    return static_cast<std::size_t>(
        std::count_if(changes.begin(), changes.end(), [](const Change& c) { return c.lost; }));
}

std::size_t DiffResult::count(ChangeKind kind) const {
    return static_cast<std::size_t>(std::count_if(
        changes.begin(), changes.end(), [kind](const Change& c) { return c.kind == kind; }));
}

DiffResult diff(const ReportModel& baseline, const ReportModel& candidate, double threshold,
                bool allow_missing) {
    DiffResult result;
    result.allow_missing = allow_missing;
    for (const auto& [side, model] : {std::pair{"baseline", &baseline}, {"candidate", &candidate}})
        for (const auto& r : model->runs)
            if (r.status != model::RunStatus::Complete)
                result.incomplete_runs.push_back(
                    fmt::format("{}: run {} (started {}) is {}{}", side, r.uuid, r.started_at,
                                model::to_string(r.status), r.cause.empty() ? "" : ": " + r.cause));
    std::map<std::string, const ReaderRow*> base, cand;
    for (const auto& r : baseline.readers)
        base[r.key] = &r;
    for (const auto& r : candidate.readers)
        cand[r.key] = &r;
    std::vector<std::string> keys;
    for (const auto& [k, r] : base)
        keys.push_back(k);
    for (const auto& [k, r] : cand)
        if (!base.count(k))
            keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
        const auto bi = base.find(key);
        const auto ci = cand.find(key);
        if (bi == base.end() || ci == cand.end()) {
            Change ch;
            ch.kind = bi == base.end() ? ChangeKind::NewReader : ChangeKind::MissingReader;
            const auto& row = bi == base.end() ? *ci->second : *bi->second;
            ch.reader_key = key;
            ch.reader = reader_title(row);
            ch.lost = ch.kind == ChangeKind::MissingReader;
            result.changes.push_back(std::move(ch));
            continue;
        }
        const auto& brow = *bi->second;
        const auto& crow = *ci->second;
        std::vector<std::pair<std::string, std::string>> cells;
        for (const auto& c : brow.cells)
            cells.emplace_back(c.card_type, c.interface);
        for (const auto& c : crow.cells)
            if (!brow.cell(c.card_type, c.interface))
                cells.emplace_back(c.card_type, c.interface);
        for (const auto& [card, iface] : cells) {
            Cell untested;
            untested.card_type = card;
            untested.interface = iface;
            const Cell* b = brow.cell(card, iface);
            const Cell* c = crow.cell(card, iface);
            compare_cells(crow, b ? *b : untested, c ? *c : untested, c != nullptr, threshold,
                          result.changes);
        }
    }
    return result;
}

namespace {

std::string gate_line(const DiffResult& r) {
    if (r.lost() == 0)
        return {};
    return r.allow_missing
               ? fmt::format("{} change{} lost evidence the baseline had (allowed by "
                             "--allow-missing)\n",
                             r.lost(), r.lost() == 1 ? "" : "s")
               : fmt::format("{} change{} lost evidence the baseline had: a regression (missing "
                             "readers or cells, compatible/partial → untested; --allow-missing "
                             "accepts them)\n",
                             r.lost(), r.lost() == 1 ? "" : "s");
}

} // namespace

std::string render_diff_text(const DiffResult& r) {
    std::string out;
    if (!r.incomplete_runs.empty()) {
        out += fmt::format("Runs not complete ({}):\n", r.incomplete_runs.size());
        for (const auto& line : r.incomplete_runs)
            out += "  " + line + "\n";
    }
    for (auto kind : kind_order) {
        const auto n = r.count(kind);
        if (n == 0)
            continue;
        out += fmt::format("{} ({}):\n", heading(kind), n);
        for (const auto& c : r.changes)
            if (c.kind == kind) {
                const auto w = what(c);
                out += fmt::format("  {}{}{}\n", where(c), w.empty() ? "" : ": ", w);
            }
    }
    out += fmt::format(
        "{} regression{}, {} fix{}, {} new reader{}, {} missing reader{}, {} "
        "timing change{}\n",
        r.count(ChangeKind::Regression), r.count(ChangeKind::Regression) == 1 ? "" : "s",
        r.count(ChangeKind::Fix), r.count(ChangeKind::Fix) == 1 ? "" : "es",
        r.count(ChangeKind::NewReader), r.count(ChangeKind::NewReader) == 1 ? "" : "s",
        r.count(ChangeKind::MissingReader), r.count(ChangeKind::MissingReader) == 1 ? "" : "s",
        r.count(ChangeKind::Timing), r.count(ChangeKind::Timing) == 1 ? "" : "s");
    return out + gate_line(r);
}

std::string render_diff_markdown(const DiffResult& r) {
    std::string out = "# cardharness diff\n\n";
    if (!r.incomplete_runs.empty()) {
        out += fmt::format("## Runs not complete ({})\n\n", r.incomplete_runs.size());
        for (const auto& line : r.incomplete_runs)
            out += "- " + xml_escape(line) + "\n";
        out += "\n";
    }
    for (auto kind : kind_order) {
        const auto n = r.count(kind);
        if (n == 0)
            continue;
        out += fmt::format("## {} ({})\n\n", heading(kind), n);
        for (const auto& c : r.changes)
            if (c.kind == kind) {
                const auto w = what(c);
                out += fmt::format("- **{}**{}{}\n", xml_escape(where(c)), w.empty() ? "" : ": ",
                                   xml_escape(w));
            }
        out += "\n";
    }
    if (r.changes.empty())
        out += "No changes.\n";
    if (const auto gate = gate_line(r); !gate.empty())
        out += "\n" + xml_escape(gate);
    return out;
}

std::string render_diff_json(const DiffResult& r) {
    using Json = nlohmann::ordered_json;
    Json changes = Json::array();
    for (const auto& c : r.changes) {
        Json j{{"kind", to_string(c.kind)}, {"reader_key", c.reader_key}, {"reader", c.reader},
               {"card_type", c.card_type},  {"interface", c.interface},   {"suite", c.suite},
               {"step_id", c.step_id},      {"before", c.before},         {"after", c.after},
               {"reason_en", c.reason_en},  {"reason_ja", c.reason_ja},   {"lost", c.lost}};
        changes.push_back(std::move(j));
    }
    Json counts = Json::object();
    for (auto kind : kind_order)
        counts[to_string(kind)] = r.count(kind);
    counts["lost"] = r.lost();
    const Json doc{{"schema_version", schema_version},     {"regression", r.has_regression()},
                   {"allow_missing", r.allow_missing},     {"counts", counts},
                   {"incomplete_runs", r.incomplete_runs}, {"changes", changes}};
    return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace harness::report
