#pragma once
// CardIdentity: what non-destructive identification learned about one card. The verdict (type)
// comes only from SELECT AID + the JPKI token EF 0006; ATR-based hints are kept apart from it.
// Nothing personal is ever kept here: evidence describes commands, never card data.
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::model {

enum class CardType { MyNumber, Juki, JpkiPhone, Iso7816Unknown, NoCard };
enum class CardInterface { Contact, Contactless, Unknown };
// Strong: hashed from card-unique material (certificate issuer + serial); weak: from material
// shared by many cards (ATR, token); none: no id (no card).
enum class CardIdStrength { Strong, Weak, None };

// One step of identification: what was sent and what it told us.
struct Evidence {
    std::string sent;                // short description, e.g. "SELECT JPKI AP"; never card data
    Bytes command;                   // the command APDU (SELECT / READ BINARY headers only)
    std::optional<std::uint16_t> sw; // nullopt when nothing came back (transport failure, ATR)
    std::string told;                // English, one line
    std::string told_ja;             // Japanese, one line
};

struct CardIdentity {
    std::string reader;
    CardType type = CardType::NoCard;
    CardInterface interface_kind = CardInterface::Unknown;
    Bytes atr;
    std::vector<Evidence> evidence;
    std::string card_id; // HMAC under the station key; empty when there is no card
    CardIdStrength card_id_strength = CardIdStrength::None;
    std::string card_id_source; // which material was hashed (never the material itself)
    Findings atr_hints;         // what the ATR alone suggests; never part of the verdict
    Findings findings;          // oddities met while identifying (short reads, inconsistencies)
};

const char* to_string(CardType type);           // "mynumber", "juki", "jpki_phone", ...
const char* to_string(CardInterface kind);      // "contact", "contactless", "unknown"
const char* to_string(CardIdStrength strength); // "strong", "weak", "none"
std::optional<CardType> card_type_from_string(std::string_view text);

} // namespace harness::model
