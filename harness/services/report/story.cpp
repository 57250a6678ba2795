// The report's story (issue 10): which card works on which reader, why not, and the summary line
// at the top of the page. Pure functions over the report model; the words are in texts.cpp.
#include "services/report/report.hpp"

#include <fmt/format.h>

namespace harness::report {
namespace {

using model::Compatibility;

bool simulated_model(const ReaderRow& row) {
    return !row.reader_model.empty();
}

} // namespace

bool is_simulated(const ReaderRow& row) {
    return simulated_model(row);
}

CardOutcome card_outcome(const ReaderRow& row, std::string_view card_type) {
    bool any_tested = false, any_partial = false;
    for (const auto& c : row.cells) {
        if (c.card_type != card_type || c.verdict == Compatibility::Untested)
            continue;
        any_tested = true;
        if (c.verdict == Compatibility::Compatible)
            return CardOutcome::Works;
        any_partial = any_partial || c.verdict == Compatibility::Partial;
    }
    if (!any_tested)
        return CardOutcome::Untested;
    return any_partial ? CardOutcome::Partial : CardOutcome::Fails;
}

Story story(const ReaderRow& row) {
    const CardOutcome mn = card_outcome(row, "mynumber");
    const CardOutcome juki = card_outcome(row, "juki");
    if (mn == CardOutcome::Works && juki == CardOutcome::Works)
        return Story::Both;
    if (juki == CardOutcome::Works && mn == CardOutcome::Fails)
        return Story::JukiOnly;
    if (mn == CardOutcome::Works && juki == CardOutcome::Fails)
        return Story::MyNumberOnly;
    if (mn == CardOutcome::Fails && juki == CardOutcome::Fails)
        return Story::Neither;
    if (mn == CardOutcome::Partial || juki == CardOutcome::Partial)
        return Story::Partial;
    return Story::Untested;
}

const char* to_string(Story s) {
    switch (s) {
    case Story::Both:
        return "both";
    case Story::JukiOnly:
        return "juki_only";
    case Story::MyNumberOnly:
        return "mynumber_only";
    case Story::Neither:
        return "neither";
    case Story::Partial:
        return "partial";
    case Story::Untested:
        break;
    }
    return "untested";
}

std::string story_text(Lang lang, Story s) {
    return text(lang, std::string("story.") + to_string(s));
}

std::string why_not(Lang lang, const ReaderRow& row, std::string_view card_type) {
    if (card_outcome(row, card_type) == CardOutcome::Works)
        return {};
    const Cell* chosen = nullptr;
    for (const auto& c : row.cells) {
        if (c.card_type != card_type || c.verdict == Compatibility::Untested)
            continue;
        // The contact cell first: a reader that lacks the contactless interface says so there,
        // which is not why the card fails where it can be put in.
        if (!chosen || (c.interface == "contact" && chosen->interface != "contact"))
            chosen = &c;
    }
    return chosen ? reason(lang, *chosen) : std::string();
}

Summary summarize(const ReportModel& m) {
    Summary s;
    for (const auto& row : m.readers) {
        const Story st = story(row);
        if (st == Story::Untested)
            continue;
        ++s.readers;
        if (is_simulated(row))
            ++s.simulated;
        switch (st) {
        case Story::Both:
            ++s.both;
            break;
        case Story::JukiOnly:
            ++s.juki_only;
            break;
        case Story::MyNumberOnly:
            ++s.mynumber_only;
            break;
        case Story::Neither:
            ++s.neither;
            break;
        case Story::Partial:
            ++s.partial;
            break;
        case Story::Untested:
            break;
        }
    }
    return s;
}

std::string summary_text(Lang lang, const Summary& s) {
    std::string out = fmt::format(fmt::runtime(text(lang, "summary")), s.readers, s.both,
                                  s.juki_only, s.mynumber_only, s.neither, s.partial);
    if (s.simulated > 0)
        out += fmt::format(fmt::runtime(text(lang, "summary.simulated")), s.simulated);
    return out;
}

} // namespace harness::report
