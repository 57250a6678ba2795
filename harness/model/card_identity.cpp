#include "model/card_identity.hpp"

namespace harness::model {

const char* to_string(CardType type) {
    switch (type) {
    case CardType::MyNumber:
        return "mynumber";
    case CardType::Juki:
        return "juki";
    case CardType::JpkiPhone:
        return "jpki_phone";
    case CardType::Iso7816Unknown:
        return "iso7816_unknown";
    case CardType::NoCard:
        return "no_card";
    }
    return "iso7816_unknown";
}

const char* to_string(CardInterface kind) {
    switch (kind) {
    case CardInterface::Contact:
        return "contact";
    case CardInterface::Contactless:
        return "contactless";
    case CardInterface::Unknown:
        return "unknown";
    }
    return "unknown";
}

const char* to_string(CardIdStrength strength) {
    switch (strength) {
    case CardIdStrength::Strong:
        return "strong";
    case CardIdStrength::Weak:
        return "weak";
    case CardIdStrength::None:
        return "none";
    }
    return "none";
}

std::optional<CardType> card_type_from_string(std::string_view text) {
    for (CardType type : {CardType::MyNumber, CardType::Juki, CardType::JpkiPhone,
                          CardType::Iso7816Unknown, CardType::NoCard})
        if (text == to_string(type))
            return type;
    return std::nullopt;
}

} // namespace harness::model
