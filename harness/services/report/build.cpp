// The report model from stored runs: one row per reader identity, one cell per card type ×
// interface, chosen by the selection rule (newest verdict, latest run, or the given run).
#include "pure/bytes.hpp"
#include "services/report/report.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <set>
#include <tuple>

namespace harness::report {
namespace {

using model::Compatibility;

int severity(Compatibility verdict) {
    switch (verdict) {
    case Compatibility::Compatible:
        return 1;
    case Compatibility::Partial:
        return 2;
    case Compatibility::Incompatible:
        return 3;
    case Compatibility::Untested:
        break;
    }
    return 0;
}

int card_order(std::string_view card_type) {
    if (card_type == "mynumber")
        return 0;
    if (card_type == "juki")
        return 1;
    return 2;
}

int interface_order(std::string_view interface) {
    return interface == "contact" ? 0 : interface == "contactless" ? 1 : 2;
}

std::string identity_key(const model::ReaderIdentity& id) {
    if (!id.vid || !id.pid)
        return "pcsc:" + id.pcsc_name;
    // Not the driver: the same reader through our lab driver and through libccid is one reader
    // (a baseline made with one driver diffs cleanly against a run with the other); the driver
    // is a column.
    return fmt::format("{:04X}:{:04X}/{}/{}/{}", *id.vid, *id.pid,
                       id.bcd_device ? fmt::format("{:04X}", *id.bcd_device) : std::string("-"),
                       id.manufacturer, id.product);
}

struct Entry {
    std::size_t run = 0; // index into the sorted runs
    const model::Verdict* verdict = nullptr;
    const model::SessionHeader* session = nullptr; // may be null (a verdict without its session)
    std::shared_ptr<const model::ReaderIdentity> identity;
    std::string key; // identity_key(*identity)
};

StepCounts count(const std::vector<model::SuiteResult>& suites) {
    StepCounts c;
    for (const auto& suite : suites)
        for (const auto& step : suite.steps)
            switch (step.verdict) {
            case model::StepVerdict::Pass:
                ++c.pass;
                break;
            case model::StepVerdict::Fail:
                ++c.fail;
                break;
            case model::StepVerdict::Skip:
                ++c.skip;
                break;
            case model::StepVerdict::Error:
                ++c.error;
                break;
            case model::StepVerdict::Aborted:
                ++c.aborted;
                break;
            }
    return c;
}

// Better evidence wins within one run: the worse verdict (two slots of one model disagree).
bool replaces(const Entry& incoming, const Entry& held) {
    if (incoming.run != held.run)
        return incoming.run > held.run;
    return severity(incoming.verdict->verdict) > severity(held.verdict->verdict);
}

} // namespace

std::string ReaderRow::vid_pid() const {
    if (!vid || !pid)
        return {};
    return fmt::format("{:04X}:{:04X}", *vid, *pid);
}

std::string ReaderRow::firmware() const {
    if (!bcd_device)
        return {};
    return fmt::format("{:X}.{:02X}", *bcd_device >> 8U, *bcd_device & 0xFFU);
}

std::vector<std::string> ReaderRow::interfaces() const {
    std::vector<std::string> out;
    for (const char* iface : {"contact", "contactless"})
        for (const auto& c : cells)
            if (c.interface == iface && c.verdict != model::Compatibility::Untested) {
                out.emplace_back(iface);
                break;
            }
    return out;
}

const Cell* ReaderRow::cell(std::string_view card_type, std::string_view interface) const {
    for (const auto& c : cells)
        if (c.card_type == card_type && c.interface == interface)
            return &c;
    return nullptr;
}

ReportModel build(const std::vector<model::Run>& runs, Selection selection) {
    return build(model::RunsQuery(runs), selection);
}

ReportModel build(const model::ResultQuery& query, Selection selection) {
    const std::vector<model::RunHeader> headers = query.runs();
    std::vector<const model::RunHeader*> runs;
    runs.reserve(headers.size());
    for (const auto& h : headers)
        runs.push_back(&h);
    std::stable_sort(runs.begin(), runs.end(), [](const auto* a, const auto* b) {
        return std::tie(a->run.started_at, a->run.uuid) < std::tie(b->run.started_at, b->run.uuid);
    });

    std::vector<Entry> entries;
    for (std::size_t i = 0; i < runs.size(); ++i)
        for (const auto& v : runs[i]->run.verdicts) {
            Entry e;
            e.run = i;
            e.verdict = &v;
            for (const auto& s : runs[i]->sessions)
                if (s.reader->pcsc_name == v.reader && s.card.card_type == v.card_type &&
                    s.card.interface == v.interface) {
                    e.session = &s;
                    break;
                }
            if (e.session)
                e.identity = e.session->reader;
            else {
                const model::SessionHeader* same_reader = nullptr;
                for (const auto& s : runs[i]->sessions)
                    if (s.reader->pcsc_name == v.reader) {
                        same_reader = &s;
                        break;
                    }
                if (same_reader)
                    e.identity = same_reader->reader;
                else {
                    model::ReaderIdentity id;
                    id.pcsc_name = v.reader;
                    id.reader_model = v.reader_model;
                    e.identity = std::make_shared<const model::ReaderIdentity>(std::move(id));
                }
            }
            e.key = identity_key(*e.identity);
            entries.push_back(std::move(e));
        }

    // Latest: only the newest run per reader identity × card type counts.
    if (selection == Selection::Latest) {
        std::map<std::pair<std::string, std::string>, std::size_t> newest;
        for (const auto& e : entries) {
            auto& n = newest[{e.key, e.verdict->card_type}];
            n = std::max(n, e.run);
        }
        std::erase_if(entries, [&](const Entry& e) {
            return e.run != newest[{e.key, e.verdict->card_type}];
        });
    }

    std::map<std::tuple<std::string, std::string, std::string>, const Entry*> chosen;
    for (const auto& e : entries) {
        const auto k = std::make_tuple(e.key, e.verdict->card_type, e.verdict->interface);
        auto it = chosen.find(k);
        if (it == chosen.end())
            chosen.emplace(k, &e);
        else if (replaces(e, *it->second))
            it->second = &e;
    }

    ReportModel out;
    out.selection = selection;
    std::map<std::string, ReaderRow> rows;
    std::map<std::string, std::size_t> row_run; // run index of the identity shown
    std::vector<bool> used(runs.size(), false);
    for (const auto& [k, e] : chosen) {
        const auto& key = std::get<0>(k);
        const model::Run& run = runs[e->run]->run;
        used[e->run] = true;
        auto [it, inserted] = rows.try_emplace(key);
        ReaderRow& row = it->second;
        if (inserted || e->run > row_run[key]) {
            row_run[key] = e->run;
            const auto& id = *e->identity;
            row.key = key;
            row.maker = id.manufacturer;
            row.model = !id.product.empty() ? id.product : id.pcsc_name;
            row.vid = id.vid;
            row.pid = id.pid;
            row.bcd_device = id.bcd_device;
            row.driver = id.driver;
            row.pcsc_name = id.pcsc_name;
            row.reader_model = id.reader_model;
            row.ccid_descriptor =
                id.ccid_descriptor.empty() ? std::string() : hex::format(id.ccid_descriptor);
            row.descriptor_findings_json =
                id.descriptor_findings_json.empty() ? "{}" : id.descriptor_findings_json;
            row.environment_run = run.uuid;
            row.station = run.station;
            row.environment = run.environment;
        }
        Cell cell;
        cell.card_type = e->verdict->card_type;
        cell.interface = e->verdict->interface;
        cell.verdict = e->verdict->verdict;
        cell.reason_en = e->verdict->diagnosis_en;
        cell.reason_ja = e->verdict->diagnosis_ja;
        cell.causes = e->verdict->causes;
        cell.tested_at = run.started_at;
        cell.run_uuid = run.uuid;
        cell.station = run.station;
        if (e->session) {
            // The evidence of this cell only: the steps of every other session stay in the store.
            const auto& s = *e->session;
            auto suites = query.evidence(s.key);
            for (const auto& suite : suites)
                cell.suites.push_back(suite.suite);
            cell.steps = count(suites);
            CellSession cs;
            cs.atr = hex::format(s.card.atr);
            cs.emulated = s.card.emulated;
            cs.test_card = s.card.test_card;
            cs.status = s.status;
            cs.cause = s.cause;
            cs.failure = s.failure;
            cs.suites = std::move(suites);
            cell.session = std::move(cs);
        }
        row.cells.push_back(std::move(cell));
    }

    for (auto& [key, row] : rows) {
        std::sort(row.cells.begin(), row.cells.end(), [](const Cell& a, const Cell& b) {
            return std::make_tuple(card_order(a.card_type), a.card_type,
                                   interface_order(a.interface), a.interface) <
                   std::make_tuple(card_order(b.card_type), b.card_type,
                                   interface_order(b.interface), b.interface);
        });
        out.readers.push_back(std::move(row));
    }
    std::sort(out.readers.begin(), out.readers.end(), [](const ReaderRow& a, const ReaderRow& b) {
        return std::make_tuple(a.maker, a.model, a.vid_pid(), a.firmware(), a.key) <
               std::make_tuple(b.maker, b.model, b.vid_pid(), b.firmware(), b.key);
    });
    for (std::size_t i = 0; i < runs.size(); ++i) {
        if (!used[i] && runs[i]->run.status == model::RunStatus::Complete)
            continue;
        const auto& r = runs[i]->run;
        out.runs.push_back(RunInfo{r.uuid, r.station, r.started_at, r.ended_at, r.status, r.cause,
                                   r.lab, r.environment, r.suites});
    }
    return out;
}

std::vector<std::string> stations(const ReportModel& model) {
    std::set<std::string> names;
    for (const auto& r : model.runs)
        names.insert(r.station);
    for (const auto& row : model.readers) {
        names.insert(row.station);
        for (const auto& c : row.cells)
            names.insert(c.station);
    }
    names.erase(std::string());
    return {names.begin(), names.end()};
}

} // namespace harness::report
