#include "app/session.hpp"

#include "pure/apdu.hpp"
#include "services/identify/identify.hpp"

#include <algorithm>

namespace harness::app {

plan::Outcome expected_outcome(const plan::ReaderFacts& reader,
                               const std::optional<SlotFacts>& slot) {
    plan::Outcome outcome;
    outcome.reader = reader;
    if (slot) {
        outcome.presented_interface = slot->interface;
        if (slot->at_connect.card) {
            outcome.card.card_type = plan::card_type_of_profile(*slot->at_connect.card);
            outcome.card.interface = plan::card_interface_of(slot->interface);
            outcome.card.emulated = true;
            outcome.card.test_card = !slot->at_connect.citizen;
        }
    }
    return outcome;
}

std::string card_type_of(const model::CardIdentity& identity, const std::optional<SlotFacts>& slot,
                         bool answers_transport_aid) {
    if (slot && slot->at_connect.card &&
        plan::card_type_of_profile(*slot->at_connect.card) == "transport")
        return "transport";
    if (identity.type == model::CardType::Iso7816Unknown && answers_transport_aid)
        return "transport";
    return model::to_string(identity.type);
}

suite::CardTrust trust_of(const model::CardIdentity& identity, const std::optional<SlotFacts>& slot,
                          const std::optional<suite::LabSlotFacts>& after_identify,
                          const std::vector<std::string>& declared_test_cards) {
    suite::TrustFacts facts;
    facts.lab_reader = slot.has_value();
    if (slot)
        facts.lab_at_connect = slot->at_connect;
    facts.lab_after_identify = after_identify;
    facts.card_id = identity.card_id;
    facts.card_id_strength = identity.card_id_strength;
    facts.declared_test_cards = declared_test_cards;
    return suite::decide_trust(facts).trust;
}

std::set<std::string, std::less<>> capabilities_of(const plan::ReaderFacts& reader,
                                                   const plan::CardFacts& card,
                                                   const suite::PinSource& pins,
                                                   io::Protocol protocol) {
    std::vector<std::string> names;
    for (auto p :
         {suite::PinName::Auth, suite::PinName::Sign, suite::PinName::Text, suite::PinName::Juki})
        if (pins.has(p))
            names.emplace_back(suite::to_string(p));
    std::set<std::string, std::less<>> caps;
    for (auto& cap : plan::capabilities(reader, card, names))
        caps.insert(std::move(cap));
    if (protocol == io::Protocol::T0)
        caps.insert("t0");
    if (protocol == io::Protocol::T1)
        caps.insert("t1");
    return caps;
}

std::vector<std::string> capability_steps(const suite::LoadedSuite& s) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < s.suite.steps.size() && i < s.plan.size(); ++i) {
        const auto& req = s.plan[i].requirements;
        if (std::any_of(req.begin(), req.end(),
                        [](const std::string& r) { return plan::is_capability_requirement(r); }))
            out.push_back(s.suite.steps[i].id);
    }
    return out;
}

namespace {

// A transport test card answers SELECT of its application (profiles/cards); asked only of cards
// identification could not place.
bool answers_transport_aid(io::CardChannel& channel) {
    const auto& vars = suite::profile_variables();
    const auto it = vars.find("aid.transport");
    if (it == vars.end())
        return false;
    try {
        const Bytes answer = channel.transmit(apdu::encode(apdu::select_aid(it->second)));
        return apdu::sw_of(answer) == 0x9000;
    } catch (const Error&) {
        return false;
    }
}

} // namespace

SessionResult run_connected(io::CardChannel& channel, const SessionRequest& request,
                            const SessionHooks& hooks) {
    SessionResult result;
    result.outcome = expected_outcome(request.reader, request.slot);
    plan::CardFacts& card = result.outcome.card;
    card.atr = channel.atr();

    result.identity = identify::identify(channel, request.key);
    const bool slot_transport =
        request.slot && request.slot->at_connect.card &&
        plan::card_type_of_profile(*request.slot->at_connect.card) == "transport";
    const bool probe = !slot_transport && result.identity.type == model::CardType::Iso7816Unknown;
    const std::string card_type =
        card_type_of(result.identity, request.slot, probe && answers_transport_aid(channel));
    card.card_type = card_type;
    card.interface = request.slot ? plan::card_interface_of(request.slot->interface)
                                  : model::to_string(result.identity.interface_kind);
    const auto after =
        request.slot && request.slot_after_identify ? request.slot_after_identify() : std::nullopt;
    result.trust = trust_of(result.identity, request.slot, after, request.declared_test_cards);
    card.emulated = request.slot && request.slot->at_connect.card;
    card.test_card = result.trust != suite::CardTrust::Physical;

    model::Session& session = result.session;
    session.card.card_id = result.identity.card_id;
    session.card.card_type = card_type;
    session.card.interface = card.interface;
    session.card.atr = card.atr;
    session.card.emulated = card.emulated;
    session.card.test_card = card.test_card;

    suite::RunContext ctx;
    ctx.pins = request.user_pins;
    if (result.trust == suite::CardTrust::EmulatedTest && request.test_card_pins)
        ctx.pins.merge(request.test_card_pins(card_type));
    ctx.trust = result.trust;
    ctx.card_type = card_type;
    ctx.interface = card.interface;
    ctx.min_tries_left = request.min_tries_left;
    ctx.max_short_le = plan::max_short_le(request.reader);
    ctx.key = request.key;
    ctx.card_id = result.identity.card_id;
    ctx.failed_pins = request.failed_pins;
    ctx.cancel = hooks.cancel;
    ctx.run_start = request.run_start;
    ctx.variables["run.reader"] = bytes_of(request.reader.name);
    ctx.variables["run.atr"] = channel.atr();
    ctx.variables["run.card_type"] = bytes_of(card_type);
    ctx.variables["run.interface"] = bytes_of(card.interface);
    ctx.capabilities = capabilities_of(request.reader, card, ctx.pins, channel.protocol());
    ctx.reconnect = hooks.reconnect;

    std::vector<std::string> available;
    if (request.suites)
        for (const auto& [id, s] : *request.suites)
            available.push_back(id);
    const auto chosen = plan::choose_suites(card, request.requested, available);
    std::size_t total = 0;
    for (const auto& id : chosen)
        if (request.suites && request.suites->count(id) != 0)
            total += request.suites->at(id).suite.steps.size();
    std::size_t done = 0;
    if (hooks.progress)
        ctx.progress = [&](const suite::Progress& p) { hooks.progress(p, done, total, card_type); };
    for (const auto& id : chosen) {
        if (!request.suites || request.suites->count(id) == 0)
            continue;
        const auto& s = request.suites->at(id);
        const auto more = capability_steps(s);
        result.outcome.optional_steps.insert(result.outcome.optional_steps.end(), more.begin(),
                                             more.end());
        session.suites.push_back(suite::run_suite(s, channel, ctx));
        result.suites_run.push_back(id);
        done += s.suite.steps.size();
        if (ctx.status != model::RunStatus::Complete)
            break;
    }
    session.status = ctx.status;
    session.cause = ctx.cause;
    session.failure = ctx.failure;
    return result;
}

} // namespace harness::app
