#include "services/plan/plan.hpp"

#include "pure/atr.hpp"

#include <algorithm>

namespace harness::plan {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

void sort_unique(std::vector<std::string>& list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
}

} // namespace

std::optional<ccid::ExchangeLevel> exchange_level(const ReaderFacts& reader) {
    if (!reader.descriptor)
        return std::nullopt;
    return reader.descriptor->exchange_level();
}

std::optional<std::size_t> max_block(const ReaderFacts& reader) {
    if (reader.descriptor && reader.descriptor->max_message_length > ccid::message_header_length)
        return std::size_t{reader.descriptor->max_message_length - ccid::message_header_length};
    if (reader.max_input && *reader.max_input > 0)
        return std::size_t{*reader.max_input};
    return std::nullopt;
}

bool card_extended_length(ByteView atr) {
    if (atr.empty())
        return false;
    const atr::Atr decoded = atr::decode(atr);
    return decoded.historical.capabilities && decoded.historical.capabilities->extended_lc_le;
}

bool extended_apdu(const ReaderFacts& reader, const CardFacts& card) {
    if (!card_extended_length(card.atr))
        return false;
    if (const auto level = exchange_level(reader)) {
        switch (*level) {
        case ccid::ExchangeLevel::ExtendedApdu:
            return true;
        case ccid::ExchangeLevel::Tpdu: {
            // CCID driver: a TPDU reader carries extended APDUs only with a T=1 card.
            const atr::Atr decoded = atr::decode(card.atr);
            return std::find(decoded.protocols.begin(), decoded.protocols.end(), 1) !=
                   decoded.protocols.end();
        }
        default:
            return false;
        }
    }
    return reader.max_apdu_data_size && *reader.max_apdu_data_size > 0;
}

std::size_t max_short_le(const ReaderFacts& reader) {
    constexpr std::size_t most = 256;
    const auto level = exchange_level(reader);
    // A TPDU reader's driver splits a response into T=1 blocks (or T=0 procedure bytes); an
    // extended-APDU reader chains long messages: neither limits a short response.
    if (level == ccid::ExchangeLevel::Tpdu || level == ccid::ExchangeLevel::ExtendedApdu)
        return most;
    const auto block = max_block(reader);
    if (!block || *block >= most + 2)
        return most;
    return *block > 2 ? *block - 2 : 1;
}

bool is_capability_requirement(std::string_view token) {
    return token == "extended_apdu" || token == "le_256";
}

std::vector<std::string> capabilities(const ReaderFacts& reader, const CardFacts& card,
                                      const std::vector<std::string>& supplied_pins) {
    std::vector<std::string> out;
    if (card.interface == "contactless")
        out.emplace_back("contactless");
    else if (card.interface == "contact")
        out.emplace_back("contact");
    if (extended_apdu(reader, card))
        out.emplace_back("extended_apdu");
    if (max_short_le(reader) == 256)
        out.emplace_back("le_256");
    if (card.test_card)
        out.emplace_back("test_card");
    if (card.emulated)
        out.emplace_back("emulated");
    if (!card.card_type.empty())
        out.push_back("card:" + card.card_type);
    for (const auto& pin : supplied_pins)
        out.push_back("pin:" + pin);
    sort_unique(out);
    return out;
}

std::vector<std::string> missing(const std::vector<std::string>& requirements,
                                 const std::vector<std::string>& capabilities) {
    std::vector<std::string> out;
    for (const auto& requirement : requirements)
        if (!contains(capabilities, requirement) && !contains(out, requirement))
            out.push_back(requirement);
    return out;
}

std::vector<std::string> choose_suites(const CardFacts& card,
                                       const std::vector<std::string>& requested,
                                       const std::vector<std::string>& available) {
    std::vector<std::string> chosen;
    if (!requested.empty()) {
        chosen = requested;
    } else {
        chosen.emplace_back("identify");
        if (card.card_type == "mynumber")
            chosen.emplace_back("jpki-mynumber");
        else if (card.card_type == "juki")
            chosen.emplace_back("juki");
        else if (card.card_type == "transport")
            chosen.emplace_back("transport");
        if (card.test_card && (card.card_type == "mynumber" || card.card_type == "juki"))
            chosen.emplace_back("pin-behaviour");
    }
    std::vector<std::string> out;
    for (const auto& id : chosen)
        if ((available.empty() || contains(available, id)) && !contains(out, id))
            out.push_back(id);
    return out;
}

std::string card_type_of_profile(std::string_view profile) {
    for (std::string_view family : {"mynumber", "juki", "transport"})
        if (profile == family ||
            (profile.size() > family.size() && profile.substr(0, family.size()) == family &&
             profile[family.size()] == '-'))
            return std::string(family);
    return std::string(profile);
}

std::string card_interface_of(std::string_view presented) {
    return presented == "contact" ? "contact" : "contactless";
}

std::vector<MatrixCell> matrix_cells(const std::optional<std::string>& slot_card,
                                     std::string_view slot_presented) {
    std::vector<MatrixCell> cells = {
        {"mynumber", "contact", "mynumber", "contact"},
        {"mynumber", "contactless", "mynumber-contactless", "type_b"},
        {"juki", "contact", "juki", "contact"},
        {"juki", "contactless", "juki-contactless", "type_b"},
    };
    if (!slot_card)
        return cells;
    const std::string type = card_type_of_profile(*slot_card);
    const std::string interface = card_interface_of(slot_presented);
    for (auto it = cells.begin(); it != cells.end(); ++it)
        if (it->card_type == type && it->interface == interface) {
            MatrixCell own{type, interface, *slot_card, std::string(slot_presented)};
            cells.erase(it);
            cells.insert(cells.begin(), std::move(own));
            break;
        }
    return cells;
}

} // namespace harness::plan
