#include "services/identify/identify.hpp"

#include "backends/pcsc/context.hpp"
#include "backends/pcsc/pcsc_channel.hpp"
#include "cli/commands.hpp"
#include "cli/json_common.hpp"
#include "cli/reader_choice.hpp"
#include "io/paths.hpp"
#include "io/station.hpp"
#include "model/card_identity.hpp"
#include "pure/error.hpp"
#include "pure/status_words.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <optional>
#include <string>
#include <vector>

namespace harness::cli {
namespace {

using Json = nlohmann::ordered_json;

struct IdentifyOptions {
    std::string reader;
    bool json = false;
    std::string db; // accepted, ignored
};

Json identity_json(const model::CardIdentity& id) {
    Json evidence = Json::array();
    for (const model::Evidence& e : id.evidence)
        evidence.push_back(
            Json{{"sent", e.sent},
                 {"command", e.command.empty() ? Json(nullptr) : Json(hex::format(e.command))},
                 {"sw", e.sw ? Json(sw::format(*e.sw)) : Json(nullptr)},
                 {"told", e.told},
                 {"told_ja", e.told_ja}});
    return Json{{"reader", id.reader},
                {"card_type", model::to_string(id.type)},
                {"interface", model::to_string(id.interface_kind)},
                {"atr", id.atr.empty() ? Json(nullptr) : Json(hex::format(id.atr))},
                {"card_id", id.card_id.empty() ? Json(nullptr) : Json(id.card_id)},
                {"card_id_strength", model::to_string(id.card_id_strength)},
                {"card_id_source", id.card_id_source},
                {"evidence", evidence},
                {"atr_hints", findings_json<Json>(id.atr_hints)},
                {"findings", findings_json<Json>(id.findings)}};
}

const char* type_title(model::CardType type) {
    switch (type) {
    case model::CardType::MyNumber:
        return "My Number card";
    case model::CardType::Juki:
        return "Juki card";
    case model::CardType::JpkiPhone:
        return "smartphone JPKI";
    case model::CardType::Iso7816Unknown:
        return "unknown ISO 7816 card";
    case model::CardType::NoCard:
        return "no card";
    }
    return "unknown";
}

void print_text(const model::CardIdentity& id) {
    fmt::print("{}: {} ({}), {}\n", id.reader, type_title(id.type), model::to_string(id.type),
               model::to_string(id.interface_kind));
    if (!id.atr.empty())
        fmt::print("  ATR      {}\n", hex::format(id.atr));
    if (!id.card_id.empty())
        fmt::print("  card id  {} ({}: {})\n", id.card_id, model::to_string(id.card_id_strength),
                   id.card_id_source);
    fmt::print("  evidence:\n");
    for (const model::Evidence& e : id.evidence)
        fmt::print("    {:<44} {:<4}  {}\n", e.sent, e.sw ? sw::format(*e.sw) : "", e.told);
    if (!id.atr_hints.empty()) {
        fmt::print("  ATR hints (not the verdict):\n");
        for (const Finding& f : id.atr_hints)
            fmt::print("    {} {}: {}\n", to_string(f.severity), f.code, f.message);
    }
    if (!id.findings.empty()) {
        fmt::print("  findings:\n");
        for (const Finding& f : id.findings)
            fmt::print("    {} {}: {}\n", to_string(f.severity), f.code, f.message);
    }
}

model::CardIdentity failed_identity(const std::string& reader, const pcsc::ReaderStatus& status,
                                    const std::string& code, const std::string& message,
                                    const std::string& message_ja) {
    model::CardIdentity id;
    id.reader = reader;
    id.type = model::CardType::Iso7816Unknown;
    id.atr = status.atr;
    id.evidence.push_back(
        model::Evidence{"connect (shared)", {}, std::nullopt, message, message_ja});
    id.findings.push_back(Finding{Severity::Error, code, message, message_ja});
    return id;
}

int run_identify(const IdentifyOptions& options) {
    pcsc::Context context; // EnvironmentFailure (exit 3) when pcscd cannot be reached
    const std::vector<std::string> readers = listed_readers(context, options.reader);

    std::optional<io::StationKey> key; // loaded on the first card (station state, not the DB)
    std::vector<model::CardIdentity> identities;
    int exit = exit_code::ok;
    for (const std::string& reader : readers) {
        const pcsc::ReaderStatus status = context.status_of(reader);
        if (!status.state.present) {
            identities.push_back(identify::no_card(reader));
            continue;
        }
        if (status.state.mute) {
            identities.push_back(failed_identity(reader, status, "card_mute",
                                                 "the card did not answer the reset (mute)",
                                                 "カードがリセットに応答しない（ミュート）"));
            exit = exit_code::failure;
            continue;
        }
        if (!key)
            key = io::load_station_key(io::paths::state_dir());
        try {
            pcsc::PcscChannel channel(context, reader, pcsc::ShareMode::Shared);
            identities.push_back(identify::identify(channel, *key));
        } catch (const EnvironmentError&) {
            throw;
        } catch (const Error& e) {
            identities.push_back(failed_identity(reader, status, "connect_failed",
                                                 fmt::format("cannot connect: {}", e.what()),
                                                 fmt::format("接続できない: {}", e.what())));
            exit = exit_code::failure;
        }
    }
    if (key)
        OPENSSL_cleanse(key->bytes.data(), key->bytes.size());

    if (options.json) {
        Json out = Json::array();
        for (const auto& id : identities)
            out.push_back(identity_json(id));
        fmt::print("{}\n", out.dump(2));
    } else {
        for (std::size_t i = 0; i < identities.size(); ++i) {
            if (i > 0)
                fmt::print("\n");
            print_text(identities[i]);
        }
    }
    return exit;
}

} // namespace

void add_identify_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<IdentifyOptions>();
    auto* cmd = app.add_subcommand(
        "identify", "Identify the card in each reader (My Number, Juki, JPKI phone, unknown) "
                    "without VERIFY or reading personal data");
    cmd->add_option("--reader", options->reader, "only this PC/SC reader (exact name)");
    cmd->add_flag("--json", options->json, "JSON output");
    // Card ids come from the station key (io::paths::state_dir()), the same for every database;
    // --db is still accepted so that older scripts keep working.
    cmd->add_option("--db", options->db,
                    "ignored (card ids are keyed by the station key in the state folder, " +
                        io::paths::state_dir().string() + ", not by a database)");
    cmd->callback([options, &context] { context.exit_code = run_identify(*options); });
}

} // namespace harness::cli
