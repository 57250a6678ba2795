#pragma once
// Non-destructive card identification: ATR (interface, hints) + SELECT JPKI AP + EF 0006 token +
// SELECT text AP (domain.md §2–§3, §7). Never a VERIFY, never a read of a personal-data EF (text AP
// 0001/0002, JPKI 0001): only SELECTs and READ BINARY of the free EFs 0006 and 000A.
#include "io/card_channel.hpp"
#include "io/station.hpp"
#include "model/card_identity.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace harness::identify {

// Identifies the card behind the channel. Transport failures end identification early and are
// recorded as evidence (never thrown). The card id is an HMAC under the station key (never stored
// with the results): "cert-" + 24 hex digits from the authentication certificate's issuer and
// serial number (card-unique: a strong id), else "atr-" + 24 hex digits from the ATR and the JPKI
// token (shared by every card of a kind: a weak id).
model::CardIdentity identify(io::CardChannel& channel, const io::StationKey& key);

// Why `id` cannot declare a test card (`run --test-card ID`), or nullopt when it can: only a
// strong id (certificate issuer + serial) names one card. A Juki card has nothing card-unique
// that is freely readable, so it can be a test card only as an emulated card of the lab.
std::optional<std::string> test_card_id_problem(std::string_view id);

// The identity of an empty reader.
model::CardIdentity no_card(const std::string& reader);

// EF 0006 contents → card type (JPKIAPICCTOKEN2 / JPKIAPICCTOKEN / JPKIAPGPSETOKEN, space or NUL
// padded); nullopt for anything else.
std::optional<model::CardType> card_type_of_token(ByteView ef0006);

// Where the serial number and issuer of a DER certificate lie (offsets into its bytes), found by
// walking Certificate → TBSCertificate → [version] serialNumber signature issuer (RFC 5280 §4.1)
// without touching what follows the issuer (validity, subject).
struct IssuerSerial {
    std::size_t serial_offset = 0, serial_length = 0; // the whole INTEGER TLV
    std::size_t issuer_offset = 0, issuer_length = 0; // the whole Name SEQUENCE TLV
};
struct CertWalk {
    std::optional<IssuerSerial> found;
    std::size_t need = 0;  // when not found and not malformed: read at least this many bytes
    std::string malformed; // non-empty: the certificate does not have the expected shape
};
CertWalk walk_certificate(ByteView prefix);

} // namespace harness::identify
