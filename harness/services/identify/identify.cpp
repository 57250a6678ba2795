#include "services/identify/identify.hpp"

#include "pure/apdu.hpp"
#include "pure/atr.hpp"
#include "pure/card_interface.hpp"
#include "pure/openssl.hpp"
#include "pure/status_words.hpp"

#include <algorithm>
#include <array>
#include <fmt/core.h>
#include <openssl/crypto.h>
#include <string_view>

namespace harness::identify {

namespace {

using model::CardIdStrength;
using model::CardInterface;
using model::CardType;
using model::Evidence;

const Bytes jpki_aid{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
const Bytes text_aid{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08};
constexpr std::uint16_t token_fid = 0x0006;
constexpr std::uint16_t auth_cert_fid = 0x000A;
constexpr std::size_t token_length = 32;
// The issuer of a JPKI authentication certificate ends within ~300 bytes; never read further.
constexpr std::size_t max_certificate_prefix = 2048;
constexpr int max_certificate_reads = 16;
constexpr std::size_t card_id_bytes = 12; // 24 hex digits
constexpr std::string_view card_id_domain = "cardharness card id v2";
constexpr std::string_view strong_prefix = "cert-";
constexpr std::string_view weak_prefix = "atr-";

// ATRs of domain.md §7 (pcsc-tools' list): hints only, never the verdict.
struct KnownAtr {
    Bytes atr;
    CardType suggests;
    const char* what;
    const char* what_ja;
};
const std::array<KnownAtr, 7>& known_atrs() {
    static const std::array<KnownAtr, 7> table{{
        {{0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12, 0x39, 0x2F, 0x31, 0xC1, 0x73,
          0xC6, 0x01, 0xC0, 0x3B},
         CardType::MyNumber,
         "My Number card (contact)",
         "マイナンバーカード（接触）"},
        {{0x3B, 0xC5, 0xFF, 0x81, 0x31, 0xFB, 0x45, 0x80, 0x73, 0xC6, 0x01, 0x00, 0x00},
         CardType::MyNumber,
         "My Number card (contact, no extended length advertised)",
         "マイナンバーカード（接触、拡張長表示なし）"},
        {{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14},
         CardType::Juki,
         "Juki card (contact)",
         "住基カード（接触）"},
        {{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F},
         CardType::MyNumber,
         "My Number card (contactless)",
         "マイナンバーカード（非接触）"},
        {{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x3B},
         CardType::MyNumber,
         "My Number card (contactless)",
         "マイナンバーカード（非接触）"},
        {{0x3B, 0x88, 0x80, 0x01, 0x00, 0x4B, 0x51, 0xFF, 0xB3, 0x81, 0xD1, 0x00, 0x0F},
         CardType::MyNumber,
         "My Number card (contactless)",
         "マイナンバーカード（非接触）"},
        {{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x14, 0xE0, 0xB3, 0x81, 0x91, 0x00, 0x5E},
         CardType::Juki,
         "Juki card (contactless)",
         "住基カード（非接触）"},
    }};
    return table;
}

Finding finding(Severity severity, std::string code, std::string message, std::string message_ja) {
    return Finding{severity, std::move(code), std::move(message), std::move(message_ja)};
}

std::string hex_lower(ByteView bytes) {
    std::string out;
    for (std::uint8_t b : bytes)
        out += fmt::format("{:02x}", b);
    return out;
}

// One identification run: sends commands, records evidence, stops at the first transport failure.
class Session {
public:
    Session(io::CardChannel& channel, model::CardIdentity& id) : channel_(channel), id_(id) {}

    bool aborted() const { return aborted_; }

    // Sends the command and records it; nullopt after a transport failure.
    std::optional<apdu::Response> send(const apdu::Command& command, std::string sent) {
        if (aborted_)
            return std::nullopt;
        const Bytes bytes = apdu::encode(command);
        Evidence evidence{std::move(sent), bytes, std::nullopt, {}, {}};
        try {
            const Bytes answer = channel_.transmit(bytes);
            auto parsed = apdu::parse_response(answer);
            if (!parsed.response) {
                evidence.told = fmt::format("answer of {} bytes has no status word", answer.size());
                evidence.told_ja =
                    fmt::format("応答（{}バイト）にステータスワードがない", answer.size());
                id_.evidence.push_back(std::move(evidence));
                return std::nullopt;
            }
            evidence.sw = parsed.response->sw();
            const auto described = sw::describe(parsed.response->sw());
            evidence.told = described.text;
            evidence.told_ja = described.text_ja;
            id_.evidence.push_back(std::move(evidence));
            return parsed.response;
        } catch (const io::TransportError& e) {
            return failed(std::move(evidence), io::to_string(e.failure()), e.what());
        } catch (const Error& e) {
            // Not a transport failure (e.g. a PC/SC sharing violation): still a result, not a
            // throw.
            return failed(std::move(evidence), "error", e.what());
        }
    }

    std::nullopt_t failed(Evidence evidence, const std::string& kind, const std::string& what) {
        aborted_ = true;
        evidence.told = fmt::format("transport failure ({}): {}", kind, what);
        evidence.told_ja = fmt::format("通信失敗（{}）: {}", kind, what);
        id_.evidence.push_back(std::move(evidence));
        id_.findings.push_back(finding(Severity::Error, "transport_failure",
                                       fmt::format("identification stopped: {}", kind),
                                       fmt::format("識別を中断: {}", kind)));
        return std::nullopt;
    }

    // Replaces what the last evidence told (keeps the SW).
    void tell(std::string told, std::string told_ja) {
        if (id_.evidence.empty())
            return;
        id_.evidence.back().told = std::move(told);
        id_.evidence.back().told_ja = std::move(told_ja);
    }

    // READ BINARY at offset for up to le bytes; handles 6Cxx (resend with the exact Le) and
    // 6282 (end of file reached: data is still valid), ISO 7816-4 §5.1.3.
    std::optional<apdu::Response> read(std::uint16_t offset, std::size_t le,
                                       const std::string& what) {
        auto response = send(apdu::read_binary(offset, le), what);
        if (response && response->is_6cxx()) {
            const std::size_t exact = response->exact_le().value_or(le);
            response = send(apdu::read_binary(offset, exact), what + " (Le from 6Cxx)");
        }
        return response;
    }

private:
    io::CardChannel& channel_;
    model::CardIdentity& id_;
    bool aborted_ = false;
};

bool read_ok(const apdu::Response& r) {
    return r.ok() || (r.sw() == 0x6282 && !r.data.empty());
}

void decode_atr(model::CardIdentity& id) {
    Evidence evidence{"ATR", {}, std::nullopt, {}, {}};
    if (id.atr.empty()) {
        evidence.told = "no ATR";
        evidence.told_ja = "ATRなし";
        id.evidence.push_back(std::move(evidence));
        return;
    }
    const atr::Atr decoded = atr::decode(id.atr);
    // The reader's own word (its PC/SC name: "ACS ACR39U ICC Reader") decides before the ATR's
    // shape: one rule, pure/card_interface.hpp.
    std::vector<card_interface::ReaderSays> reader_says;
    if (auto says = card_interface::from_name(id.reader, "name"))
        reader_says.push_back(std::move(*says));
    const auto decision = card_interface::decide(reader_says, id.atr);
    const bool contactless = decision.kind == card_interface::Kind::Contactless;
    if (decision.atr_disagrees)
        id.atr_hints.push_back(finding(
            Severity::Info, "atr_shape_overruled_by_reader",
            fmt::format("the ATR has the shape of a {} ATR, but the reader \"{}\" is a {} reader: "
                        "the reader decides",
                        contactless ? "contact" : "PC/SC contactless pseudo-", id.reader,
                        card_interface::to_string(*decision.kind)),
            fmt::format("ATRは{}の形だが、リーダー「{}」は{}リーダー（リーダーの情報を優先）",
                        contactless ? "接触カードのATR" : "PC/SC非接触疑似ATR", id.reader,
                        contactless ? "非接触" : "接触")));
    if (contactless && decoded.contactless) {
        // PC/SC part 3 §3.1.3.2.3: 3B 8n 80 01 … is built by the reader for a contactless card.
        id.interface_kind = CardInterface::Contactless;
        evidence.told = fmt::format("contactless Type {} card (PC/SC part 3 pseudo-ATR)",
                                    decoded.contactless->type);
        evidence.told_ja =
            fmt::format("非接触 Type {} カード（PC/SC part 3 疑似ATR）", decoded.contactless->type);
    } else if (contactless) {
        id.interface_kind = CardInterface::Contactless;
        evidence.told =
            fmt::format("contactless card (the reader \"{}\" is contactless)", id.reader);
        evidence.told_ja = fmt::format("非接触カード（リーダー「{}」は非接触）", id.reader);
    } else if (decoded.convention != atr::Convention::Invalid) {
        id.interface_kind = CardInterface::Contact;
        std::string protocols;
        for (int t : decoded.protocols)
            protocols += fmt::format("{}T={}", protocols.empty() ? "" : ", ", t);
        if (protocols.empty())
            protocols = "T=0";
        evidence.told = fmt::format("contact card, {}", protocols);
        evidence.told_ja = fmt::format("接触カード、{}", protocols);
    } else {
        evidence.told = "ATR does not decode (invalid TS)";
        evidence.told_ja = "ATRを解釈できない（TSが不正）";
    }
    id.evidence.push_back(std::move(evidence));
    for (const Finding& f : decoded.findings)
        id.atr_hints.push_back(f);
    for (const KnownAtr& known : known_atrs())
        if (std::ranges::equal(known.atr, id.atr))
            id.atr_hints.push_back(finding(
                Severity::Info,
                known.suggests == CardType::MyNumber ? "atr_like_mynumber" : "atr_like_juki",
                fmt::format("ATR is that of a {} (pcsc-tools list); identity comes from the JPKI "
                            "token, not from the ATR",
                            known.what),
                fmt::format(
                    "ATRは{}のもの（pcsc-toolsの一覧）。識別はATRではなくJPKIトークンで行う",
                    known.what_ja)));
}

struct CertMaterial {
    Bytes bytes; // serial TLV + issuer TLV
    std::string source;
};

// Reads EF 000A just far enough to hold the serial number and issuer (never the subject).
std::optional<CertMaterial> certificate_material(Session& session, model::CardIdentity& id) {
    auto selected = session.send(apdu::select_ef(auth_cert_fid), "SELECT EF 000A");
    if (!selected)
        return std::nullopt;
    if (!selected->ok()) {
        session.tell("no authentication certificate EF", "利用者証明用証明書のEFがない");
        return std::nullopt;
    }
    session.tell("authentication certificate EF present", "利用者証明用証明書のEFがある");
    Bytes prefix;
    std::size_t need = 4; // 30 82 LL LL: OpenSC reads a 4-byte header first (domain.md §4)
    for (int reads = 0; reads < max_certificate_reads; ++reads) {
        const std::size_t want = std::min<std::size_t>(need - prefix.size(), 256);
        auto r =
            session.read(static_cast<std::uint16_t>(prefix.size()), want,
                         fmt::format("READ BINARY EF 000A offset {} Le {}", prefix.size(), want));
        if (!r || !read_ok(*r) || r->data.empty()) {
            if (r)
                session.tell("certificate read failed", "証明書の読み出しに失敗");
            break;
        }
        prefix.insert(prefix.end(), r->data.begin(), r->data.end());
        const CertWalk walk = walk_certificate(prefix);
        if (!walk.malformed.empty()) {
            id.findings.push_back(finding(Severity::Warning, "certificate_malformed",
                                          "EF 000A is not a certificate: " + walk.malformed,
                                          "EF 000A が証明書の形でない: " + walk.malformed));
            break;
        }
        if (walk.found) {
            session.tell(fmt::format("certificate read up to its issuer ({} bytes)", prefix.size()),
                         fmt::format("証明書を発行者まで読んだ（{}バイト）", prefix.size()));
            const IssuerSerial& at = *walk.found;
            CertMaterial material;
            const auto serial = ByteView(prefix).subspan(at.serial_offset, at.serial_length);
            const auto issuer = ByteView(prefix).subspan(at.issuer_offset, at.issuer_length);
            material.bytes.assign(serial.begin(), serial.end());
            material.bytes.insert(material.bytes.end(), issuer.begin(), issuer.end());
            material.source = "authentication certificate (EF 000A) issuer + serial number";
            OPENSSL_cleanse(prefix.data(), prefix.size());
            return material;
        }
        if (walk.need > max_certificate_prefix) {
            id.findings.push_back(finding(Severity::Warning, "certificate_issuer_too_far",
                                          "certificate issuer lies beyond 2 KB; not read",
                                          "証明書の発行者が2KBより先にあるため読まない"));
            break;
        }
        need = std::max(walk.need, prefix.size() + 1);
        if (r->data.size() < want)
            id.findings.push_back(
                finding(Severity::Info, "short_read",
                        fmt::format("READ BINARY returned {} of {} bytes", r->data.size(), want),
                        fmt::format("READ BINARY の応答が {}/{} バイト", r->data.size(), want)));
    }
    OPENSSL_cleanse(prefix.data(), prefix.size());
    return std::nullopt;
}

std::string card_id_of(const io::StationKey& key, std::string_view prefix, std::string_view label,
                       ByteView material) {
    Bytes message(card_id_domain.begin(), card_id_domain.end());
    message.push_back(0);
    message.insert(message.end(), label.begin(), label.end());
    message.push_back(0);
    message.insert(message.end(), material.begin(), material.end());
    const auto digest = openssl::hmac_sha256(key.bytes, message);
    OPENSSL_cleanse(message.data(), message.size());
    if (!digest || digest->size() < card_id_bytes)
        throw Error("OpenSSL HMAC-SHA-256 failed while computing the card id");
    return std::string(prefix) + hex_lower(ByteView(digest->data(), card_id_bytes));
}

const char* type_en(CardType type) {
    switch (type) {
    case CardType::MyNumber:
        return "My Number card";
    case CardType::Juki:
        return "Juki card";
    case CardType::JpkiPhone:
        return "smartphone JPKI (Android)";
    case CardType::Iso7816Unknown:
        return "unknown ISO 7816 card";
    case CardType::NoCard:
        return "no card";
    }
    return "unknown";
}

const char* type_ja(CardType type) {
    switch (type) {
    case CardType::MyNumber:
        return "マイナンバーカード";
    case CardType::Juki:
        return "住基カード";
    case CardType::JpkiPhone:
        return "スマートフォン用電子証明書（Android）";
    case CardType::Iso7816Unknown:
        return "不明な ISO 7816 カード";
    case CardType::NoCard:
        return "カードなし";
    }
    return "不明";
}

} // namespace

std::optional<model::CardType> card_type_of_token(ByteView ef0006) {
    std::string_view token(reinterpret_cast<const char*>(ef0006.data()), ef0006.size());
    while (!token.empty() && (token.back() == ' ' || token.back() == '\0'))
        token.remove_suffix(1);
    if (token == "JPKIAPICCTOKEN2")
        return CardType::MyNumber;
    if (token == "JPKIAPICCTOKEN")
        return CardType::Juki;
    if (token == "JPKIAPGPSETOKEN")
        return CardType::JpkiPhone;
    return std::nullopt;
}

model::CardIdentity no_card(const std::string& reader) {
    model::CardIdentity id;
    id.reader = reader;
    id.type = CardType::NoCard;
    id.evidence.push_back(Evidence{
        "card presence", {}, std::nullopt, "no card in the reader", "リーダーにカードがない"});
    return id;
}

model::CardIdentity identify(io::CardChannel& channel, const io::StationKey& key) {
    model::CardIdentity id;
    id.reader = channel.reader_name();
    id.type = CardType::Iso7816Unknown;
    id.atr = channel.atr();
    decode_atr(id);

    Session session(channel, id);
    Bytes token_bytes;
    std::optional<CertMaterial> cert;

    // ISO 7816-4 §11.1.1 SELECT by DF name, P2=0C: no FCI (domain.md §2).
    auto jpki = session.send(apdu::select_aid(jpki_aid), "SELECT JPKI AP");
    if (jpki && jpki->ok()) {
        session.tell("JPKI AP present", "公的個人認証APがある");
        auto ef = session.send(apdu::select_ef(token_fid), "SELECT EF 0006 (token)");
        if (ef && ef->ok()) {
            session.tell("token EF present", "トークンEFがある");
            auto r = session.read(0, token_length, "READ BINARY EF 0006 (32 bytes)");
            if (r && read_ok(*r)) {
                token_bytes = r->data;
                if (r->data.size() < token_length)
                    id.findings.push_back(finding(
                        Severity::Warning, "short_read",
                        fmt::format("token EF read returned {} of 32 bytes", r->data.size()),
                        fmt::format("トークンEFの読み出しが {}/32 バイト", r->data.size())));
                if (auto type = card_type_of_token(r->data)) {
                    id.type = *type;
                    session.tell(fmt::format("token of a {}", type_en(*type)),
                                 fmt::format("{}のトークン", type_ja(*type)));
                } else {
                    session.tell(fmt::format("unrecognised token ({} bytes)", r->data.size()),
                                 fmt::format("不明なトークン（{}バイト）", r->data.size()));
                    id.findings.push_back(
                        finding(Severity::Warning, "token_unrecognised",
                                "the JPKI AP is present but EF 0006 holds no known token",
                                "公的個人認証APはあるが、EF 0006 に既知のトークンがない"));
                }
            } else if (r) {
                session.tell("token EF could not be read", "トークンEFを読めない");
            }
        } else if (ef) {
            session.tell("no token EF", "トークンEFがない");
        }
        if (id.type == CardType::MyNumber || id.type == CardType::JpkiPhone)
            cert = certificate_material(session, id);
    } else if (jpki) {
        session.tell("no JPKI AP: not a My Number or Juki card",
                     "公的個人認証APがない: マイナンバーカードでも住基カードでもない");
    }

    auto text = session.send(apdu::select_aid(text_aid), "SELECT text AP (券面事項入力補助AP)");
    if (text) {
        const bool present = text->ok();
        if (present)
            session.tell("text AP present (as on My Number cards)",
                         "券面事項入力補助APがある（マイナンバーカードと同じ）");
        else
            session.tell("no text AP (as on Juki cards)",
                         "券面事項入力補助APがない（住基カードと同じ）");
        if (id.type == CardType::MyNumber && !present)
            id.findings.push_back(
                finding(Severity::Warning, "text_ap_missing", "My Number token but no text AP",
                        "マイナンバーカードのトークンだが券面事項入力補助APがない"));
        if (id.type == CardType::Juki && present)
            id.findings.push_back(finding(Severity::Warning, "text_ap_unexpected",
                                          "Juki token but a text AP is present",
                                          "住基カードのトークンだが券面事項入力補助APがある"));
    }

    for (const Finding& hint : id.atr_hints) {
        const bool says_mynumber = hint.code == "atr_like_mynumber";
        const bool says_juki = hint.code == "atr_like_juki";
        if ((says_mynumber && id.type != CardType::MyNumber) ||
            (says_juki && id.type != CardType::Juki))
            id.findings.push_back(finding(
                Severity::Warning, "atr_disagrees_with_token",
                fmt::format("the ATR suggests a {} but the card is identified as {}",
                            says_mynumber ? "My Number card" : "Juki card", type_en(id.type)),
                fmt::format("ATRは{}を示すが、識別結果は{}",
                            says_mynumber ? "マイナンバーカード" : "住基カード",
                            type_ja(id.type))));
    }

    const char* label = model::to_string(id.type);
    if (cert) {
        id.card_id = card_id_of(key, strong_prefix, label, cert->bytes);
        id.card_id_strength = CardIdStrength::Strong;
        id.card_id_source = cert->source;
        OPENSSL_cleanse(cert->bytes.data(), cert->bytes.size());
    } else {
        // Nothing card-unique is freely readable: ATR (+ token) is shared by every card of a kind.
        Bytes material = id.atr;
        material.insert(material.end(), token_bytes.begin(), token_bytes.end());
        id.card_id = card_id_of(key, weak_prefix, label, material);
        id.card_id_strength = CardIdStrength::Weak;
        id.card_id_source = token_bytes.empty()
                                ? "ATR (not unique: shared by cards of the same model)"
                                : "ATR + JPKI token (not unique: shared by cards of the same kind)";
    }
    return id;
}

std::optional<std::string> test_card_id_problem(std::string_view id) {
    const auto hex_tail = [](std::string_view tail) {
        return tail.size() == 2 * card_id_bytes &&
               std::all_of(tail.begin(), tail.end(),
                           [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    };
    if (id.starts_with(strong_prefix) && hex_tail(id.substr(strong_prefix.size())))
        return std::nullopt;
    if (id.starts_with(weak_prefix) && hex_tail(id.substr(weak_prefix.size())))
        return fmt::format(
            "{} is a weak card id: it comes from the ATR and the JPKI token, which every card of "
            "that kind shares, so declaring it would make other cards (a citizen's card too) test "
            "cards. Only a strong id (cert-…, from the certificate issuer and serial number) can "
            "declare a test card; a Juki card has nothing card-unique that is freely readable and "
            "can be a test card only as an emulated card in the lab",
            id);
    return fmt::format("\"{}\" is not a card id (expected cert- and 24 hex digits, as `cardharness "
                       "identify` prints it)",
                       id);
}

} // namespace harness::identify
